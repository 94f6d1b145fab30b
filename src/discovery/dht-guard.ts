// The shield between the network and bittorrent-dht/k-rpc: a strict shape check of every datagram before their
// handlers see it. (Bounded answers to find_node/get_peers are in dht-family.ts, with the BEP 32 forms.)

import type { KRPC } from 'k-rpc'
import { bdecode, isDict, type BDict } from '../metainfo/bdecode.js'

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
    if (a.want !== undefined && !(Array.isArray(a.want) && a.want.length <= 4 && a.want.every((v) => isBuf(v)))) return false
    return true
  }
  if (y === 0x72 /* r */) {
    const r = msg.r
    if (!isDict(r) || !isBuf(r.id)) return false
    if (!optBuf(r, 'nodes') || !optBuf(r, 'nodes6') || !optBuf(r, 'token')) return false
    if (r.values !== undefined && !(Array.isArray(r.values) && r.values.every((v) => isBuf(v)))) return false
    return true
  }
  return y === 0x65 /* e */
}
