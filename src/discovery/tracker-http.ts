// HTTP(S) tracker client: announce (BEP 3, compact peers BEP 23, peers6 BEP 7) and scrape (BEP 48).
// Replies come from strangers, so they are size-bounded, time-bounded and parsed with the strict decoder.
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { createGunzip, createInflate } from 'node:zlib'
import type { Readable } from 'node:stream'
import { bdecode, isDict, type BDict, type BValue } from '../metainfo/bdecode.js'
import { decodeCompactPeers, type PeerAddress } from './peer-address.js'
import {
  DEFAULT_TIMEOUT_MS, TrackerError, abortReason, networkErrorText, trackerLabel,
  type AnnounceRequest, type AnnounceResponse, type RequestOptions, type ScrapeEntry,
} from './tracker-types.js'

/** Largest reply read; a real announce reply is a few KiB, a scrape of many torrents a few hundred. */
export const MAX_REPLY_BYTES = 2 * 1024 * 1024
const MAX_REDIRECTS = 3
/** Interval assumed when a reply leaves it out (BEP 3 makes it mandatory, some trackers forget). */
const DEFAULT_INTERVAL_S = 1800
const USER_AGENT = 'bt/0.1'

export async function httpAnnounce(url: string, req: AnnounceRequest, opts: RequestOptions = {}): Promise<AnnounceResponse> {
  const label = trackerLabel(url)
  const reply = await getBencoded(label, withQuery(url, announceQuery(req)), opts)
  // `de` and the like: a dictionary with nothing an announce reply has. Accepting it would wait half an hour for
  // the next announce without a word.
  if (!('peers' in reply) && !('peers6' in reply) && !('interval' in reply)) {
    throw new TrackerError(`${label}: not an announce reply (no peers, no interval)`)
  }
  return parseAnnounceReply(reply)
}

export async function httpScrape(url: string, infoHashes: Buffer[], opts: RequestOptions = {}): Promise<Map<string, ScrapeEntry>> {
  const label = trackerLabel(url)
  const target = scrapeUrl(url)
  if (!target) throw new TrackerError(`${label}: tracker does not support scrape`)
  const query = infoHashes.map((h) => `info_hash=${percentEncode(h)}`).join('&')
  const reply = await getBencoded(label, withQuery(target, query), opts)
  const files = reply.files
  const out = new Map<string, ScrapeEntry>()
  if (!isDict(files)) return out
  const wanted = new Set(infoHashes.map((h) => h.toString('hex')))
  for (const key of Object.keys(files)) {
    const hex = Buffer.from(key, 'latin1').toString('hex')
    const entry = files[key]
    if (!wanted.has(hex) || !isDict(entry)) continue
    out.set(hex, { complete: count(entry.complete), incomplete: count(entry.incomplete), downloaded: count(entry.downloaded) })
  }
  return out
}

/**
 * BEP 48: the scrape URL replaces `announce` at the start of the last path segment with `scrape`
 * (`/announce.php?pk=1` -> `/scrape.php?pk=1`). Undefined when the tracker's URL has no such segment.
 */
export function scrapeUrl(announceUrl: string): string | undefined {
  const q = announceUrl.search(/[?#]/)
  const base = q === -1 ? announceUrl : announceUrl.slice(0, q)
  const rest = q === -1 ? '' : announceUrl.slice(q)
  const slash = base.lastIndexOf('/')
  // The slash must be in the path, not one of the two after the scheme.
  if (slash < 0 || slash <= base.indexOf('//') + 1) return undefined
  if (!base.startsWith('announce', slash + 1)) return undefined
  return base.slice(0, slash + 1) + 'scrape' + base.slice(slash + 1 + 'announce'.length) + rest
}

/** Every byte outside the URL-unreserved set as %XX: trackers compare info_hash and peer_id byte by byte. */
export function percentEncode(buf: Uint8Array): string {
  let s = ''
  for (const b of buf) {
    const unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
    s += unreserved ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase()
  }
  return s
}

function announceQuery(req: AnnounceRequest): string {
  const n = (v: number) => String(Math.max(0, Math.floor(v)))
  let q = `info_hash=${percentEncode(req.infoHash)}&peer_id=${percentEncode(req.peerId)}&port=${n(req.port)}` +
    `&uploaded=${n(req.uploaded)}&downloaded=${n(req.downloaded)}&left=${n(req.left)}&compact=1`
  if (req.event) q += `&event=${req.event}`
  if (req.numwant !== undefined) q += `&numwant=${n(req.numwant)}`
  if (req.key !== undefined) q += `&key=${(req.key >>> 0).toString(16).padStart(8, '0')}`
  if (req.ipv6) q += `&ipv6=${encodeURIComponent(req.ipv6)}`
  return q
}

/** Add our parameters to a URL that may already carry some (private trackers' passkeys). */
function withQuery(url: string, query: string): string {
  const hash = url.indexOf('#')
  const base = hash === -1 ? url : url.slice(0, hash)
  if (!base.includes('?')) return `${base}?${query}`
  return base.endsWith('?') || base.endsWith('&') ? base + query : `${base}&${query}`
}

function count(v: BValue | undefined): number {
  return typeof v === 'number' && v >= 0 ? v : 0
}

/** Tracker-supplied text, made safe to print on one line. */
function replyText(v: BValue | undefined): string | undefined {
  if (!Buffer.isBuffer(v)) return undefined
  // eslint-disable-next-line no-control-regex
  const s = v.toString('utf8').replace(/[\x00-\x1f\x7f]+/g, ' ').trim()
  return s.length > 300 ? s.slice(0, 300) + '…' : s
}

function parseAnnounceReply(d: BDict): AnnounceResponse {
  const peers: PeerAddress[] = []
  if (Buffer.isBuffer(d.peers)) peers.push(...decodeCompactPeers(d.peers, 4))
  else if (Array.isArray(d.peers)) {
    for (const p of d.peers) {
      if (!isDict(p) || !Buffer.isBuffer(p.ip) || typeof p.port !== 'number') continue
      const host = p.ip.toString('latin1')
      if (p.port < 1 || p.port > 65535) continue
      if (!isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host)) continue
      peers.push({ host, port: p.port })
    }
  }
  if (Buffer.isBuffer(d.peers6)) peers.push(...decodeCompactPeers(d.peers6, 6))
  const res: AnnounceResponse = {
    interval: typeof d.interval === 'number' && d.interval > 0 ? d.interval : DEFAULT_INTERVAL_S,
    peers,
  }
  if (typeof d['min interval'] === 'number' && d['min interval'] > 0) res.minInterval = d['min interval']
  if (typeof d.complete === 'number' && d.complete >= 0) res.complete = d.complete
  if (typeof d.incomplete === 'number' && d.incomplete >= 0) res.incomplete = d.incomplete
  const warning = replyText(d['warning message'])
  if (warning) res.warning = warning
  return res
}

interface RawReply {
  status: number
  body: Buffer
}

/** GET a tracker URL and return its bencoded dictionary, or throw a TrackerError saying what went wrong. */
async function getBencoded(label: string, url: string, opts: RequestOptions): Promise<BDict> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const outer = opts.signal
  if (outer?.aborted) throw abortReason(outer)
  const ctl = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    ctl.abort()
  }, timeoutMs)
  const onAbort = () => ctl.abort()
  outer?.addEventListener('abort', onAbort, { once: true })
  let reply: RawReply
  try {
    let target = url
    for (let hop = 0; ; hop++) {
      const r = await getOnce(label, target, ctl.signal)
      if ('location' in r) {
        if (hop >= MAX_REDIRECTS) throw new TrackerError(`${label}: more than ${MAX_REDIRECTS} redirects`)
        target = r.location
        continue
      }
      reply = r
      break
    }
  } catch (err) {
    if (outer?.aborted) throw abortReason(outer)
    if (timedOut) throw new TrackerError(`${label}: no answer within ${seconds(timeoutMs)}`)
    if (err instanceof TrackerError) throw err
    throw new TrackerError(`${label}: ${networkErrorText(err)}`, { cause: err })
  } finally {
    clearTimeout(timer)
    outer?.removeEventListener('abort', onAbort)
  }

  let value: BValue | undefined
  try {
    value = bdecode(reply.body, { allowTrailing: true }).value
  } catch {
    value = undefined
  }
  if (isDict(value)) {
    const failure = replyText(value['failure reason'])
    if (failure !== undefined) throw new TrackerError(`${label}: tracker said "${failure}"`)
    if (reply.status >= 200 && reply.status < 300) return value
  }
  if (reply.status < 200 || reply.status >= 300) throw new TrackerError(`${label}: HTTP status ${reply.status}`)
  throw new TrackerError(`${label}: not a bencoded reply`)
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

function getOnce(label: string, url: string, signal: AbortSignal): Promise<RawReply | { location: string }> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Promise.reject(new TrackerError(`${label}: not a valid URL`))
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return Promise.reject(new TrackerError(`${label}: redirected to a non-HTTP URL`))
  }
  const mod = parsed.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    // agent: false — one request every few minutes gains nothing from keep-alive, and idle pooled sockets
    // would outlive the torrent.
    const req = mod.request(parsed, {
      method: 'GET', agent: false, signal,
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'gzip', connection: 'close' },
    })
    req.on('error', reject)
    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      const location = res.headers.location
      if (status >= 300 && status < 400 && location) {
        res.resume()
        req.destroy()
        try {
          resolve({ location: new URL(location, parsed).href })
        } catch {
          reject(new TrackerError(`${label}: bad redirect`))
        }
        return
      }
      const declared = Number(res.headers['content-length'])
      if (declared > MAX_REPLY_BYTES) {
        req.destroy()
        reject(tooLarge(label))
        return
      }
      const enc = res.headers['content-encoding']
      let body: Readable = res
      if (enc === 'gzip' || enc === 'x-gzip' || enc === 'deflate') {
        const z = enc === 'deflate' ? createInflate() : createGunzip()
        res.pipe(z)
        res.on('error', (e) => z.destroy(e))
        body = z
      }
      const chunks: Buffer[] = []
      let size = 0
      body.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_REPLY_BYTES) {
          req.destroy()
          body.destroy()
          reject(tooLarge(label))
          return
        }
        chunks.push(chunk)
      })
      body.on('end', () => resolve({ status, body: Buffer.concat(chunks, size) }))
      body.on('error', (e) => reject(new TrackerError(`${label}: ${body === res ? 'connection closed mid-reply' : 'bad compressed reply'}`, { cause: e })))
      res.on('close', () => {
        if (!res.complete) reject(new TrackerError(`${label}: connection closed mid-reply`))
      })
    })
    req.end()
  })
}

function tooLarge(label: string): TrackerError {
  return new TrackerError(`${label}: reply larger than ${MAX_REPLY_BYTES / 1024 / 1024} MiB`)
}
