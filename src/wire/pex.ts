// ut_pex (BEP 11): learn peers of the swarm from a connected peer, and tell it about ours, at most once a minute.
// Written here instead of using the `ut_pex` package, which keeps every peer a remote ever named (unbounded), drops
// the connection when two messages come less than 60 s apart, and only sends on its own 65 s timer.

import bencode from 'bencode'
import { isIP } from 'node:net'
import type Wire from 'bittorrent-protocol'
import type { ExtensionClass, ExtensionInstance } from 'bittorrent-protocol'
import { bdecode, isDict } from '../metainfo/bdecode.js'
import { decodeCompactPeers, encodeCompactAddress, normalizeHost, peerKey, type PeerAddress } from '../discovery/peer-address.js'

export const PEX_INTERVAL = 60_000
export const PEX_MAX_ADDED = 50 // per message, as BEP 11 asks
const MAX_DROPPED = 50
const MAX_PENDING = 200 // per list, waiting for the next message
const MAX_ACCEPTED = 200 // per family and list in a message we receive
// Remote messages closer together than this are dropped (not fatal: timers drift, and some clients send early).
const MIN_REMOTE_GAP_FRACTION = 0.75

export interface PexExtensionOptions {
  onPeers: (peers: PeerAddress[], wire: Wire) => void
  onDropped?: (peers: PeerAddress[], wire: Wire) => void
  /** Minimum gap between our messages on one wire (ms). Default 60 s; tests shorten it. */
  interval?: number
}

export interface PexExtension extends ExtensionInstance {
  /** True once the peer's extended handshake listed ut_pex. */
  readonly supported: boolean
  /**
   * Queue peers to tell this wire about. Sent right away when the last message is a minute old, else when it is;
   * at most 50 added and 50 dropped per message, the rest wait for the next one.
   */
  sendPeers(added: PeerAddress[], dropped: PeerAddress[]): void
}

/** Extension class for wire.use(). The instance is `wire.ut_pex` (a PexExtension). */
export function pexExtension(opts: PexExtensionOptions): ExtensionClass {
  const interval = opts.interval ?? PEX_INTERVAL

  class UtPex implements PexExtension {
    declare readonly name: string
    private readonly wire: Wire
    supported = false
    private readonly added = new Map<string, PeerAddress>()
    private readonly dropped = new Map<string, PeerAddress>()
    private lastSent = -Infinity
    private lastReceived = -Infinity
    private timer?: NodeJS.Timeout
    private closed = false

    constructor(wire: Wire) {
      this.wire = wire
      wire.once('close', () => {
        this.closed = true
        clearTimeout(this.timer)
        this.added.clear()
        this.dropped.clear()
      })
    }

    // bittorrent-protocol calls this only when the peer's handshake maps ut_pex.
    onExtendedHandshake(): void {
      this.supported = true
      this.schedule()
    }

    sendPeers(added: PeerAddress[], dropped: PeerAddress[]): void {
      if (this.closed) return
      // An IPv4 peer that reached our dual-stack socket shows as ::ffff:a.b.c.d: it goes out in `added`, not `added6`.
      for (const a of dropped) {
        const p = { host: normalizeHost(a.host), port: a.port }
        const key = peerKey(p)
        this.added.delete(key)
        if (this.dropped.size < MAX_PENDING && isIP(p.host)) this.dropped.set(key, p)
      }
      for (const a of added) {
        const p = { host: normalizeHost(a.host), port: a.port }
        const key = peerKey(p)
        this.dropped.delete(key)
        if (this.added.size < MAX_PENDING && isIP(p.host) && p.port > 0 && p.port < 65536) this.added.set(key, p)
      }
      this.schedule()
    }

    private schedule(): void {
      if (this.closed || !this.supported || this.timer || (this.added.size === 0 && this.dropped.size === 0)) return
      const wait = this.lastSent + interval - Date.now()
      if (wait <= 0) return this.flush()
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.flush()
      }, wait)
      this.timer.unref()
    }

    private flush(): void {
      if (this.closed) return
      const added4: Buffer[] = []
      const added6: Buffer[] = []
      const dropped4: Buffer[] = []
      const dropped6: Buffer[] = []
      for (const [key, p] of take(this.added, PEX_MAX_ADDED)) {
        const c = encodeCompactAddress(p)
        if (c) (c.length === 6 ? added4 : added6).push(c)
        this.added.delete(key)
      }
      for (const [key, p] of take(this.dropped, MAX_DROPPED)) {
        const c = encodeCompactAddress(p)
        if (c) (c.length === 6 ? dropped4 : dropped6).push(c)
        this.dropped.delete(key)
      }
      const msg: Record<string, Buffer> = {
        added: Buffer.concat(added4),
        'added.f': Buffer.alloc(added4.length),
        dropped: Buffer.concat(dropped4),
      }
      if (added6.length) {
        msg.added6 = Buffer.concat(added6)
        msg['added6.f'] = Buffer.alloc(added6.length)
      }
      if (dropped6.length) msg.dropped6 = Buffer.concat(dropped6)
      try {
        this.wire.extended('ut_pex', Buffer.from(bencode.encode(msg)))
      } catch {
        return // the peer dropped ut_pex from its mapping
      }
      this.lastSent = Date.now()
      this.schedule() // whatever did not fit waits a minute
    }

    onMessage(buf: Uint8Array): void {
      let msg
      try {
        msg = bdecode(buf).value
      } catch {
        return
      }
      if (!isDict(msg)) return
      const now = Date.now()
      if (now - this.lastReceived < interval * MIN_REMOTE_GAP_FRACTION) return
      const added = [...compact(msg.added, 4), ...compact(msg.added6, 6)]
      const dropped = [...compact(msg.dropped, 4), ...compact(msg.dropped6, 6)]
      if (added.length === 0 && dropped.length === 0) return
      this.lastReceived = now
      if (added.length) opts.onPeers(added, this.wire)
      if (dropped.length) opts.onDropped?.(dropped, this.wire)
    }
  }
  ;(UtPex.prototype as { name: string }).name = 'ut_pex'
  return UtPex as unknown as ExtensionClass
}

function take<K, V>(m: Map<K, V>, n: number): Array<[K, V]> {
  const out: Array<[K, V]> = []
  for (const e of m) {
    if (out.length >= n) break
    out.push(e)
  }
  return out
}

function compact(v: unknown, family: 4 | 6): PeerAddress[] {
  if (!Buffer.isBuffer(v)) return []
  const size = family === 4 ? 6 : 18
  const peers = decodeCompactPeers(v.subarray(0, Math.min(v.length - (v.length % size), MAX_ACCEPTED * size)), family)
  const seen = new Set<string>()
  return peers.filter((p) => {
    const key = peerKey(p)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
