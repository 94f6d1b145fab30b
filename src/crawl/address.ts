// Which addresses the crawler may send to, and strict parsers for the compact node and peer lists other nodes hand
// it. A DHT node can name any address in a `nodes` or `values` list; sending there on its word would make the crawler
// a scanner of private networks (or a reflector), so only public unicast IPv4 passes, loopback only in test setups.

export interface CompactNode {
  id: Buffer
  host: string
  port: number
}

export interface Endpoint {
  host: string
  port: number
}

/** A compact node list holds at most this many entries we look at (8 per BEP 5; some send 16). */
export const MAX_NODES_PER_REPLY = 64
/** More peers than this in one `values` list are ignored; metadata comes from a few of them anyway. */
export const MAX_PEERS_PER_REPLY = 200

/** Dotted-quad IPv4 (as net.isIPv4 accepts it: no leading zeros) to a 32-bit number; undefined for anything else.
 * Scanned by hand: it runs for every query sent, and isIPv4's regex plus split() showed in the profile. */
export function ipv4ToInt(host: string): number | undefined {
  let n = 0
  let octet = 0
  let len = 0
  let dots = 0
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i)
    if (c === 46) {
      if (len === 0 || dots === 3) return undefined
      n = n * 256 + octet
      octet = 0
      len = 0
      dots++
    } else if (c >= 48 && c <= 57) {
      if (len > 0 && octet === 0) return undefined // leading zero
      octet = octet * 10 + c - 48
      if (++len > 3 || octet > 255) return undefined
    } else return undefined
  }
  if (dots !== 3 || len === 0) return undefined
  return n * 256 + octet
}

// [network, prefix length]: IANA special-purpose, private, multicast and reserved IPv4 blocks.
const SPECIAL: Array<[number, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
].map(([net, len]) => [ipv4ToInt(net as string)!, len as number])

function inBlock(n: number, net: number, len: number): boolean {
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0
  return ((n & mask) >>> 0) === net
}

export function isLoopbackIPv4(host: string): boolean {
  const n = ipv4ToInt(host)
  return n !== undefined && inBlock(n, SPECIAL[3][0], 8)
}

/** True for public unicast IPv4 (not private, loopback, link-local, CGNAT, documentation, multicast, reserved). */
export function isPublicIPv4(host: string): boolean {
  const n = ipv4ToInt(host)
  return n !== undefined && isPublicInt(n)
}

function isPublicInt(n: number): boolean {
  for (const [net, len] of SPECIAL) if (inBlock(n, net, len)) return false
  return true
}

/**
 * The send policy of one crawler: public unicast IPv4 always; loopback too when the bootstrap itself is loopback
 * (a local test DHT), never private or multicast ranges.
 */
export class AddressPolicy {
  constructor(readonly allowLoopback: boolean) {}

  static forBootstrap(bootstrap: readonly Endpoint[]): AddressPolicy {
    return new AddressPolicy(bootstrap.length > 0 && bootstrap.every((b) => isLoopbackIPv4(b.host)))
  }

  allows(host: string, port: number): boolean {
    const n = ipv4ToInt(host)
    return n !== undefined && this.allowsInt(n, port)
  }

  /** The same check on an address as a 32-bit number (compact node lists are parsed without making strings first). */
  allowsInt(n: number, port: number): boolean {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return false
    if (isPublicInt(n)) return true
    return this.allowLoopback && n >>> 24 === 127
  }
}

function hostAt(buf: Uint8Array, i: number): string {
  return `${buf[i]}.${buf[i + 1]}.${buf[i + 2]}.${buf[i + 3]}`
}

/**
 * BEP 5 compact node info (26 bytes each). A list whose length is not a multiple of 26 is malformed: undefined,
 * so the caller can count the sender as faulty. Entries the policy refuses are left out.
 */
export function parseCompactNodes(buf: unknown, policy: AddressPolicy): CompactNode[] | undefined {
  if (!Buffer.isBuffer(buf) || buf.length % 26 !== 0) return undefined
  const out: CompactNode[] = []
  const n = Math.min(buf.length / 26, MAX_NODES_PER_REPLY)
  for (let k = 0; k < n; k++) {
    const i = k * 26
    const port = (buf[i + 24] << 8) | buf[i + 25]
    if (!policy.allowsInt(buf.readUInt32BE(i + 20), port)) continue
    out.push({ id: Buffer.from(buf.subarray(i, i + 20)), host: hostAt(buf, i + 20), port })
  }
  return out
}

/** A get_peers `values` list: 6-byte compact IPv4 peers. Anything else in it makes the list malformed. */
export function parseCompactPeers(values: unknown, policy: AddressPolicy): Endpoint[] | undefined {
  if (!Array.isArray(values)) return undefined
  const out: Endpoint[] = []
  for (const v of values.slice(0, MAX_PEERS_PER_REPLY)) {
    if (!Buffer.isBuffer(v)) return undefined
    if (v.length !== 6) continue // BEP 32 IPv6 peers (18 bytes) are not ours to dial: bittorrent-dht is IPv4 only
    const port = (v[4] << 8) | v[5]
    if (policy.allowsInt(v.readUInt32BE(0), port)) out.push({ host: hostAt(v, 0), port })
  }
  return out
}

export function encodeCompactNode(id: Buffer, host: string, port: number): Buffer {
  const b = Buffer.alloc(26)
  id.copy(b, 0, 0, 20)
  const n = ipv4ToInt(host) ?? 0
  b.writeUInt32BE(n, 20)
  b.writeUInt16BE(port, 24)
  return b
}
