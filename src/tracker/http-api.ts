// The HTTP tracker protocol without a server: parse an announce or scrape query string, call the core, and return
// the bencoded reply. The standalone node:http server and the fastify plugin both call these, so they answer alike.
// Every refusal is a bencoded `failure reason` with status 200, which is what clients show to their users.

import {
  EVENT_COMPLETED, EVENT_NONE, EVENT_STARTED, EVENT_STOPPED, TrackerRefusal, decodeCompactAddress,
  type AnnounceEvent, type Swarm, type Tracker,
} from './swarm.js'

/** Longest query string accepted (a scrape of 74 hashes percent-encoded is ~4.5 KiB). */
export const MAX_QUERY = 8192
/** Most info hashes in one scrape. */
export const MAX_SCRAPE_HASHES = 100

export interface HttpReply {
  status: number
  body: Buffer
  contentType: string
}

const TEXT = 'text/plain'

export function failure(reason: string, status = 200): HttpReply {
  return { status, contentType: TEXT, body: Buffer.from(`d14:failure reason${reason.length}:${reason}e`, 'latin1') }
}

/**
 * Percent-decodes a query value to a latin1 string (one char per byte), since info_hash and peer_id are binary.
 * `+` is a space, as in forms. Returns undefined on a malformed escape.
 */
export function unescapeBinary(s: string): string | undefined {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 37) {
      const h = hex(s.charCodeAt(i + 1))
      const l = hex(s.charCodeAt(i + 2))
      if (h < 0 || l < 0) return undefined
      out += String.fromCharCode((h << 4) | l)
      i += 2
    } else if (c === 43) out += ' '
    else if (c > 0xff) return undefined
    else out += s[i]
  }
  return out
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** Splits a raw query string into its parameters; repeated keys (info_hash in a scrape) collect in `multi`. */
export function parseQuery(q: string): { single: Map<string, string>; infoHashes: string[] } | undefined {
  const single = new Map<string, string>()
  const infoHashes: string[] = []
  if (q.length === 0) return { single, infoHashes }
  let start = 0
  while (start <= q.length) {
    let end = q.indexOf('&', start)
    if (end < 0) end = q.length
    if (end > start) {
      const eq = q.indexOf('=', start)
      const hasValue = eq >= 0 && eq < end
      const key = q.slice(start, hasValue ? eq : end)
      const raw = hasValue ? q.slice(eq + 1, end) : ''
      const value = unescapeBinary(raw)
      if (value === undefined) return undefined
      if (key === 'info_hash') {
        if (infoHashes.length >= MAX_SCRAPE_HASHES) return undefined
        infoHashes.push(value)
      } else single.set(key, value)
    }
    start = end + 1
  }
  return { single, infoHashes }
}

function intParam(v: string | undefined, dflt: number): number | undefined {
  if (v === undefined || v === '') return dflt
  if (!/^-?\d{1,20}$/.test(v)) return undefined
  return Number(v)
}

const EVENTS: Record<string, AnnounceEvent> = { '': EVENT_NONE, empty: EVENT_NONE, started: EVENT_STARTED, completed: EVENT_COMPLETED, stopped: EVENT_STOPPED, paused: EVENT_NONE }

export function httpAnnounce(tracker: Tracker, rawQuery: string, remoteIp: string): HttpReply {
  if (rawQuery.length > MAX_QUERY) return failure('request too long')
  const q = parseQuery(rawQuery)
  if (!q) return failure('malformed query string')
  const p = q.single
  const infoHash = q.infoHashes.length === 1 ? q.infoHashes[0] : undefined
  if (infoHash === undefined) return failure(q.infoHashes.length ? 'one info_hash per announce' : 'missing info_hash')
  if (infoHash.length !== 20) return failure('invalid info_hash: must be 20 bytes')
  const peerId = p.get('peer_id')
  if (peerId === undefined) return failure('missing peer_id')
  if (peerId.length !== 20) return failure('invalid peer_id: must be 20 bytes')
  const port = intParam(p.get('port'), -1)
  if (port === undefined || port < 1 || port > 65535) return failure(p.has('port') ? 'invalid port' : 'missing port')
  const left = intParam(p.get('left'), -1)
  // `left` is required by BEP 3; a client that omits it is taken for a leecher rather than refused.
  if (left === undefined) return failure('invalid left')
  const numwant = intParam(p.get('numwant'), -1)
  if (numwant === undefined) return failure('invalid numwant')
  const event = EVENTS[p.get('event') ?? '']
  if (event === undefined) return failure('invalid event')
  let ip = remoteIp
  const given = p.get('ip')
  if (tracker.allowIpParam && given) ip = given
  try {
    const r = tracker.announce({ infoHash, peerId, ip, port, left: left < 0 ? 1 : left, event, numwant: Math.max(-1, Math.min(numwant, 0x7fffffff)), source: remoteIp })
    const compact = p.get('compact') !== '0'
    const trackerId = p.get('trackerid')
    const head = `d8:completei${r.complete}e10:incompletei${r.incomplete}e8:intervali${tracker.interval}e12:min intervali${Math.floor(tracker.interval / 2)}e`
    let peersPart: string
    if (compact) {
      const peers4 = r.peers4
      const peers6 = r.peers6
      peersPart = `5:peers${peers4.length}:${peers4}`
      if (peers6.length) peersPart += `6:peers6${peers6.length}:${peers6}`
    } else {
      // The dictionary form (BEP 3) lists v4 and v6 peers together; BEP 3 peer ids are optional and left out.
      peersPart = '5:peersl'
      for (const [all, size] of [[r.peers4, 6], [r.peers6, 18]] as const) {
        for (let i = 0; i < all.length; i += size) {
          const { ip: pip, port: pport } = decodeCompactAddress(all.slice(i, i + size))
          peersPart += `d2:ip${pip.length}:${pip}4:porti${pport}ee`
        }
      }
      peersPart += 'e'
    }
    // Keys must be sorted: complete, incomplete, interval, min interval, peers, peers6, tracker id.
    const tail = trackerId && trackerId.length <= 64 ? `10:tracker id${trackerId.length}:${trackerId}` : ''
    return { status: 200, contentType: TEXT, body: Buffer.from(head + peersPart + tail + 'e', 'latin1') }
  } catch (err) {
    if (err instanceof TrackerRefusal) return failure(err.message)
    throw err
  }
}

export function httpScrape(tracker: Tracker, rawQuery: string, remoteIp: string): HttpReply {
  if (rawQuery.length > MAX_QUERY) return failure('request too long')
  const q = parseQuery(rawQuery)
  if (!q) return failure(`malformed query string (or more than ${MAX_SCRAPE_HASHES} info_hash)`)
  for (const ih of q.infoHashes) if (ih.length !== 20) return failure('invalid info_hash: must be 20 bytes')
  try {
    tracker.checkRate(remoteIp)
  } catch (err) {
    if (err instanceof TrackerRefusal) return failure(err.message)
    throw err
  }
  let files
  if (q.infoHashes.length === 0) {
    if (!tracker.fullScrape) return failure('full scrape is not allowed: give info_hash')
    files = tracker.scrapeAll()
  } else files = tracker.scrape(q.infoHashes)
  // Keys of a bencoded dict are sorted by raw bytes; latin1 strings compare the same way.
  const keys = [...files.keys()].sort()
  const parts: string[] = ['d5:filesd']
  for (const k of keys) {
    const e = files.get(k)!
    parts.push(`20:${k}d8:completei${e.complete}e10:downloadedi${e.downloaded}e10:incompletei${e.incomplete}ee`)
  }
  parts.push('ee')
  return { status: 200, contentType: TEXT, body: Buffer.from(parts.join(''), 'latin1') }
}

/** /stats as JSON (default) or HTML (`format=html` or a browser's Accept), with `info_hash=` for one torrent. */
export function httpStats(tracker: Tracker, rawQuery: string, accept: string | undefined): HttpReply {
  const q = parseQuery(rawQuery.length > MAX_QUERY ? '' : rawQuery)
  const html = q?.single.get('format') === 'html' || (q?.single.get('format') !== 'json' && Boolean(accept?.includes('text/html')))
  const ihRaw = q?.infoHashes[0]
  let data: object
  if (ihRaw !== undefined) {
    const ih = /^[0-9a-fA-F]{40}$/.test(ihRaw) ? Buffer.from(ihRaw, 'hex').toString('latin1') : ihRaw.length === 20 ? ihRaw : undefined
    const detail = ih === undefined ? undefined : tracker.swarmStats(ih)
    if (!detail) {
      const msg = ih === undefined ? 'invalid info_hash: give 40 hex digits' : 'unknown torrent'
      return html ? { status: 404, contentType: 'text/html; charset=utf-8', body: Buffer.from(page('Tracker', `<p>${msg}</p>`)) } : { status: 404, contentType: 'application/json', body: Buffer.from(JSON.stringify({ error: msg })) }
    }
    data = detail
    if (html) return { status: 200, contentType: 'text/html; charset=utf-8', body: Buffer.from(page(`Torrent ${detail.infoHash}`, table(detail) + '<p><a href="?format=html">all torrents</a></p>')) }
  } else {
    data = tracker.stats()
    if (html) {
      // The busiest torrents, so the page is useful on a big tracker without listing 100 k rows.
      const top: Swarm[] = []
      for (const s of tracker.swarms.values()) {
        if (top.length === 50 && s.list.length <= top[49].list.length) continue
        let i = Math.min(top.length, 49)
        while (i > 0 && top[i - 1].list.length < s.list.length) i--
        top.splice(i, 0, s)
        if (top.length > 50) top.pop()
      }
      const rows = top.map((s) => {
        const hexIh = Buffer.from(s.ih, 'latin1').toString('hex')
        const name = tracker.registered.get(s.ih)?.name ?? ''
        return `<tr><td><a href="?format=html&amp;info_hash=${hexIh}"><code>${hexIh}</code></a></td><td>${esc(name)}</td><td>${s.seeders}</td><td>${s.leechers}</td><td>${s.completed}</td></tr>`
      })
      const list = `<h2>Busiest torrents</h2><table><tr><th>info hash</th><th>name</th><th>seeders</th><th>leechers</th><th>completed</th></tr>${rows.join('')}</table>`
      return { status: 200, contentType: 'text/html; charset=utf-8', body: Buffer.from(page('Tracker', table(data) + list)) }
    }
  }
  return { status: 200, contentType: 'application/json', body: Buffer.from(JSON.stringify(data)) }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function table(o: object): string {
  const rows = Object.entries(o).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'object' && v !== null ? Object.entries(v).map(([a, b]) => `${a}: ${b}`).join(', ') : String(v ?? ''))}</td></tr>`)
  return `<table>${rows.join('')}</table>`
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><meta http-equiv="refresh" content="10"><style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}code{font-size:12px}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`
}
