// UDP tracker client (BEP 15): connect, announce and scrape over one short-lived socket per request, with the
// connection id cached for a minute and a retry schedule short enough for a command line.
import dgram from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { randomBytes } from 'node:crypto'
import { decodeCompactPeers } from './peer-address.js'
import {
  DEFAULT_TIMEOUT_MS, TrackerError, abortReason, networkErrorText, trackerLabel,
  type AnnounceRequest, type AnnounceResponse, type RequestOptions, type ScrapeEntry,
} from './tracker-types.js'

const PROTOCOL_ID = 0x41727101980n
const ACTION_CONNECT = 0
const ACTION_ANNOUNCE = 1
const ACTION_SCRAPE = 2
const ACTION_ERROR = 3
const EVENTS = { completed: 1, started: 2, stopped: 3 } as const
/** BEP 15: a client may use a connection id for one minute after receiving it. */
const CONNECTION_ID_TTL_MS = 60_000
/** Scrape packets hold at most about 74 hashes; stay under that. */
const SCRAPE_BATCH = 70
const DEFAULT_TRIES = 3

const connectionIds = new Map<string, { id: Buffer; expires: number }>()

interface Endpoint {
  label: string
  address: string
  port: number
  family: 4 | 6
  /** BEP 41 URLData: path and query of the URL, which some trackers need (passkeys). */
  urlData?: Buffer
}

/**
 * A host name that resolves to both families is announced over both, as libtorrent does: the tracker keeps IPv4 and
 * IPv6 swarms apart and learns our address in a family only from a packet sent in it. The answer is the first
 * family's to succeed, with the other's peers added if they arrive within FAMILY_GRACE_MS of it; a family without a
 * route fails fast (ENETUNREACH) and is not reported while the other answers.
 */
export async function udpAnnounce(url: string, req: AnnounceRequest, opts: RequestOptions = {}): Promise<AnnounceResponse> {
  const eps = await resolveEndpoints(url, opts)
  if (eps.length === 1) return announceTo(eps[0], req, opts)
  const ctl = new AbortController()
  const onAbort = () => ctl.abort(abortReason(opts.signal!))
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  let grace: NodeJS.Timeout | undefined
  try {
    const tries = eps.map((ep) => announceTo(ep, req, { ...opts, signal: ctl.signal }).then((res) => {
      grace ??= setTimeout(() => ctl.abort(new TrackerError(`${ep.label}: other family too slow`)), FAMILY_GRACE_MS)
      return res
    }))
    const settled = await Promise.allSettled(tries)
    const answers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    if (answers.length === 0) {
      if (opts.signal?.aborted) throw abortReason(opts.signal)
      throw (settled[0] as PromiseRejectedResult).reason
    }
    const seen = new Set<string>()
    const peers = answers.flatMap((a) => a.peers).filter((p) => !seen.has(`${p.host}|${p.port}`) && !!seen.add(`${p.host}|${p.port}`))
    return { ...answers[0], peers }
  } finally {
    clearTimeout(grace)
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

/** How long the other family's answer is awaited once one family has answered. */
const FAMILY_GRACE_MS = 1500

function announceTo(ep: Endpoint, req: AnnounceRequest, opts: RequestOptions): Promise<AnnounceResponse> {
  return withExchange(ep, opts, async (x) => {
    const connId = await x.connectionId()
    const options = urlDataOption(ep.urlData)
    const pkt = Buffer.alloc(98 + options.length)
    connId.copy(pkt, 0)
    pkt.writeUInt32BE(ACTION_ANNOUNCE, 8)
    // transaction id at 12 is filled in by send()
    copyExact(req.infoHash, pkt, 16)
    copyExact(req.peerId, pkt, 36)
    pkt.writeBigUInt64BE(u64(req.downloaded), 56)
    pkt.writeBigUInt64BE(u64(req.left), 64)
    pkt.writeBigUInt64BE(u64(req.uploaded), 72)
    pkt.writeUInt32BE(req.event ? EVENTS[req.event] : 0, 80)
    pkt.writeUInt32BE(0, 84) // IP: let the tracker use the packet's source address
    pkt.writeUInt32BE((req.key ?? 0) >>> 0, 88)
    pkt.writeInt32BE(req.numwant === undefined ? -1 : Math.max(0, Math.min(0x7fffffff, Math.floor(req.numwant))), 92)
    pkt.writeUInt16BE(req.port & 0xffff, 96)
    options.copy(pkt, 98)
    const res = await x.send(pkt, ACTION_ANNOUNCE, 20)
    // Over IPv6 the peers are 18 bytes each (BEP 15), over IPv4 6 bytes.
    return {
      interval: res.readUInt32BE(8),
      incomplete: res.readUInt32BE(12),
      complete: res.readUInt32BE(16),
      peers: decodeCompactPeers(res.subarray(20), ep.family),
    }
  })
}

export async function udpScrape(url: string, infoHashes: Buffer[], opts: RequestOptions = {}): Promise<Map<string, ScrapeEntry>> {
  // Counts from one family: the tracker's swarms per family would be counted twice if both were added.
  const [ep] = await resolveEndpoints(url, opts)
  return withExchange(ep, opts, async (x) => {
    const out = new Map<string, ScrapeEntry>()
    for (let i = 0; i < infoHashes.length; i += SCRAPE_BATCH) {
      const batch = infoHashes.slice(i, i + SCRAPE_BATCH)
      const connId = await x.connectionId()
      const pkt = Buffer.alloc(16 + 20 * batch.length)
      connId.copy(pkt, 0)
      pkt.writeUInt32BE(ACTION_SCRAPE, 8)
      batch.forEach((h, j) => copyExact(h, pkt, 16 + 20 * j))
      const res = await x.send(pkt, ACTION_SCRAPE, 8 + 12 * batch.length)
      batch.forEach((h, j) => {
        const o = 8 + 12 * j
        out.set(h.toString('hex'), { complete: res.readUInt32BE(o), downloaded: res.readUInt32BE(o + 4), incomplete: res.readUInt32BE(o + 8) })
      })
    }
    return out
  })
}

function copyExact(src: Buffer, dst: Buffer, at: number): void {
  if (src.length !== 20) throw new TypeError('info hash and peer id must be 20 bytes')
  src.copy(dst, at)
}

function u64(n: number): bigint {
  return BigInt(Math.max(0, Math.floor(n)))
}

function urlDataOption(data: Buffer | undefined): Buffer {
  if (!data) return Buffer.alloc(0)
  const parts: Buffer[] = []
  for (let i = 0; i < data.length; i += 255) {
    const chunk = data.subarray(i, i + 255)
    parts.push(Buffer.from([0x02, chunk.length]), chunk)
  }
  return Buffer.concat(parts)
}

/** The tracker's address: an IP literal, or one address per family its host name resolves to (first answer first). */
async function resolveEndpoints(url: string, opts: RequestOptions): Promise<Endpoint[]> {
  const label = trackerLabel(url)
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new TrackerError(`${label}: not a valid URL`)
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(u.port)
  if (!host || !(port >= 1 && port <= 65535)) throw new TrackerError(`${label}: a UDP tracker URL needs a host and a port`)
  let addresses: Array<{ address: string; family: number }>
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }]
  } else {
    try {
      addresses = await (opts.lookupAll ?? lookupAll)(host)
    } catch (err) {
      throw new TrackerError(`${label}: ${networkErrorText(err)}`, { cause: err })
    }
    if (addresses.length === 0) throw new TrackerError(`${label}: host name has no address`)
  }
  if (opts.signal?.aborted) throw abortReason(opts.signal)
  const path = u.pathname + u.search
  const urlData = path && path !== '/' ? Buffer.from(path.slice(0, 1024), 'latin1') : undefined
  const eps: Endpoint[] = []
  for (const a of addresses) {
    const family = a.family === 6 ? 6 : 4
    if (!eps.some((e) => e.family === family)) eps.push({ label, address: a.address, port, family, urlData })
  }
  return eps
}

function lookupAll(host: string): Promise<Array<{ address: string; family: number }>> {
  return lookup(host, { all: true, verbatim: true })
}

interface Exchange {
  connectionId(): Promise<Buffer>
  /** Send `pkt` (its transaction id is set here) until a reply with `action` of at least `minLength` bytes arrives. */
  send(pkt: Buffer, action: number, minLength: number): Promise<Buffer>
}

async function withExchange<T>(ep: Endpoint, opts: RequestOptions, fn: (x: Exchange) => Promise<T>): Promise<T> {
  const { signal } = opts
  if (signal?.aborted) throw abortReason(signal)
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const tries = Math.max(1, opts.tries ?? DEFAULT_TRIES)
  const deadline = Date.now() + timeoutMs
  const cacheKey = `${ep.address}|${ep.port}`
  const socket = dgram.createSocket(ep.family === 6 ? 'udp6' : 'udp4')

  let pending: { tids: Set<number>; action: number; minLength: number; resolve(b: Buffer): void; reject(e: unknown): void } | undefined
  let socketError: unknown
  const fail = (err: unknown) => {
    socketError ??= err
    pending?.reject(err)
  }
  socket.on('error', (err) => fail(new TrackerError(`${ep.label}: ${networkErrorText(err)}`, { cause: err })))
  socket.on('message', (msg: Buffer) => {
    // Stray datagrams (short, other transaction, other action) are ignored: the next try or the deadline settles it.
    if (!pending || msg.length < 8 || !pending.tids.has(msg.readUInt32BE(4))) return
    const action = msg.readUInt32BE(0)
    if (action === ACTION_ERROR) {
      const text = msg.subarray(8).toString('utf8').replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 300)
      pending.reject(new TrackerError(`${ep.label}: tracker said "${text || 'error'}"`))
    } else if (action === pending.action) {
      // Our transaction id, so the tracker's answer: a short one will not improve on retrying.
      // (opentracker answers an announce for a torrent it does not serve with the 8-byte header alone.)
      if (msg.length >= pending.minLength) pending.resolve(msg)
      else pending.reject(new TrackerError(`${ep.label}: ${msg.length === 8 ? 'tracker sent an empty reply' : `malformed reply (${msg.length} bytes)`}`))
    }
  })
  const onAbort = () => fail(abortReason(signal!))
  signal?.addEventListener('abort', onAbort, { once: true })

  const send = async (pkt: Buffer, action: number, minLength: number): Promise<Buffer> => {
    let sent = 0
    // Replies to any try of this request count: a slow tracker may answer the first one late.
    const tids = new Set<number>()
    const base = Math.max(1, Math.floor(timeoutMs / 4))
    for (let i = 0; i < tries; i++) {
      if (socketError) throw socketError
      const wait = Math.min(base * 2 ** i, deadline - Date.now())
      if (wait <= 0) break
      const tid = randomBytes(4).readUInt32BE(0)
      tids.add(tid)
      pkt.writeUInt32BE(tid, 12)
      let timer: NodeJS.Timeout | undefined
      try {
        const reply = await new Promise<Buffer | undefined>((resolve, reject) => {
          pending = { tids, action, minLength, resolve, reject }
          timer = setTimeout(() => resolve(undefined), wait)
          socket.send(pkt, (err) => { if (err) fail(new TrackerError(`${ep.label}: ${networkErrorText(err)}`, { cause: err })) })
          sent++
        })
        if (reply) return reply
      } finally {
        clearTimeout(timer)
        pending = undefined
      }
    }
    throw new TrackerError(`${ep.label}: no answer after ${sent} ${sent === 1 ? 'try' : 'tries'}`)
  }

  const connectionId = async (): Promise<Buffer> => {
    const cached = connectionIds.get(cacheKey)
    if (cached && cached.expires > Date.now()) return cached.id
    const pkt = Buffer.alloc(16)
    pkt.writeBigUInt64BE(PROTOCOL_ID, 0)
    pkt.writeUInt32BE(ACTION_CONNECT, 8)
    const res = await send(pkt, ACTION_CONNECT, 16)
    const id = Buffer.from(res.subarray(8, 16))
    const now = Date.now()
    for (const [k, v] of connectionIds) if (v.expires <= now) connectionIds.delete(k)
    connectionIds.set(cacheKey, { id, expires: now + CONNECTION_ID_TTL_MS })
    return id
  }

  try {
    // connect() makes the kernel drop datagrams from anyone but the tracker and report ICMP unreachable.
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
      socket.connect(ep.port, ep.address)
    }).catch((err) => {
      throw new TrackerError(`${ep.label}: ${networkErrorText(err)}`, { cause: err })
    })
    return await fn({ connectionId, send })
  } catch (err) {
    // A tracker that restarted forgets our id; do not reuse one that just failed.
    connectionIds.delete(cacheKey)
    if (signal?.aborted) throw abortReason(signal)
    throw err
  } finally {
    signal?.removeEventListener('abort', onAbort)
    try { socket.close() } catch { /* already closed */ }
  }
}
