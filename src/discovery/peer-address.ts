// Peer addresses as every source (tracker, DHT, PEX, magnet x.pe, --peer) reports them, in both families.

import { isIP } from 'node:net'

export interface PeerAddress {
  host: string
  port: number
}

export function peerKey(p: PeerAddress): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`
}

/** Parse `host:port` or `[v6]:port`; undefined when it is not one. */
export function parsePeerAddress(s: string): PeerAddress | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s]+):(\d{1,5})$/.exec(s)
  if (!m) return undefined
  const port = Number(m[2])
  if (port < 1 || port > 65535) return undefined
  if (s.startsWith('[') && isIP(m[1]) !== 6) return undefined
  return { host: normalizeHost(m[1]), port }
}

/** A loopback host: 127.0.0.0/8, ::1, an IPv4-mapped 127.x, or localhost (brackets and case ignored). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h.startsWith('::ffff:127.')
}

/** Compact peer lists (BEP 23 IPv4, 6 bytes each; BEP 7 IPv6, 18 bytes each). */
export function decodeCompactPeers(buf: Uint8Array, family: 4 | 6 = 4): PeerAddress[] {
  const size = family === 4 ? 6 : 18
  const peers: PeerAddress[] = []
  for (let i = 0; i + size <= buf.length; i += size) {
    const host = family === 4 ? `${buf[i]}.${buf[i + 1]}.${buf[i + 2]}.${buf[i + 3]}` : normalizeHost(formatIPv6(buf, i))
    const port = (buf[i + size - 2] << 8) | buf[i + size - 1]
    if (port > 0) peers.push({ host, port })
  }
  return peers
}

/** The 6-byte compact form of an IPv4 peer; undefined for anything else. */
export function encodeCompactPeer(p: PeerAddress): Buffer | undefined {
  const v4 = ipv4Bytes(p.host)
  if (!v4) return undefined
  const b = Buffer.alloc(6)
  v4.copy(b)
  b.writeUInt16BE(p.port, 4)
  return b
}

/** The compact form of either family: 6 bytes for IPv4 (and IPv4-mapped IPv6), 18 for IPv6; undefined otherwise. */
export function encodeCompactAddress(p: PeerAddress): Buffer | undefined {
  if (!(p.port > 0 && p.port < 65536)) return undefined
  const host = normalizeHost(p.host)
  const v4 = encodeCompactPeer({ host, port: p.port })
  if (v4) return v4
  const ip = ipv6Bytes(host)
  if (!ip) return undefined
  const b = Buffer.alloc(18)
  ip.copy(b)
  b.writeUInt16BE(p.port, 16)
  return b
}

function ipv4Bytes(s: string): Buffer | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (!m) return undefined
  const b = Buffer.alloc(4)
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1])
    if (n > 255) return undefined
    b[i] = n
  }
  return b
}

/** 16 bytes of a textual IPv6 address (`::` and a trailing dotted IPv4 allowed, no zone), or undefined. */
export function ipv6Bytes(s: string): Buffer | undefined {
  if (isIP(s) !== 6 || s.includes('%')) return undefined
  let text = s
  let tail4: Buffer | undefined
  const dot = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (dot) {
    tail4 = ipv4Bytes(dot[1])
    if (!tail4) return undefined
    text = s.slice(0, dot.index + 1) + '0:0'
  }
  const [head, tail] = text.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = text.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left
  if (groups.length !== 8) return undefined
  const b = Buffer.alloc(16)
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2))
  if (tail4) tail4.copy(b, 12)
  return b
}

/**
 * 16 bytes at `off` as text, the way Node reports socket addresses (libuv's inet_ntop: lower case, the longest run
 * of two or more zero groups as `::`, IPv4-mapped as ::ffff:a.b.c.d). k-rpc-socket matches an answer to its query
 * by comparing these strings, so ours must be spelled identically.
 */
export function formatIPv6(buf: Uint8Array, off = 0): string {
  const w: number[] = []
  for (let j = 0; j < 16; j += 2) w.push((buf[off + j] << 8) | buf[off + j + 1])
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && w[j] === 0) j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  if (bestLen < 2) best = -1
  const v4tail = best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (best >= 0 && i >= best && i < best + bestLen) {
      if (i === best) out += ':'
      continue
    }
    if (i > 0) out += ':'
    if (i === 6 && v4tail) {
      out += `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`
      break
    }
    out += w[i].toString(16)
  }
  if (best >= 0 && best + bestLen === 8) out += ':'
  return out
}

/**
 * One spelling per address: an IPv4-mapped IPv6 address (how a dual-stack socket reports an IPv4 peer) becomes the
 * IPv4 address, other IPv6 addresses take Node's canonical form; anything else (names, IPv4) is returned as given.
 */
export function normalizeHost(host: string): string {
  const h = host.replace(/^\[|\]$/g, '')
  if (isIP(h) !== 6) return h
  const b = ipv6Bytes(h)
  if (!b) return h
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`
  return formatIPv6(b)
}

/** 4 or 6 for an IP address (brackets allowed), 0 for anything else. */
export function hostFamily(host: string): 0 | 4 | 6 {
  return isIP(host.replace(/^\[|\]$/g, '')) as 0 | 4 | 6
}
