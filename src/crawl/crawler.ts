// The DHT crawler: N identities sharing one flat node table, a global query budget spent each tick on (1) get_peers
// for new info hashes, (2) BEP 51 sample_infohashes to nodes whose interval has passed, (3) find_node to random
// targets while the table has room. New hashes (from samples, and from others' get_peers/announce_peer) pass the
// seen-filter and the index's has(), then go to the MetadataQueue, which fetches, parses and writes them.

import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { errorMessage } from '../errors.js'
import type { IndexWriter } from '../index/types.js'
import { AddressPolicy, isLoopbackIPv4, parseCompactNodes, parseCompactPeers, type Endpoint } from './address.js'
import { CrawlerIdentity } from './identity.js'
import { MetadataQueue } from './metadata-queue.js'
import { NodeTable, randomTarget, type TableNode } from './node-table.js'
import { KeyedWindowLimiter, QueryBucket } from './rate.js'
import { SeenFilter } from './seen-filter.js'
import { Fifo } from './fifo.js'
import { loadCrawlState, saveCrawlState, MAX_SAVED_NODES } from './state.js'
import { SecondWindow, type CrawlStats } from './stats.js'

/** BEP 51 answers fit in a datagram: about 70 samples at most. More than this is a hostile node. */
export const MAX_SAMPLES = 128
const TICK_MS = 100
// Lookups waiting for answers. Only lookups with a query to send are visited each tick (the `ready` queue), so this
// bounds memory, not work: at 6,000 queries/s and a 1 s round trip, 2,048 would cap get_peers at ~2,000/s.
const MAX_ACTIVE_LOOKUPS = 8192
const MAX_QUEUED_LOOKUPS = 20_000
const MAX_PENDING_HAS = 20_000
const HAS_BATCH = 500
const LOOKUP_PARALLEL = 3
const LOOKUP_CANDIDATES = 16
const SAVE_INTERVAL_MS = 5 * 60_000
const MAX_BANNED = 10_000
const PER_NODE_QUERIES = 64
const PER_NODE_WINDOW_MS = 10_000
// Queries in flight at most. The answers to them are what can pile up in the socket's buffer when the process is
// short of CPU: in the bench on a loaded machine, with no such cap, 8 MiB of answers (tens of thousands, 10 s and
// more behind) queued there, so nearly every query timed out before it was read and real hashes never got their
// metadata. A few thousand keeps that backlog well under the query timeout. On the public DHT, where many nodes never
// answer, a query waits 2 s at worst: 512 leave room for the default 250 queries/s even if all of them timed out.
const MIN_INFLIGHT = 512
const MAX_INFLIGHT = 2048
/** Share of the query budget find_node may take while the table grows. */
const GROW_SHARE = 0.25

export interface CrawlerOptions {
  index: IndexWriter
  /** Resolved IPv4 endpoints; loopback ones put the crawler in loopback (test) mode. */
  bootstrap: Endpoint[]
  host?: string
  /** UDP port of the first identity (the others take the next ports); 0 (default) picks free ports. */
  port?: number
  /** DHT identities (distinct ids and ports). Default 1. */
  identities?: number
  /** Queries per second over all identities. Default 250. */
  rate?: number
  /** Queries per second to one IP (not applied to loopback). Default 5. */
  perIpRate?: number
  /** Queries answered per second for one IP. Default 50. */
  incomingPerIpRate?: number
  metadataConcurrency?: number
  metadataTimeoutMs?: number
  /** Records per index write, and the longest a partial batch waits (ms). */
  batchSize?: number
  flushMs?: number
  /** Directory of state.json (ids, nodes) and seen.bloom; none: nothing saved. */
  stateDir?: string
  seenCapacity?: number
  maxNodes?: number
  minSampleIntervalS?: number
  queryTimeoutMs?: number
  /** Keep only nodes whose id's first byte is `index` modulo `count` (one of CrawlerPool's workers). */
  shard?: { index: number; count: number }
}

interface Lookup {
  hash: Buffer
  hex: string
  candidates: Array<{ host: string; port: number; id?: Buffer }>
  asked: Set<string>
  inflight: number
  queries: number
  maxQueries: number
  /** On the ready queue. */
  queued: boolean
}

type SendResult = 'sent' | 'rate' | 'ip' | 'refused'

/** Events: 'warning' (message: string). */
export class Crawler extends EventEmitter {
  readonly policy: AddressPolicy
  readonly table: NodeTable
  private identities: CrawlerIdentity[] = []
  private rr = 0
  private readonly bucket: QueryBucket
  private readonly maxInflight: number
  private readonly perIpOut: KeyedWindowLimiter
  private readonly perNode: KeyedWindowLimiter
  private readonly incoming: KeyedWindowLimiter
  private seen!: SeenFilter
  readonly metadata: MetadataQueue
  private readonly pendingHas = new Fifo<{ hash: Buffer; source?: Endpoint; peer?: Endpoint; via: string }>(MAX_PENDING_HAS)
  private hasRunning = false
  /** For tests: is this address banned as hostile? */
  isBanned(host: string, port: number): boolean {
    return this.banned.has(`${host}:${port}`)
  }

  get ports(): number[] {
    return this.identities.map((i) => i.port)
  }

  get nodeIds(): Buffer[] {
    return this.identities.map((i) => i.id)
  }

  private readonly lookupQueue = new Fifo<{ hash: Buffer; source?: Endpoint; via: string }>(MAX_QUEUED_LOOKUPS)
  private readonly lookups = new Set<Lookup>()
  /** Active lookups that may send a query now (new ones, ones an answer moved on, ones held back by a cap). */
  private readonly ready = new Fifo<Lookup>(2 * MAX_ACTIVE_LOOKUPS)
  private readonly banned = new Set<string>()
  private tickTimer?: NodeJS.Timeout
  private saveTimer?: NodeJS.Timeout
  private indexSizeTimer?: NodeJS.Timeout
  private lastBootstrap = 0
  private growWindowStart = Date.now()
  private growSent = 0
  private growAdded = 0
  private growYield = 1
  private started = 0
  private stopping?: Promise<void>
  private indexSize: number | null = null
  readonly discovered = new SecondWindow()
  readonly fresh = new SecondWindow()
  private duplicates = 0
  private droppedHashes = 0
  private hostileDropped = 0
  private readonly qOut = new SecondWindow()
  private readonly qIn = new SecondWindow()

  constructor(private readonly opts: CrawlerOptions) {
    super()
    this.policy = AddressPolicy.forBootstrap(opts.bootstrap)
    this.table = new NodeTable(opts.maxNodes ?? 20_000, opts.minSampleIntervalS)
    this.bucket = new QueryBucket(opts.rate ?? 250)
    this.maxInflight = Math.max(MIN_INFLIGHT, Math.min(MAX_INFLIGHT, Math.round((opts.rate ?? 250) / 2)))
    this.perIpOut = new KeyedWindowLimiter(opts.perIpRate ?? 5, 1000)
    // Per node (host:port), loopback included: a sample of 20 hashes may be followed by 20 get_peers to its node.
    this.perNode = new KeyedWindowLimiter(PER_NODE_QUERIES, PER_NODE_WINDOW_MS)
    this.incoming = new KeyedWindowLimiter(opts.incomingPerIpRate ?? 50, 1000)
    this.metadata = new MetadataQueue({
      index: opts.index,
      concurrency: opts.metadataConcurrency,
      timeoutMs: opts.metadataTimeoutMs,
      batchSize: opts.batchSize,
      flushMs: opts.flushMs,
      onWarning: (m) => this.warn(m),
    })
  }

  /** Binds the identities, loads saved state, starts crawling; resolves with the bound UDP ports. */
  async start(): Promise<number[]> {
    const dir = this.opts.stateDir
    const state = dir ? await loadCrawlState(join(dir, 'state.json')) : undefined
    const seen = dir ? await SeenFilter.load(join(dir, 'seen.bloom'), { capacity: this.opts.seenCapacity }) : undefined
    this.seen = seen?.filter ?? new SeenFilter({ capacity: this.opts.seenCapacity })
    const n = Math.max(1, this.opts.identities ?? 1)
    const ports: number[] = []
    for (let i = 0; i < n; i++) {
      const ident = new CrawlerIdentity({
        id: state?.ids[i],
        host: this.opts.host ?? '0.0.0.0',
        port: this.opts.port ? this.opts.port + i : 0,
        policy: this.policy,
        table: this.table,
        incomingLimiter: this.incoming,
        timeout: this.opts.queryTimeoutMs ?? 2000,
        onHash: (hash, from, via, peer) => this.onHash(hash, via, from, peer),
        onNode: (id, host, port) => { if (!this.banned.has(`${host}:${port}`) && this.inShard(id)) this.table.add(id, host, port) },
      })
      this.identities.push(ident)
      try {
        ports.push(await ident.listen())
      } catch (err) {
        await this.destroyIdentities()
        throw err
      }
    }
    for (const node of state?.nodes ?? []) if (this.policy.allows(node.host, node.port) && this.inShard(node.id)) this.table.add(node.id, node.host, node.port)
    this.started = Date.now()
    this.tickTimer = setInterval(() => this.tick(), TICK_MS)
    if (dir) {
      this.saveTimer = setInterval(() => { void this.save().catch((err) => this.warn(`cannot save crawl state: ${errorMessage(err)}`)) }, SAVE_INTERVAL_MS)
      this.saveTimer.unref()
    }
    const refreshSize = () => {
      this.opts.index.count().then((c) => { this.indexSize = c }, () => {})
    }
    refreshSize()
    this.indexSizeTimer = setInterval(refreshSize, 10_000)
    this.indexSizeTimer.unref()
    this.tick()
    return ports
  }

  /** Writes the pending batch and the state, closes the sockets. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.tickTimer)
      clearInterval(this.saveTimer)
      clearInterval(this.indexSizeTimer)
      await this.metadata.stop()
      await this.save().catch((err) => this.warn(`cannot save crawl state: ${errorMessage(err)}`))
      await this.destroyIdentities()
    })()
    return this.stopping
  }

  async save(): Promise<void> {
    const dir = this.opts.stateDir
    if (!dir || !this.seen) return
    await saveCrawlState(join(dir, 'state.json'), this.identities.map((i) => i.id), this.table.snapshot(MAX_SAVED_NODES))
    await this.seen.save(join(dir, 'seen.bloom'))
  }

  private async destroyIdentities(): Promise<void> {
    await Promise.all(this.identities.map((i) => i.destroy()))
  }

  private warn(msg: string): void {
    this.emit('warning', msg)
  }

  // ---- intake -------------------------------------------------------------------------------------------------

  private onHash(hash: Buffer, via: string, source?: Endpoint, peer?: Endpoint): void {
    if (this.stopping) return
    this.discovered.add()
    // A hash seen before (say, from the same node's get_peers a moment ago) is skipped, unless this time it comes
    // with a peer that has it: announces are few (answers are capped per IP), and the index check still applies.
    if (!this.seen.add(hash) && !peer) {
      this.duplicates++
      return
    }
    if (!this.pendingHas.push({ hash, source, peer, via })) {
      this.droppedHashes++
      return
    }
    if (this.pendingHas.length >= HAS_BATCH) this.checkIndex()
  }

  /** Ask the index which of the pending hashes it has; the rest are new. One has() in flight at a time. */
  private checkIndex(): void {
    if (this.hasRunning || this.pendingHas.length === 0) return
    const batch = this.pendingHas.take(HAS_BATCH)
    this.hasRunning = true
    this.opts.index.has(batch.map((b) => b.hash.toString('hex'))).then((present) => {
      for (const b of batch) {
        if (present.has(b.hash.toString('hex'))) {
          this.duplicates++
          continue
        }
        this.fresh.add()
        // An announce names a peer that has the torrent: ask it straight away, and look up others too.
        if (b.peer) this.metadata.add(b.hash, [b.peer])
        else if (!this.lookupQueue.push({ hash: b.hash, source: b.source, via: b.via })) this.droppedHashes++
      }
    }, (err) => {
      this.warn(`index has() failed: ${errorMessage(err)}`)
      this.droppedHashes += batch.length
    }).finally(() => {
      this.hasRunning = false
      if (this.pendingHas.length >= HAS_BATCH) this.checkIndex()
    })
  }

  // ---- the query loop -----------------------------------------------------------------------------------------

  private send(to: { host: string; port: number }, q: string, a: Record<string, unknown>, cb: (err: (Error & { code?: unknown }) | null, r?: Record<string, any>) => void): SendResult {
    const key = `${to.host}:${to.port}`
    if (this.banned.has(key) || !this.policy.allows(to.host, to.port)) return 'refused'
    if (this.bucket.available() < 1 || this.inflight() >= this.maxInflight) return 'rate'
    if (!(this.policy.allowLoopback && isLoopbackIPv4(to.host)) && !this.perIpOut.allow(to.host)) return 'ip'
    if (!this.perNode.allow(key)) return 'ip'
    this.bucket.take()
    this.qOut.add()
    const ident = this.identities[this.rr++ % this.identities.length]
    ident.query(to, q, a, (err, r) => {
      if (this.stopping) return
      if (!err && r) this.learn(r, to, q !== 'get_peers' || this.table.size < this.table.maxNodes * 0.9)
      cb(err, r)
    })
    return 'sent'
  }

  /**
   * Every answer: its sender joins the table, the nodes it names are added (they are checked when sampled). The nodes
   * in a get_peers answer are skipped once the table is nearly full: most answers are such lists, and parsing eight
   * nodes into objects per answer only to find them known is wasted work.
   */
  private learn(r: Record<string, any>, from: { host: string; port: number }, nodes: boolean): void {
    const key = `${from.host}:${from.port}`
    if (this.banned.has(key)) return
    if (this.inShard(r.id as Buffer)) this.table.add(r.id as Buffer, from.host, from.port)
    const node = this.table.get(key)
    if (node) this.table.replied(node)
    if (nodes && r.nodes !== undefined) {
      const list = parseCompactNodes(r.nodes, this.policy)
      if (!list) return this.hostile(key)
      for (const n of list) if (this.inShard(n.id) && !this.banned.has(`${n.host}:${n.port}`) && this.table.add(n.id, n.host, n.port)) this.growAdded++
    }
  }

  /** Queries awaiting an answer, all identities. */
  private inflight(): number {
    let n = 0
    for (const i of this.identities) n += i.inflight
    return n
  }

  private inShard(id: Buffer): boolean {
    const s = this.opts.shard
    return !s || s.count <= 1 || id[0] % s.count === s.index
  }

  private hostile(key: string): void {
    this.hostileDropped++
    const node = this.table.get(key)
    if (node) this.table.remove(node)
    if (this.banned.size >= MAX_BANNED) this.banned.clear()
    this.banned.add(key)
  }

  private tick(): void {
    if (this.stopping) return
    const now = Date.now()
    for (const i of this.identities) {
      const c = i.counters
      if (c.queriesIn) { this.qIn.add(c.queriesIn, now); c.queriesIn = 0 }
    }
    this.checkIndex()
    this.sampleBandwidth(now)
    const budget = this.bucket.available(now)
    if (budget < 1) return

    if (this.table.size < 8 && now - this.lastBootstrap > 3000) {
      this.lastBootstrap = now
      for (const b of this.opts.bootstrap) this.send(b, 'find_node', { target: randomTarget() }, () => {})
    }

    // 1. Samples from nodes whose interval has passed (at most half the budget: a burst of due nodes after a
    // restart must not starve the lookups).
    const due = this.table.takeDue(Math.max(0, Math.min(Math.ceil(budget / 2), this.bucket.available() - 1)), now)
    for (const node of due) {
      const res = this.send(node, 'sample_infohashes', { target: randomTarget() }, (err, r) => this.onSample(node, err, r))
      if (res !== 'sent') this.table.release(node, now)
      if (res === 'rate') {
        for (const rest of due.slice(due.indexOf(node) + 1)) this.table.release(rest, now)
        break
      }
    }

    // 2. Lookups: what is left, but for find_node's share. Only lookups with a query to send are visited.
    const growShare = Math.max(1, Math.ceil(((this.opts.rate ?? 250) * GROW_SHARE * TICK_MS * this.growYield) / 1000))
    const growing = this.table.size < this.table.maxNodes * 0.9
    const lookupBudget = this.bucket.available() - (growing ? growShare : 0)
    while (this.lookups.size < MAX_ACTIVE_LOOKUPS && this.lookupQueue.length > 0) {
      const job = this.lookupQueue.shift()!
      const l = this.newLookup(job.hash, job.source, job.via)
      this.lookups.add(l)
      this.makeReady(l)
    }
    let spent = 0
    for (let n = this.ready.length; n > 0 && spent < lookupBudget; n--) {
      const l = this.ready.shift()!
      l.queued = false
      if (!this.lookups.has(l)) continue // it ended (peers found) while it waited here
      const sent = this.advance(l)
      if (sent < 0) break
      spent += sent
    }

    // 3. Grow the table while it has room (a trickle once it is full keeps it fresh).
    // find_node only pays while it brings new nodes: its share shrinks with the yield of the last ten seconds.
    if (now - this.growWindowStart > 10_000) {
      this.growYield = this.growSent > 20 ? Math.min(1, Math.max(0.02, this.growAdded / this.growSent)) : 1
      this.growWindowStart = now
      this.growSent = 0
      this.growAdded = 0
    }
    let grow = growing ? Math.min(growShare, this.bucket.available()) : (Math.random() < 0.1 ? 1 : 0)
    let tries = grow * 2
    while (grow > 0 && tries-- > 0) {
      const node = this.table.random()
      if (!node) break
      const res = this.send(node, 'find_node', { target: randomTarget() }, (err) => {
        if (err && (err as { code?: unknown }).code === 'ETIMEDOUT') this.table.failed(node)
      })
      if (res === 'rate') break
      if (res === 'sent') {
        grow--
        this.growSent++
      }
    }
  }

  private onSample(node: TableNode, err: (Error & { code?: unknown }) | null, r?: Record<string, any>): void {
    if (err) {
      if (err.code === 'ETIMEDOUT') {
        if (!this.table.failed(node)) this.table.scheduleSample(node, undefined)
        return
      }
      if (err.code === 'EBUSY' || err.code === 'ECLOSED') return this.table.release(node)
      // An error answer (204 Method Unknown …): alive, but no BEP 51.
      node.bep51 = false
      this.table.replied(node)
      this.table.scheduleSample(node, undefined)
      return
    }
    if (!r) return
    const samples = r.samples
    const num = r.num
    const interval = r.interval
    if (samples === undefined && num === undefined) {
      node.bep51 = false
      this.table.scheduleSample(node, undefined)
      return
    }
    const count = Buffer.isBuffer(samples) ? samples.length / 20 : -1
    const badNum = num !== undefined && (typeof num !== 'number' || num < 0 || num < count)
    const badInterval = interval !== undefined && (typeof interval !== 'number' || interval < 0)
    if (!Number.isInteger(count) || count < 0 || count > MAX_SAMPLES || badNum || badInterval) {
      this.hostile(node.key)
      return
    }
    node.bep51 = true
    // The node says how long until its sample changes; when we got its whole store (num <= samples), asking again
    // sooner than that is pointless too, so the interval is honoured either way.
    this.table.scheduleSample(node, typeof interval === 'number' ? interval : undefined)
    const from = { host: node.host, port: node.port }
    for (let i = 0; i < count; i++) this.onHash(Buffer.from(samples.subarray(i * 20, i * 20 + 20)), 'sample', from)
  }

  private newLookup(hash: Buffer, source: Endpoint | undefined, via: string): Lookup {
    const l: Lookup = { hash, hex: hash.toString('hex'), candidates: [], asked: new Set(), inflight: 0, queries: 0, maxQueries: 8, queued: false }
    // The node that sampled a hash stores its peers: ask it alone. When it has none (they expired), a full lookup
    // would cost ten queries for one hash among thousands; the hash comes round again in another node's sample.
    if (source && via === 'sample') {
      l.candidates.push(source)
      l.maxQueries = 1
      return l
    }
    for (const n of this.table.closest(hash, 8)) {
      if (!source || n.key !== `${source.host}:${source.port}`) l.candidates.push({ host: n.host, port: n.port, id: n.id })
    }
    return l
  }

  private makeReady(l: Lookup): void {
    if (l.queued) return
    if (this.ready.push(l)) l.queued = true
    else this.lookups.delete(l)
  }

  /** Whether the lookup has a query it may send now. */
  private wantsToSend(l: Lookup): boolean {
    return l.inflight < LOOKUP_PARALLEL && l.queries < l.maxQueries && l.candidates.length > 0
  }

  /** Send what this lookup may send now; returns the queries sent, or -1 when the global budget ran out. A lookup
   * held back by a cap goes back on the ready queue; one that is over is dropped. */
  private advance(l: Lookup): number {
    let sent = 0
    let held: SendResult | undefined
    while (this.wantsToSend(l)) {
      const c = l.candidates[0]
      const key = `${c.host}:${c.port}`
      if (l.asked.has(key)) { l.candidates.shift(); continue }
      const res = this.send(c, 'get_peers', { info_hash: l.hash }, (err, r) => this.onPeers(l, key, err, r))
      if (res === 'rate' || res === 'ip') { held = res; break }
      l.candidates.shift()
      if (res !== 'sent') continue
      l.asked.add(key)
      l.inflight++
      l.queries++
      sent++
    }
    if (held) this.makeReady(l)
    else if (l.inflight === 0) this.lookups.delete(l)
    return held === 'rate' ? -1 : sent
  }

  private onPeers(l: Lookup, key: string, err: Error | null, r?: Record<string, any>): void {
    l.inflight--
    if (!this.lookups.has(l)) return
    if (err || !r) {
      if ((err as { code?: unknown } | null)?.code === 'ETIMEDOUT') {
        const node = this.table.get(key)
        if (node) this.table.failed(node)
      }
    } else if (r.values !== undefined) {
      const peers = parseCompactPeers(r.values, this.policy)
      if (!peers) this.hostile(key)
      else if (peers.length > 0) {
        this.lookups.delete(l)
        this.metadata.add(l.hash, peers)
        return
      }
    } else if (r.nodes !== undefined && l.queries < l.maxQueries) {
      const nodes = parseCompactNodes(r.nodes, this.policy) ?? []
      for (const n of nodes) {
        const k = `${n.host}:${n.port}`
        if (!l.asked.has(k) && !this.banned.has(k)) l.candidates.push(n)
      }
      const d = (id?: Buffer) => (id ? xorDistance(id, l.hash) : Buffer.alloc(20, 0xff))
      l.candidates.sort((a, b) => Buffer.compare(d(a.id), d(b.id)))
      if (l.candidates.length > LOOKUP_CANDIDATES) l.candidates.length = LOOKUP_CANDIDATES
    }
    // Moved on: the next query waits for the next tick's budget. Nothing left to ask: over.
    if (this.wantsToSend(l)) {
      this.makeReady(l)
    } else if (l.inflight === 0) this.lookups.delete(l)
  }

  // ---- stats --------------------------------------------------------------------------------------------------

  stats(): CrawlStats {
    const now = Date.now()
    const m = this.metadata
    this.sampleBandwidth(now)
    let dropped = 0
    for (const i of this.identities) dropped += i.socketCounters.malformed
    const bytesIn = this.lastBytesIn
    const bytesOut = this.lastBytesOut
    return {
      uptimeS: Math.round((now - this.started) / 1000),
      identities: this.identities.length,
      routingTable: this.table.size,
      queriesOutPerS: Math.round(this.qOut.rate(5, now)),
      queriesInPerS: Math.round(this.qIn.rate(5, now)),
      infoHashes: {
        discovered: this.discovered.total,
        new: this.fresh.total,
        newPerMin: this.fresh.last(60, now),
        duplicates: this.duplicates,
        dropped: this.droppedHashes + m.dropped,
      },
      metadata: {
        fetched: m.fetched.total,
        failed: m.failed.total,
        timedOut: m.timedOut.total,
        bad: m.bad.total,
        fetchedPerMin: m.fetched.last(60, now),
        failedPerMin: m.failed.last(60, now),
        timedOutPerMin: m.timedOut.last(60, now),
        queued: m.queued,
        active: m.running,
      },
      lookups: { active: this.lookups.size, queued: this.lookupQueue.length },
      peersContacted: m.peersContacted,
      indexed: m.indexed,
      indexSize: this.indexSize,
      indexErrors: m.indexErrors,
      bytesIn: bytesIn + m.bytes.total,
      bytesOut,
      bandwidthInPerS: Math.round(this.bwIn.rate(5, now) + m.bytes.rate(5, now)),
      bandwidthOutPerS: Math.round(this.bwOut.rate(5, now)),
      hostileDropped: this.hostileDropped + dropped,
      contentTypesLastHour: m.types.counts(now),
      lastNames: [...m.lastNames],
    }
  }

  private sampleBandwidth(now: number): void {
    let bytesIn = 0
    let bytesOut = 0
    for (const i of this.identities) {
      bytesIn += i.socketCounters.bytesIn
      bytesOut += i.socketCounters.bytesOut
    }
    this.bwIn.add(bytesIn - this.lastBytesIn, now)
    this.bwOut.add(bytesOut - this.lastBytesOut, now)
    this.lastBytesIn = bytesIn
    this.lastBytesOut = bytesOut
  }

  private readonly bwIn = new SecondWindow()
  private readonly bwOut = new SecondWindow()
  private lastBytesIn = 0
  private lastBytesOut = 0
}

function xorDistance(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(20)
  for (let i = 0; i < 20; i++) out[i] = a[i] ^ b[i]
  return out
}
