// The second half of the crawl: info hashes with peers in, index records out. A bounded queue of hashes, a fixed
// number of fetches at a time (one per hash: a hash is never fetched twice at once), a few peers tried per hash,
// a cap on metadata bytes per second, and the batch of records written to the index (flushed on stop).

import { setMaxListeners } from 'node:events'
import { metainfoFromInfo } from '../metainfo/metainfo.js'
import { classify } from '../index/classify.js'
import type { IndexWriter, TorrentRecord } from '../index/types.js'
import { errorMessage } from '../errors.js'
import type { Endpoint } from './address.js'
import { fetchMetadata, type FetchOutcome } from './fetch-metadata.js'
import { Fifo } from './fifo.js'
import { HourlyTypes, SecondWindow } from './stats.js'

export interface MetadataQueueOptions {
  index: IndexWriter
  /** Fetches at a time (default 32; bt crawl asks for 64). */
  concurrency?: number
  /** Hashes waiting for a fetch slot; more are dropped (default 5000). */
  maxQueued?: number
  /** Peers tried per hash (default 3). */
  peersPerHash?: number
  /** Per-peer attempt deadline (ms, default 8000). */
  timeoutMs?: number
  /** Per-peer TCP connect deadline (ms, default 3000): a peer that has not accepted by then rarely will. */
  connectTimeoutMs?: number
  /** Metadata bytes per second over all fetches (default 8 MiB/s): new fetches wait while above. */
  maxBytesPerSec?: number
  maxSize?: number
  /** Records per index write (default 200); a partial batch is written after `flushMs` (default 2000). */
  batchSize?: number
  flushMs?: number
  /** Concurrent connections to one IP (default 2; loopback exempt, as every test peer shares it). */
  perIpConnections?: number
  onWarning?: (msg: string) => void
}

interface Job {
  hash: Buffer
  hex: string
  peers: Endpoint[]
}

export class MetadataQueue {
  readonly fetched = new SecondWindow()
  readonly failed = new SecondWindow()
  readonly timedOut = new SecondWindow()
  readonly bad = new SecondWindow()
  readonly bytes = new SecondWindow()
  readonly types = new HourlyTypes()
  readonly lastNames: string[] = []
  peersContacted = 0
  indexed = 0
  indexErrors = 0
  dropped = 0
  private readonly queue: Fifo<Job>
  private readonly active = new Set<string>()
  private readonly perIp = new Map<string, number>()
  private batch: TorrentRecord[] = []
  private writing?: Promise<void>
  private readonly flushTimer: NodeJS.Timeout
  private readonly pumpTimer: NodeJS.Timeout
  private stopped = false
  private readonly abort = (() => {
    const a = new AbortController()
    setMaxListeners(0, a.signal) // one listener per fetch in flight, removed when it ends
    return a
  })()
  private readonly o: Required<Omit<MetadataQueueOptions, 'onWarning'>> & Pick<MetadataQueueOptions, 'onWarning'>

  constructor(opts: MetadataQueueOptions) {
    this.o = {
      concurrency: 32, maxQueued: 5000, peersPerHash: 3, timeoutMs: 8000, connectTimeoutMs: 3000, maxBytesPerSec: 8 * 1024 * 1024,
      maxSize: 4 * 1024 * 1024, batchSize: 200, flushMs: 2000, perIpConnections: 2,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as MetadataQueue['o']
    this.queue = new Fifo<Job>(this.o.maxQueued)
    this.flushTimer = setInterval(() => { void this.flush() }, this.o.flushMs)
    this.flushTimer.unref()
    // Fetches held back by the byte cap resume on this tick.
    this.pumpTimer = setInterval(() => this.pump(), 250)
    this.pumpTimer.unref()
  }

  get queued(): number {
    return this.queue.length
  }

  get running(): number {
    return this.active.size
  }

  /** Queue a hash with the peers found for it; false when it is already being fetched or the queue is full. */
  add(hash: Buffer, peers: Endpoint[]): boolean {
    const hex = hash.toString('hex')
    if (this.stopped || peers.length === 0 || this.active.has(hex)) return false
    if (!this.queue.push({ hash, hex, peers: peers.slice(0, this.o.peersPerHash * 2) })) {
      this.dropped++
      return false
    }
    this.pump()
    return true
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.o.concurrency && this.queue.length > 0) {
      if (this.bytes.rate(2) > this.o.maxBytesPerSec) return
      const job = this.queue.shift()!
      if (this.active.has(job.hex)) continue
      this.active.add(job.hex)
      void this.run(job).finally(() => {
        this.active.delete(job.hex)
        this.pump()
      })
    }
  }

  /**
   * Ask up to `peersPerHash` peers at once; the first verified answer wins and the others are hung up. One after the
   * other, a hash whose peers are unreachable (most peers on the public DHT: NAT, gone) held its fetch slot for up to
   * three connect timeouts; now for one.
   */
  private async run(job: Job): Promise<void> {
    const picked: Endpoint[] = []
    for (const peer of job.peers) {
      if (picked.length >= this.o.peersPerHash) break
      const n = this.perIp.get(peer.host) ?? 0
      if (!peer.host.startsWith('127.') && n >= this.o.perIpConnections) continue
      this.perIp.set(peer.host, n + 1)
      picked.push(peer)
    }
    if (picked.length === 0) return
    const race = new AbortController()
    const onStop = () => race.abort()
    this.abort.signal.addEventListener('abort', onStop, { once: true })
    let last: FetchOutcome | undefined
    let won: FetchOutcome | undefined
    await Promise.all(picked.map(async (peer) => {
      this.peersContacted++
      let o: FetchOutcome
      try {
        o = await fetchMetadata(job.hash, peer, { timeoutMs: this.o.timeoutMs, connectTimeoutMs: this.o.connectTimeoutMs, maxSize: this.o.maxSize, signal: race.signal })
      } finally {
        const m = (this.perIp.get(peer.host) ?? 1) - 1
        if (m <= 0) this.perIp.delete(peer.host)
        else this.perIp.set(peer.host, m)
      }
      this.bytes.add(o.bytes)
      if (o.ok) {
        if (!won) won = o
        race.abort()
      } else if (!won) {
        if (o.reason === 'bad') this.bad.add()
        // An attempt hung up because another won (or we stop) says nothing about its peer.
        if (!(o.reason === 'closed' && o.detail === 'aborted')) last = o
      }
    }))
    this.abort.signal.removeEventListener('abort', onStop)
    last = won ?? last
    if (!last || this.stopped) return
    if (!last.ok) {
      if (last.reason === 'timeout') this.timedOut.add()
      else this.failed.add()
      return
    }
    const record = this.toRecord(job.hex, last.info)
    if (!record) {
      this.bad.add()
      this.failed.add()
      return
    }
    this.fetched.add()
    const type = classify(record.name, record.files).contentType
    this.types.add(type)
    this.lastNames.unshift(record.name)
    if (this.lastNames.length > 10) this.lastNames.length = 10
    this.batch.push(record)
    if (this.batch.length >= this.o.batchSize) void this.flush()
  }

  /** Parse a verified info dict into a record; undefined when it is not a valid one (it hashed right but lies). */
  private toRecord(hex: string, info: Buffer): TorrentRecord | undefined {
    try {
      const m = metainfoFromInfo(info)
      const files = m.files.filter((f) => !f.padding).map((f) => ({ path: f.path.join('/'), size: f.length }))
      return { infoHash: hex, name: m.name, size: m.length, files, source: 'dht', private: m.private, publishedAt: Date.now() }
    } catch {
      return undefined
    }
  }

  /** Write the pending batch (one write at a time; a failed write is reported and dropped, not retried forever). */
  flush(): Promise<void> {
    if (this.writing) return this.writing.then(() => (this.batch.length ? this.flush() : undefined))
    if (this.batch.length === 0) return Promise.resolve()
    const records = this.batch
    this.batch = []
    this.writing = this.o.index.upsert(records)
      .then(() => { this.indexed += records.length })
      .catch((err) => {
        this.indexErrors++
        this.o.onWarning?.(`index write of ${records.length} torrents failed: ${errorMessage(err)}`)
      })
      .finally(() => { this.writing = undefined })
    return this.writing
  }

  /** Stop fetching, drop the queue, write what was fetched. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.flushTimer)
    clearInterval(this.pumpTimer)
    this.queue.clear()
    this.abort.abort()
    await this.flush()
  }
}
