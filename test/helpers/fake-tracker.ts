// Tiny HTTP and UDP trackers on loopback whose every reply the test decides: for the edge cases a real tracker
// will not produce on demand (garbage, silence, redirects, wrong transaction ids, error packets).
import http from 'node:http'
import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'
import bencode from 'bencode'

export interface FakeHttpRequest {
  path: string
  /** Query parameters percent-decoded to raw bytes; repeated names keep every value. */
  query: Map<string, Buffer[]>
  url: string
}

export type FakeHttpHandler = (req: FakeHttpRequest, res: http.ServerResponse) => void

export interface FakeHttpTracker {
  port: number
  /** http://127.0.0.1:PORT */
  origin: string
  requests: FakeHttpRequest[]
  handler: FakeHttpHandler
  close(): Promise<void>
}

/** Decode a query string without assuming text: info_hash and peer_id are binary. */
export function parseQueryBytes(search: string): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>()
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (!part) continue
    const eq = part.indexOf('=')
    const name = decodeURIComponent(eq === -1 ? part : part.slice(0, eq))
    const raw = eq === -1 ? '' : part.slice(eq + 1)
    const bytes: number[] = []
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === '%' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
        bytes.push(parseInt(raw.slice(i + 1, i + 3), 16))
        i += 2
      } else bytes.push(raw.charCodeAt(i) === 0x2b ? 0x20 : raw.charCodeAt(i))
    }
    const list = out.get(name) ?? []
    list.push(Buffer.from(bytes))
    out.set(name, list)
  }
  return out
}

export function param(req: FakeHttpRequest, name: string): string | undefined {
  return req.query.get(name)?.[0]?.toString('latin1')
}

export function sendBencoded(res: http.ServerResponse, value: unknown, status = 200): void {
  const body = Buffer.from(bencode.encode(value))
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': body.length })
  res.end(body)
}

export async function startFakeHttpTracker(handler: FakeHttpHandler): Promise<FakeHttpTracker> {
  const requests: FakeHttpRequest[] = []
  const tracker = { handler } as FakeHttpTracker
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x')
    const r = { path: u.pathname, query: parseQueryBytes(u.search), url: req.url ?? '/' }
    requests.push(r)
    try {
      tracker.handler(r, res)
    } catch (err) {
      res.destroy(err as Error)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return Object.assign(tracker, {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  })
}

export interface UdpPacket {
  action: number
  transactionId: number
  connectionId: Buffer
  data: Buffer
}

export type FakeUdpHandler = (pkt: UdpPacket, reply: (buf: Buffer) => void) => void

export interface FakeUdpTracker {
  port: number
  host: string
  /** udp://HOST:PORT/announce (IPv6 hosts bracketed) */
  url: string
  packets: UdpPacket[]
  handler: FakeUdpHandler
  close(): Promise<void>
}

export async function startFakeUdpTracker(handler: FakeUdpHandler, host = '127.0.0.1', port = 0): Promise<FakeUdpTracker> {
  const family = host.includes(':') ? 'udp6' : 'udp4'
  const sock = dgram.createSocket(family)
  const packets: UdpPacket[] = []
  const tracker = { handler } as FakeUdpTracker
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 16) return
    const pkt = { connectionId: msg.subarray(0, 8), action: msg.readUInt32BE(8), transactionId: msg.readUInt32BE(12), data: msg }
    packets.push(pkt)
    tracker.handler(pkt, (buf) => sock.send(buf, rinfo.port, rinfo.address))
  })
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject)
    sock.bind(port, host, () => { sock.off('error', reject); resolve() })
  })
  const bound = sock.address().port
  return Object.assign(tracker, {
    port: bound, host, packets,
    url: `udp://${family === 'udp6' ? `[${host}]` : host}:${bound}/announce`,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  })
}

/** The fields of a BEP 15 announce request. */
export function parseUdpAnnounce(msg: Buffer) {
  return {
    infoHash: msg.subarray(16, 36),
    peerId: msg.subarray(36, 56),
    downloaded: Number(msg.readBigUInt64BE(56)),
    left: Number(msg.readBigUInt64BE(64)),
    uploaded: Number(msg.readBigUInt64BE(72)),
    event: msg.readUInt32BE(80),
    key: msg.readUInt32BE(88),
    numwant: msg.readInt32BE(92),
    port: msg.readUInt16BE(96),
    options: msg.subarray(98),
  }
}

export function udpConnectReply(transactionId: number, connectionId: Buffer): Buffer {
  const b = Buffer.alloc(16)
  b.writeUInt32BE(0, 0)
  b.writeUInt32BE(transactionId, 4)
  connectionId.copy(b, 8)
  return b
}

export function udpAnnounceReply(transactionId: number, r: { interval: number; leechers: number; seeders: number; peers?: Buffer }): Buffer {
  const b = Buffer.alloc(20)
  b.writeUInt32BE(1, 0)
  b.writeUInt32BE(transactionId, 4)
  b.writeUInt32BE(r.interval, 8)
  b.writeUInt32BE(r.leechers, 12)
  b.writeUInt32BE(r.seeders, 16)
  return Buffer.concat([b, r.peers ?? Buffer.alloc(0)])
}

export function udpErrorReply(transactionId: number, message: string): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt32BE(3, 0)
  b.writeUInt32BE(transactionId, 4)
  return Buffer.concat([b, Buffer.from(message)])
}
