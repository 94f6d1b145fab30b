// BEP 51 server side: the info hashes announced to this node, and the `sample_infohashes` answer built from them
// (a random subset, refreshed at most once per `interval`, so crawlers learn what this node stores).

import { randomInt } from 'node:crypto'
import type { KRPC, KrpcMessage, KrpcPeer } from 'k-rpc'

export const SAMPLE_COUNT = 20 // 20 × 20 bytes: the answer still fits a 1280-byte datagram with 8 nodes
export const SAMPLE_INTERVAL = 300 // seconds; libtorrent's default is 6 h, but our stores are small and change fast

export interface SamplerOptions {
  /** Hashes kept; the least recently announced go first. */
  max?: number
  /** ms a hash stays after its last announce (the peer store's life). */
  ttl?: number
  /** Seconds between refreshes of the sample (BEP 51 `interval`). */
  interval?: number
  now?: () => number
}

export class InfoHashSampler {
  private readonly hashes = new Map<string, number>() // hex -> last announce, oldest first
  private readonly max: number
  private readonly ttl: number
  readonly interval: number
  private readonly now: () => number
  private sample?: Buffer
  private sampledAt = 0

  constructor(opts: SamplerOptions = {}) {
    this.max = opts.max ?? 10_000
    this.ttl = opts.ttl ?? 45 * 60_000
    this.interval = opts.interval ?? SAMPLE_INTERVAL
    this.now = opts.now ?? Date.now
  }

  add(infoHash: Buffer): void {
    if (infoHash.length !== 20) return
    const hex = infoHash.toString('hex')
    this.hashes.delete(hex) // re-insert at the young end
    this.hashes.set(hex, this.now())
    if (this.hashes.size > this.max) this.hashes.delete(this.hashes.keys().next().value!)
  }

  /** Number of info hashes stored (BEP 51 `num`). */
  get num(): number {
    this.expire()
    return this.hashes.size
  }

  /**
   * Up to SAMPLE_COUNT stored hashes, concatenated. When everything fits, everything is returned (nothing to hide, and
   * a crawler sees new hashes at once); otherwise one random subset is served for `interval` seconds, as BEP 51 asks.
   */
  samples(): Buffer {
    this.expire()
    const now = this.now()
    if (this.hashes.size <= SAMPLE_COUNT) {
      this.sample = undefined
      return Buffer.concat([...this.hashes.keys()].map((h) => Buffer.from(h, 'hex')))
    }
    if (!this.sample || now - this.sampledAt >= this.interval * 1000) {
      this.sample = Buffer.concat(pick([...this.hashes.keys()], SAMPLE_COUNT).map((h) => Buffer.from(h, 'hex')))
      this.sampledAt = now
    }
    return this.sample
  }

  private expire(): void {
    const cutoff = this.now() - this.ttl
    for (const [hex, at] of this.hashes) {
      if (at > cutoff) break // oldest first: the rest are younger
      this.hashes.delete(hex)
    }
  }
}

/** n distinct random elements (partial Fisher–Yates). */
function pick<T>(list: T[], n: number): T[] {
  for (let i = 0; i < n && i < list.length; i++) {
    const j = randomInt(i, list.length)
    ;[list[i], list[j]] = [list[j], list[i]]
  }
  return list.slice(0, n)
}

const SAMPLE_NODES = 8

/** Answer `sample_infohashes` on this k-rpc instance from the sampler (bittorrent-dht ignores unknown queries). */
export function serveSampleInfohashes(krpc: KRPC, sampler: InfoHashSampler): void {
  krpc.on('query', (query: KrpcMessage, peer: KrpcPeer) => {
    if (!Buffer.isBuffer(query.q) || query.q.toString('latin1') !== 'sample_infohashes') return
    const target = query.a?.target
    if (!Buffer.isBuffer(target) || target.length !== krpc.id.length) {
      krpc.error(peer, query, [203, 'sample_infohashes needs a target'])
      return
    }
    const r = { id: krpc.id, interval: sampler.interval, num: sampler.num, samples: sampler.samples() }
    krpc.response(peer, query, r, krpc.nodes.closest(target, SAMPLE_NODES))
  })
}
