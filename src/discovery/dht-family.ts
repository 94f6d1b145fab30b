// BEP 32 (IPv6 DHT) on top of bittorrent-dht 11, which only knows IPv4: the compact node and peer forms of both
// families, and replacements for the handful of bittorrent-dht methods that encode or decode addresses. An IPv6 node
// is a second DhtNode on its own udp6 socket with its own routing table, as BEP 32 and libtorrent have it; these
// patches make bittorrent-dht speak `nodes6`, 18-byte peer values, and the `want` key (n4/n6) of both.

import type DHT from 'bittorrent-dht'
import type { KrpcMessage, KrpcNode } from 'k-rpc'
import { decodeCompactPeers, encodeCompactAddress, formatIPv6, hostFamily, type PeerAddress } from './peer-address.js'

export type Family = 4 | 6

const REPLY_NODES = 16 // nodes per find_node/get_peers answer (bittorrent-dht sends its whole table)
const REPLY_PEERS = 50 // peers per get_peers answer (bittorrent-dht sends every stored peer)
const LOCAL_PEERS = 100 // peers announced to us that a lookup reports first, as bittorrent-dht's own lookup does

/** The reply key holding nodes of a family: BEP 5 `nodes` (26 bytes each), BEP 32 `nodes6` (38 bytes each). */
export const nodesKey = (family: Family): 'nodes' | 'nodes6' => (family === 4 ? 'nodes' : 'nodes6')

/** Compact node info of one family; nodes of the other family (or with a bad id) are left out. */
export function encodeNodes(nodes: Array<{ id: Buffer; host: string; port: number }>, family: Family, idLength = 20): Buffer {
  const parts: Buffer[] = []
  for (const n of nodes) {
    if (!Buffer.isBuffer(n.id) || n.id.length !== idLength || hostFamily(n.host) !== family) continue
    const addr = encodeCompactAddress({ host: n.host, port: n.port })
    if (addr && addr.length === (family === 4 ? 6 : 18)) parts.push(n.id, addr)
  }
  return Buffer.concat(parts)
}

/** Compact node info (id, address, port) of one family, skipping port 0 and unspecified/zero-net addresses. */
export function parseNodes(buf: Buffer, family: Family, idLength = 20): Array<{ id: Buffer; host: string; port: number }> {
  const out: Array<{ id: Buffer; host: string; port: number }> = []
  const ipLen = family === 4 ? 4 : 16
  const size = idLength + ipLen + 2
  for (let i = 0; i + size <= buf.length; i += size) {
    const at = i + idLength
    const port = buf.readUInt16BE(at + ipLen)
    if (!port) continue
    let host: string
    if (family === 4) {
      if (buf[at] === 0) continue
      host = `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`
    } else {
      if (buf.subarray(at, at + 16).every((b) => b === 0)) continue
      host = formatIPv6(buf, at)
      // IPv4-mapped or other embedded forms cannot be reached over a v6-only socket: they are not IPv6 nodes.
      if (host.includes('.')) continue
    }
    out.push({ id: Buffer.from(buf.subarray(i, i + idLength)), host, port })
  }
  return out
}

/**
 * Which families of nodes a query asks for (BEP 32 `want`: a list of "n4" / "n6"); without a usable `want`, the
 * family of the socket it came in on.
 */
export function wantedFamilies(query: KrpcMessage, own: Family): Family[] {
  const want = query.a?.want
  if (!Array.isArray(want)) return [own]
  const out: Family[] = []
  for (const w of want) {
    const s = Buffer.isBuffer(w) ? w.toString('latin1') : typeof w === 'string' ? w : ''
    if (s === 'n4' && !out.includes(4)) out.push(4)
    if (s === 'n6' && !out.includes(6)) out.push(6)
  }
  return out.length ? out : [own]
}

/** Peers in a get_peers reply's `values`: each entry 6 bytes (IPv4) or 18 bytes (IPv6); others are skipped. */
export function decodePeerValues(values: unknown): PeerAddress[] {
  if (!Array.isArray(values)) return []
  const out: PeerAddress[] = []
  for (const v of values) {
    if (!Buffer.isBuffer(v)) continue
    if (v.length === 6) out.push(...decodeCompactPeers(v, 4))
    else if (v.length === 18) out.push(...decodeCompactPeers(v, 6))
  }
  return out
}

/** The closest nodes of a family, from this node's table or from the sibling node of the other family. */
export type TableOf = (family: Family) => { closest(target: Buffer, n: number): KrpcNode[] } | undefined

/**
 * Replace the bittorrent-dht methods that assume IPv4, and bound the size of our answers (bittorrent-dht puts every
 * table node and every stored peer in one datagram). `family` is the family of this node's socket; `tableOf` gives
 * the routing table of each family, so a query that wants n4 and n6 gets both.
 */
export function patchFamily(dht: DHT, family: Family, tableOf: TableOf): void {
  const rpc = dht._rpc
  const d = dht as unknown as {
    _onfindnode: (query: KrpcMessage, peer: { address: string; port: number }) => void
    _addPeer: (peer: PeerAddress, infoHash: Buffer, from: PeerAddress) => void
    _closest: (target: Buffer, message: KrpcMessage, onmessage: ((m: KrpcMessage, node: { host?: string; address?: string; port: number }) => boolean | void) | null, cb: (err: Error | null, n?: number) => void) => void
  }

  const withNodes = (r: Record<string, unknown>, query: KrpcMessage, target: Buffer) => {
    for (const f of wantedFamilies(query, family)) {
      const table = tableOf(f)
      if (table) r[nodesKey(f)] = encodeNodes(table.closest(target, REPLY_NODES), f, rpc.id.length)
    }
    return r
  }

  d._onfindnode = (query, peer) => {
    const target = query.a!.target as Buffer
    dht.emit('find_node', target)
    rpc.response(peer, query, withNodes({ id: rpc.id }, query, target))
  }

  dht._ongetpeers = (query, peer) => {
    const infoHash = query.a.info_hash as Buffer
    dht.emit('get_peers', infoHash)
    const r: Record<string, unknown> = { id: rpc.id, token: dht._generateToken(peer.address) }
    const peers = dht._peers.get(infoHash.toString('hex'), REPLY_PEERS)
    if (peers.length) r.values = peers
    // BEP 32: nodes too when the asker wants a family; BEP 5 clients get either values or nodes.
    if (!peers.length || Array.isArray(query.a.want)) withNodes(r, query, infoHash)
    rpc.response(peer, query, r)
  }

  // bittorrent-dht stores announced peers in 6-byte IPv4 form whatever the address.
  d._addPeer = (peer, infoHash, from) => {
    const value = encodeCompactAddress(peer)
    if (!value) return
    dht._peers.add(infoHash.toString('hex'), value)
    dht.emit('announce', peer, infoHash, from)
  }

  // bittorrent-dht's lookup decodes every value as 6 bytes. Same shape as its own: the peers announced to us first,
  // then each reply's values, as 'peer' events; announce() runs it too before announcing.
  dht.lookup = (hash: Buffer | string, cb?: (err: Error | null, n?: number) => void) => {
    const infoHash = Buffer.isBuffer(hash) ? hash : Buffer.from(hash, 'hex')
    let aborted = false
    const emit = (peers: PeerAddress[], from: unknown) => {
      for (const p of peers) dht.emit('peer', p, infoHash, from)
    }
    process.nextTick(() => emit(decodePeerValues(dht._peers.get(infoHash.toString('hex'), LOCAL_PEERS)), null))
    d._closest(infoHash, { q: 'get_peers', a: { id: rpc.id, info_hash: infoHash } }, (message, node) => {
      if (aborted) return false
      if (message.r?.values) emit(decodePeerValues(message.r.values), node)
    }, cb ?? (() => {}))
    return () => { aborted = true }
  }
}
