// Shields between the network and bittorrent-dht/k-rpc: a strict shape check of every datagram before their
// handlers see it, and bounded answers to find_node/get_peers.

import type DHT from 'bittorrent-dht'
import type { KRPC } from 'k-rpc'
import { bdecode, isDict, type BDict } from '../metainfo/bdecode.js'

const REPLY_NODES = 16 // nodes per find_node/get_peers answer (bittorrent-dht sends its whole table)
const REPLY_PEERS = 50 // peers per get_peers answer (bittorrent-dht sends every stored peer)

const guarded = new WeakSet<object>()

/**
 * bittorrent-dht and k-rpc trust the shape of what arrives: `a.token` as an integer, `a.target` as a string, or
 * `r.id` as an integer in an answer each throw inside the UDP 'message' handler and so crash the process (and a
 * throw half-way through k-rpc-socket leaves a lookup waiting forever). Check the shape first and drop the rest;
 * catch anything that still throws.
 */
export function guardSocket(krpc: KRPC, warn: (err: Error) => void): void {
  const udp = krpc.socket.socket
  if (guarded.has(udp)) return
  guarded.add(udp)
  for (const listener of udp.listeners('message') as Array<(buf: Buffer, rinfo: unknown) => void>) {
    udp.off('message', listener)
    udp.on('message', (buf: Buffer, rinfo: unknown) => {
      if (!wellFormedKrpc(buf)) return
      try {
        listener(buf, rinfo)
      } catch (err) {
        warn(err instanceof Error ? err : new Error(String(err)))
      }
    })
  }
}

const isBuf = (v: unknown, len?: number): boolean => Buffer.isBuffer(v) && (len === undefined || v.length === len)
const optBuf = (d: BDict, key: string, len?: number): boolean => d[key] === undefined || isBuf(d[key], len)

/** Exported for tests: does a KRPC datagram have the shape bittorrent-dht and k-rpc assume? */
export function wellFormedKrpc(buf: Buffer): boolean {
  let msg
  try {
    msg = bdecode(buf, { allowTrailing: true }).value
  } catch {
    return false
  }
  if (!isDict(msg) || !isBuf(msg.t) || !isBuf(msg.y, 1)) return false
  const y = (msg.y as Buffer)[0]
  if (y === 0x71 /* q */) {
    const a = msg.a
    if (!isBuf(msg.q) || !isDict(a) || !isBuf(a.id, 20)) return false
    const q = (msg.q as Buffer).toString('latin1')
    // BEP 44 storage is not something we serve; its handlers assume even more about their arguments.
    if (q === 'put' || q === 'get') return false
    if (!optBuf(a, 'target', 20) || !optBuf(a, 'info_hash', 20) || !optBuf(a, 'token')) return false
    if (q === 'find_node' && a.target === undefined) return false
    if ((q === 'get_peers' || q === 'announce_peer') && a.info_hash === undefined) return false
    if (q === 'sample_infohashes' && a.target === undefined) return false
    if (a.port !== undefined && typeof a.port !== 'number') return false
    return true
  }
  if (y === 0x72 /* r */) {
    const r = msg.r
    if (!isDict(r) || !isBuf(r.id)) return false
    if (!optBuf(r, 'nodes') || !optBuf(r, 'token')) return false
    if (r.values !== undefined && !(Array.isArray(r.values) && r.values.every((v) => isBuf(v)))) return false
    return true
  }
  return y === 0x65 /* e */
}

/** Bound the size of our answers: bittorrent-dht puts every table node / every stored peer in one datagram. */
export function patchReplies(dht: DHT): void {
  const rpc = dht._rpc
  ;(dht as unknown as { _onfindnode: typeof dht._onquery })._onfindnode = (query, peer) => {
    const target = query.a.target as Buffer
    dht.emit('find_node', target)
    rpc.response(peer, query, { id: rpc.id }, rpc.nodes.closest(target, REPLY_NODES))
  }
  dht._ongetpeers = (query, peer) => {
    const infoHash = query.a.info_hash as Buffer
    dht.emit('get_peers', infoHash)
    const r: Record<string, unknown> = { id: rpc.id, token: dht._generateToken(peer.address) }
    const peers = dht._peers.get(infoHash.toString('hex'), REPLY_PEERS)
    if (peers.length) {
      r.values = peers
      rpc.response(peer, query, r)
    } else {
      rpc.response(peer, query, r, rpc.nodes.closest(infoHash, REPLY_NODES))
    }
  }
}
