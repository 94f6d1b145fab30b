// The UDP tracker protocol (BEP 15): a stateless codec (parse a datagram, answer it) and a dgram server around it.
// Connection ids are an HMAC of the sender's IP and a one-minute time window: nothing is stored per connection, an
// id is accepted in its own window and the next (so it lives between one and two minutes), and a spoofed source
// never sees the id it would need, so announces cannot be reflected at a third party. The port is left out on
// purpose: clients (bt's own among them) open a new socket per request and reuse a cached id.

import dgram from 'node:dgram'
import { createHmac, randomBytes } from 'node:crypto'
import { isIPv6 } from 'node:net'
import { TrackerRefusal, type AnnounceEvent, type Tracker } from './swarm.js'

export const PROTOCOL_ID = 0x41727101980n
export const ACTION_CONNECT = 0
export const ACTION_ANNOUNCE = 1
export const ACTION_SCRAPE = 2
export const ACTION_ERROR = 3
/** Hashes in one scrape: the packet limit BEP 15 gives. */
export const MAX_UDP_SCRAPE = 74
const WINDOW_MS = 60_000
/** Largest reply: 20 bytes + numwant-max peers of 18 bytes stays far below; requests above this are cut. */
export const MAX_DATAGRAM = 2048

/**
 * dgram resolves the address of every send through dns.lookup, which for an IP literal still costs a regex test and
 * a process.nextTick per datagram; a reply goes to the address the request came from, so there is nothing to resolve.
 */
export function literalLookup(address: string, family: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  cb(null, address, address.includes(':') ? 6 : 4)
}

export class ConnectionIds {
  /** Shared with the UDP worker threads, so that any of them accepts an id another one gave. */
  readonly secret: Buffer

  constructor(secret: Buffer = randomBytes(32)) {
    this.secret = secret
  }

  /**
   * The 8-byte id for this IP now: the low byte of the window number, then 7 bytes of HMAC-SHA256 over
   * (window, ip). The window byte lets check() compute a single HMAC.
   */
  make(ip: string, now = Date.now()): Buffer {
    const w = Math.floor(now / WINDOW_MS)
    const id = Buffer.allocUnsafe(8)
    id[0] = w & 0xff
    this.mac(ip, w).copy(id, 1, 0, 7)
    return id
  }

  /** `id` is the first 8 bytes of `msg`. */
  check(msg: Buffer, ip: string, now = Date.now()): boolean {
    if (msg.length < 8) return false
    const id = msg
    const cur = Math.floor(now / WINDOW_MS)
    const w = (cur & 0xff) === id[0] ? cur : ((cur - 1) & 0xff) === id[0] ? cur - 1 : -1
    if (w < 0) return false
    return this.mac(ip, w).compare(id, 1, 8, 0, 7) === 0
  }

  /**
   * MACs of the current window by IP. A client connects and announces within seconds, so the connect's MAC is
   * usually still here for the announce: one HMAC per exchange instead of two. Bounded, and dropped each window.
   */
  private cache = new Map<string, Buffer>()
  private cacheWindow = -1

  private mac(ip: string, w: number): Buffer {
    if (w !== this.cacheWindow) {
      if (w < this.cacheWindow) return this.compute(ip, w) // the previous window: not cached
      this.cache = new Map()
      this.cacheWindow = w
    }
    let m = this.cache.get(ip)
    if (!m) {
      m = this.compute(ip, w)
      if (this.cache.size >= 65536) this.cache.clear()
      this.cache.set(ip, m)
    }
    return m
  }

  private compute(ip: string, w: number): Buffer {
    return createHmac('sha256', this.secret).update(`${w}|${ip}`).digest()
  }
}

/**
 * Answers one datagram from ip:port; undefined when it deserves no answer (too short to carry a transaction id,
 * or not a tracker request at all). Everything else gets a reply or an error packet.
 */
export function handleUdp(tracker: Tracker, ids: ConnectionIds, msg: Buffer, ip: string, port: number): Buffer | undefined {
  const pre = checkUdp(ids, msg, ip)
  return pre === CHECKED ? answerUdp(tracker, msg, ip) : pre
}

/** checkUdp's answer for an announce or scrape with a valid connection id: it goes on to answerUdp. */
export const CHECKED = Buffer.alloc(0)

/**
 * The part of a datagram's handling that needs no swarm (UDP worker threads do it): connects are answered here,
 * bad actions and connection ids get their error packet, junk gets undefined; CHECKED means "answer it".
 */
export function checkUdp(ids: ConnectionIds, msg: Buffer, ip: string): Buffer | undefined {
  if (msg.length < 16) return undefined
  const action = msg.readUInt32BE(8)
  const tid = msg.readUInt32BE(12)
  if (action === ACTION_CONNECT) {
    if (msg.readBigUInt64BE(0) !== PROTOCOL_ID) return undefined
    const out = Buffer.allocUnsafe(16)
    out.writeUInt32BE(ACTION_CONNECT, 0)
    out.writeUInt32BE(tid, 4)
    ids.make(ip).copy(out, 8)
    return out
  }
  if (action !== ACTION_ANNOUNCE && action !== ACTION_SCRAPE) return errorPacket(tid, 'unknown action')
  if (!ids.check(msg, ip)) return errorPacket(tid, 'connection id expired or invalid')
  return CHECKED
}

/**
 * Bytes an answer from answerUdpInto() may take: an announce with numwant-max IPv6 peers, a full scrape, or an
 * error packet (whose reasons are short).
 */
export function maxUdpReply(tracker: Tracker): number {
  return Math.max(20 + tracker.numwantMax * 18, 8 + 12 * MAX_UDP_SCRAPE, 512)
}

/** Scratch for answerUdp(): answers are written here, then copied out at their size. */
let scratch = Buffer.allocUnsafe(4096)

/** Answers an announce or scrape whose connection id checkUdp accepted. */
export function answerUdp(tracker: Tracker, msg: Buffer, ip: string): Buffer {
  const max = maxUdpReply(tracker)
  if (scratch.length < max) scratch = Buffer.allocUnsafe(max)
  const n = answerUdpInto(tracker, msg, ip, scratch, 0)
  return Buffer.from(scratch.subarray(0, n))
}

/**
 * Writes the answer to an announce or scrape whose connection id checkUdp accepted at out[off] and returns its
 * length. `out` must have maxUdpReply() bytes there. The hot path of the UDP front ends: the reply is built in
 * place, in the send batch or the batch going back to a UDP thread, so an announce allocates no reply buffer.
 */
export function answerUdpInto(tracker: Tracker, msg: Buffer, ip: string, out: Buffer, off: number): number {
  const tid = msg.readUInt32BE(12)
  try {
    if (msg.readUInt32BE(8) === ACTION_ANNOUNCE) return announce(tracker, msg, tid, ip, out, off)
    return scrape(tracker, msg, tid, ip, out, off)
  } catch (err) {
    if (err instanceof TrackerRefusal) return errorInto(out, off, tid, err.message)
    throw err
  }
}

function announce(tracker: Tracker, msg: Buffer, tid: number, ip: string, out: Buffer, off: number): number {
  if (msg.length < 98) return errorInto(out, off, tid, 'announce packet too short')
  const infoHash = msg.toString('latin1', 16, 36)
  const peerId = msg.toString('latin1', 36, 56)
  // 64-bit `left`: only zero or not matters, so no BigInt.
  const left = msg.readUInt32BE(64) * 4294967296 + msg.readUInt32BE(68)
  const ev = msg.readUInt32BE(80)
  if (ev > 3) return errorInto(out, off, tid, 'invalid event')
  const ipParam = msg.readUInt32BE(84)
  const numwant = msg.readInt32BE(92)
  const port = msg.readUInt16BE(96)
  const colon = ip.includes(':')
  let peerIp = ip
  if (tracker.allowIpParam && ipParam !== 0 && !colon) peerIp = `${ipParam >>> 24}.${(ipParam >>> 16) & 255}.${(ipParam >>> 8) & 255}.${ipParam & 255}`
  // BEP 15: the reply's peers are of the family the request came over.
  const v6 = colon && !ip.startsWith('::ffff:')
  const r = tracker.announce({ infoHash, peerId, ip: peerIp, port, left, event: ev as AnnounceEvent, numwant, family: v6 ? 6 : 4, source: ip })
  out.writeUInt32BE(ACTION_ANNOUNCE, off)
  out.writeUInt32BE(tid, off + 4)
  out.writeUInt32BE(tracker.interval, off + 8)
  out.writeUInt32BE(r.incomplete, off + 12)
  out.writeUInt32BE(r.complete, off + 16)
  return 20 + r.writeCompact(out, off + 20, v6 ? 18 : 6)
}

function scrape(tracker: Tracker, msg: Buffer, tid: number, ip: string, out: Buffer, off: number): number {
  const n = Math.floor((msg.length - 16) / 20)
  if (n < 1) return errorInto(out, off, tid, 'scrape without info hash')
  if (n > MAX_UDP_SCRAPE) return errorInto(out, off, tid, `at most ${MAX_UDP_SCRAPE} info hashes per scrape`)
  tracker.checkRate(ip)
  const hashes: string[] = []
  for (let i = 0; i < n; i++) hashes.push(msg.toString('latin1', 16 + i * 20, 36 + i * 20))
  const res = tracker.scrape(hashes)
  out.writeUInt32BE(ACTION_SCRAPE, off)
  out.writeUInt32BE(tid, off + 4)
  hashes.forEach((h, i) => {
    const e = res.get(h)!
    out.writeUInt32BE(e.complete, off + 8 + i * 12)
    out.writeUInt32BE(e.downloaded, off + 12 + i * 12)
    out.writeUInt32BE(e.incomplete, off + 16 + i * 12)
  })
  return 8 + 12 * n
}

export function errorPacket(tid: number, message: string): Buffer {
  const out = Buffer.alloc(8 + Buffer.byteLength(message))
  errorInto(out, 0, tid, message)
  return out
}

function errorInto(out: Buffer, off: number, tid: number, message: string): number {
  out.writeUInt32BE(ACTION_ERROR, off)
  out.writeUInt32BE(tid, off + 4)
  return 8 + out.write(message, off + 8, 'utf8')
}

/** A bound UDP tracker socket; `close()` stops it. */
export interface UdpServer {
  address: { address: string; port: number; family: string }
  /** Batched native I/O (udp-batch.ts) rather than dgram. */
  batched: boolean
  close(): Promise<void>
}

export function listenUdp(tracker: Tracker, ids: ConnectionIds, host: string, port: number): Promise<UdpServer> {
  const sock = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host), recvBufferSize: 4 * 1024 * 1024, lookup: literalLookup as never })
  sock.on('message', (msg, rinfo) => {
    if (msg.length > MAX_DATAGRAM) return
    let reply: Buffer | undefined
    try {
      reply = handleUdp(tracker, ids, msg, rinfo.address, rinfo.port)
    } catch {
      reply = undefined // a bug must not take the tracker down; the client retries
    }
    if (reply) sock.send(reply, rinfo.port, rinfo.address)
  })
  return new Promise((resolve, reject) => {
    sock.once('error', reject)
    sock.bind(port, host, () => {
      sock.off('error', reject)
      sock.on('error', () => {}) // ICMP unreachable and the like: nothing to do
      const a = sock.address()
      resolve({
        address: { address: a.address, port: a.port, family: a.family },
        batched: false,
        close: () => new Promise((res) => sock.close(() => res())),
      })
    })
  })
}
