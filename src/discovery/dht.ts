// The mainline DHT (BEP 5) as a peer source: one UDP node that looks up and announces info hashes, answers BEP 51
// sample_infohashes, and keeps its node id and the nodes it heard from in a file. On start the saved nodes and the
// bootstrap nodes are tried together, and only nodes that answer enter the routing table. A node speaks one address
// family: the IPv6 DHT (BEP 32) is a second node on a udp6 socket, linked to the IPv4 one so each can answer `want`.

import { EventEmitter } from 'node:events'
import { lookup as dnsLookup } from 'node:dns/promises'
import dgram from 'node:dgram'
import DHT from 'bittorrent-dht'
import krpcFactory, { type KRPC, type KrpcMessage } from 'k-rpc'
import { systemText } from '../errors.js'
import { hostFamily, parsePeerAddress, peerKey, type PeerAddress } from './peer-address.js'
import { guardSocket, wellFormedKrpc } from './dht-guard.js'
import { nodesKey, parseNodes, patchFamily, type Family } from './dht-family.js'
import { formatState, readState, writeState, type SavedNode, type SavedState } from './dht-state.js'
import { Candidates, onePerAddress, type TableNode } from './dht-table.js'
import { SOFT_TIMEOUT, walk, type WalkContact, type WalkHost } from './dht-walk.js'
import { InfoHashSampler, serveSampleInfohashes } from './dht-sample.js'

export { wellFormedKrpc }

export const DEFAULT_DHT_BOOTSTRAP = [
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'dht.libtorrent.org:25401',
]

const LOOKUP_INTERVAL = 5 * 60_000
const ANNOUNCE_INTERVAL = 15 * 60_000 // plus up to another 15 min of jitter
const RETRY_MIN = 5_000 // a round that found nothing (table still empty) retries sooner, doubling up to the interval
const SAVE_INTERVAL = 10 * 60_000
const PEER_TTL = 45 * 60_000 // announced peers live 30..60 min in bittorrent-dht's two-generation cache
const MAX_SEEN_PER_ROUND = 10_000
const DNS_TIMEOUT = 3_000
const PING_PARALLEL = 8 // saved nodes pinged at once on start (beside the walks, which query them too)
const GOOD_FOR = 15 * 60_000 // BEP 5: a node that answered within 15 minutes is good
const SIBLING_HUNGRY_BELOW = 8 // the other family's table is this small: ask for its nodes too (BEP 32 want)
const OFFER_PER_REPLY = 8
const MAX_OFFERED = 512 // other-family addresses handed over per session
const MAX_PENDING_NODES = 64

export interface DhtNodeOptions {
  /** UDP port; 0 (the default) picks any free port. */
  port?: number
  /** Bind address; default 0.0.0.0, or :: for an IPv6 node. */
  host?: string
  /** Address family of the node (its socket, table and saved nodes); default 6 when host is IPv6, else 4. */
  family?: Family
  /** host:port list, or false for none; default DEFAULT_DHT_BOOTSTRAP. Addresses of the other family are skipped. */
  bootstrap?: string[] | false
  /** JSON file holding our node id and routing table across runs. */
  statePath?: string
  /**
   * A bound UDP socket to run on instead of opening one (the uTP endpoint's port, which libutp shares as libtorrent
   * does: uTP packets to libutp, the rest here). `port` and `host` are then ignored.
   */
  socket?: import('node:events').EventEmitter
  /** A k-rpc instance to share (a crawler sends BEP 51 queries and answers unknown ones on it). */
  krpc?: unknown
  /** Query timeout in ms (k-rpc's default is 2000): a node silent this long is evicted. */
  timeout?: number
  /** ms after which a walk stops waiting for a query and sends another (default 500). */
  softTimeout?: number
  /** Answer BEP 51 sample_infohashes (default true; off for a crawler that answers them itself). */
  sampleInfohashes?: boolean
}

/** What the DHT node is doing: for `-v` status lines and --json progress. */
export interface DhtStats {
  /** Nodes in the routing table. */
  nodes: number
  /** Of those, how many answered one of our queries in the last 15 minutes. */
  answering: number
  /** Saved nodes not tried yet this session. */
  candidates: number
  /** Lookups (table walks) running now. */
  lookups: number
  /** Queries waiting for an answer. */
  inflight: number
  /** Totals since start. */
  sent: number
  answers: number
  timeouts: number
  /** Info hashes other nodes announced to us (served to BEP 51 crawlers). */
  stored: number
}

interface LookupJob {
  hash: Buffer
  hex: string
  onPeers: (peers: PeerAddress[]) => void
  timer?: NodeJS.Timeout
  cancelled: boolean
  running: boolean
  seen: Set<string>
  batch: PeerAddress[]
  found: number
  misses: number
}

interface AnnounceJob {
  hash: Buffer
  port: number
  timer?: NodeJS.Timeout
  cancelled: boolean
  running: boolean
  misses: number
}

/**
 * Events: 'ready' (initial table walk done), 'warning' (Error: bad packets, send failures, state file trouble),
 * 'announced' (infoHash: Buffer, nodes: number) after each successful announce round.
 */
export class DhtNode extends EventEmitter {
  private readonly opts: DhtNodeOptions
  private dhtInstance?: DHT
  private krpcInstance?: KRPC
  private starting?: Promise<number>
  private destroyed = false
  private readyFlag = false
  private readonly lookups = new Map<string, Set<LookupJob>>()
  private readonly announces = new Set<AnnounceJob>()
  private saveTimer?: NodeJS.Timeout
  private loadedNodes = 0
  private candidates = new Candidates()
  private routers: Array<{ host: string; port: number }> = []
  private routersAnswered = false
  private answeredThisSession = 0
  private walks = 0
  private counters = { sent: 0, answers: 0, timeouts: 0 }
  private pinging = 0
  private readonly sampler = new InfoHashSampler({ ttl: PEER_TTL })
  readonly family: Family
  /** The node of the other family, whose table answers queries that `want` its nodes. */
  private sibling?: DhtNode
  /** Nodes given to addNode before the socket was up. */
  private pendingNodes: PeerAddress[] = []
  /** Addresses of the other family already handed to the sibling (bounded). */
  private readonly offered = new Set<string>()

  constructor(opts: DhtNodeOptions = {}) {
    super()
    this.opts = opts
    this.family = opts.family ?? (opts.host && hostFamily(opts.host) === 6 ? 6 : 4)
  }

  /**
   * Pair an IPv4 node with an IPv6 one (both ways; undefined unpairs): a query wanting n4 and n6 is then answered
   * from both tables, and each fills the other's table while it is nearly empty. Either may be linked before it listens.
   */
  link(other: DhtNode | undefined): void {
    if (other && other.family === this.family) throw new TypeError('link: both nodes are of the same family')
    if (this.sibling && this.sibling.sibling === this) this.sibling.sibling = undefined
    this.sibling = other
    if (other) other.sibling = this
  }

  /** Binds the UDP socket and starts joining the DHT; resolves with the bound port. */
  listen(): Promise<number> {
    this.starting ??= this.start()
    return this.starting
  }

  /** Resolves once the initial find_node walk is over (immediately useful or not: lookups work before it). */
  ready(): Promise<void> {
    if (this.readyFlag) return Promise.resolve()
    return new Promise((resolve) => this.once('ready', resolve))
  }

  get nodeCount(): number {
    return this.krpcInstance?.nodes.count() ?? 0
  }

  stats(): DhtStats {
    const nodes = (this.krpcInstance?.nodes.toArray() ?? []) as TableNode[]
    const since = Date.now() - GOOD_FOR
    return {
      nodes: nodes.length,
      answering: nodes.filter((n) => (n.answered ?? 0) > since).length,
      candidates: this.candidates.size,
      lookups: this.walks,
      inflight: this.krpcInstance?.socket.inflight ?? 0,
      sent: this.counters.sent,
      answers: this.counters.answers,
      timeouts: this.counters.timeouts,
      stored: this.sampler.num,
    }
  }

  get nodeId(): Buffer | undefined {
    return this.krpcInstance?.id
  }

  get port(): number | undefined {
    return this.dhtInstance?.listening && !this.dhtInstance.destroyed ? this.dhtInstance.address().port : undefined
  }

  /** The k-rpc instance (after listen), for BEP 51 and other raw queries. */
  get krpc(): KRPC | undefined {
    return this.krpcInstance
  }

  /** The bittorrent-dht instance (after listen); its 'announce_peer' and 'get_peers' events show what others seek. */
  get dht(): DHT | undefined {
    return this.dhtInstance
  }

  /**
   * A node learned elsewhere (a peer's PORT message, a magnet's x.pe, the sibling's nodes6/nodes): pinged, then
   * added if it answers. Before listen() is done, kept (a few) until it is.
   */
  addNode(node: PeerAddress): void {
    if (hostFamily(node.host) !== this.family || !(node.port > 0 && node.port < 65536) || this.destroyed) return
    if (this.dhtInstance) this.dhtInstance.addNode({ host: node.host, port: node.port })
    else if (this.pendingNodes.length < MAX_PENDING_NODES) this.pendingNodes.push({ host: node.host, port: node.port })
  }

  lookup(infoHash: Buffer, onPeers: (peers: PeerAddress[]) => void): () => void {
    if (infoHash.length !== 20) throw new TypeError('info hash must be 20 bytes')
    const hex = infoHash.toString('hex')
    const job: LookupJob = {
      hash: Buffer.from(infoHash), hex, onPeers, cancelled: false, running: false,
      seen: new Set(), batch: [], found: 0, misses: 0,
    }
    let set = this.lookups.get(hex)
    if (!set) this.lookups.set(hex, (set = new Set()))
    set.add(job)
    if (this.dhtInstance) this.lookupRound(job)
    return () => {
      job.cancelled = true
      clearTimeout(job.timer)
      const s = this.lookups.get(hex)
      s?.delete(job)
      if (s?.size === 0) this.lookups.delete(hex)
    }
  }

  announce(infoHash: Buffer, port: number): () => void {
    if (infoHash.length !== 20) throw new TypeError('info hash must be 20 bytes')
    const job: AnnounceJob = { hash: Buffer.from(infoHash), port, cancelled: false, running: false, misses: 0 }
    this.announces.add(job)
    if (this.dhtInstance) this.announceRound(job)
    return () => {
      job.cancelled = true
      clearTimeout(job.timer)
      this.announces.delete(job)
    }
  }

  /**
   * Write node id and the nodes that answered (with when) to statePath, plus the saved nodes not tried yet this
   * session; nodes that failed are gone. A session in which nobody answered (offline) leaves the file as it was.
   */
  async save(): Promise<void> {
    const path = this.opts.statePath
    const krpc = this.krpcInstance
    if (!path || !krpc) return
    if (this.answeredThisSession === 0 && this.loadedNodes > 0) return
    const nodes: SavedNode[] = []
    for (const n of krpc.nodes.toArray() as TableNode[]) {
      if (n.answered) nodes.push({ id: n.id, host: n.host, port: n.port, answered: n.answered })
    }
    nodes.push(...this.candidates.values())
    await writeState(path, formatState(krpc.id, nodes, Date.now(), this.family))
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    for (const set of this.lookups.values()) for (const job of set) { job.cancelled = true; clearTimeout(job.timer) }
    this.lookups.clear()
    for (const job of this.announces) { job.cancelled = true; clearTimeout(job.timer) }
    this.announces.clear()
    clearInterval(this.saveTimer)
    if (this.starting) await this.starting.catch(() => {})
    try {
      await this.save()
    } catch (err) {
      this.warn(`dht: cannot save ${this.opts.statePath}: ${systemText(err)}`)
    }
    const dht = this.dhtInstance
    if (dht) await new Promise<void>((resolve) => dht.destroy(() => resolve()))
  }

  private async start(): Promise<number> {
    const state = this.opts.statePath ? this.loadState(this.opts.statePath) : undefined
    const bootstrap = this.opts.bootstrap === false ? [] : await this.resolveBootstrap(this.opts.bootstrap ?? DEFAULT_DHT_BOOTSTRAP)
    if (this.destroyed) throw new Error('dht destroyed')
    this.routers = bootstrap
    this.candidates = new Candidates(state?.nodes ?? [])
    this.loadedNodes = state?.nodes.length ?? 0

    // k-rpc gets no bootstrap list: our walk (installed below in place of k-rpc's) decides when to ask the routers.
    // The IPv4 node may share the uTP endpoint's UDP socket (opts.socket); the IPv6 node has a udp6 socket of its own.
    const socket = (this.opts.socket as any) ?? (this.family === 6 ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : undefined)
    const krpc = (this.opts.krpc as KRPC | undefined) ?? krpcFactory({ id: state?.id, bootstrap: [], timeout: this.opts.timeout, socket })
    this.krpcInstance = krpc
    guardSocket(krpc, (err) => this.warn(err))
    onePerAddress(krpc.nodes)
    this.installWalk(krpc)
    // Registered after k-rpc's own listener, which adds the answering node to the table: stamp it as answering.
    krpc.socket.on('response', (msg: KrpcMessage, rinfo: { address: string; port: number }) => {
      const id = msg.r?.id
      if (!Buffer.isBuffer(id)) return
      const n = krpc.nodes.get(id) as TableNode | null
      if (n && n.host === rinfo.address && n.port === rinfo.port) n.answered = Date.now()
      this.answeredThisSession++
    })
    if (this.opts.sampleInfohashes !== false) serveSampleInfohashes(krpc, this.sampler)

    // bittorrent-dht starts its find_node walk on the next tick: the bind must be requested before that, or the
    // first packets leave from an implicitly bound random port.
    const dht = new DHT({ krpc, maxAge: PEER_TTL })
    this.dhtInstance = dht
    patchFamily(dht, this.family, (f) => (f === this.family ? krpc.nodes : this.sibling?.krpc?.nodes))
    dht.on('error', (err: Error) => this.warn(err))
    dht.on('warning', (err: Error) => this.emit('warning', err))
    dht.on('peer', (peer: PeerAddress, infoHash: Buffer) => this.onPeer(peer, infoHash))
    dht.on('announce', (_peer: PeerAddress, infoHash: Buffer) => this.sampler.add(infoHash))
    dht.once('ready', () => {
      this.readyFlag = true
      this.emit('ready')
    })

    const udp = krpc.socket.socket
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        udp.off('listening', onListening)
        reject(err)
      }
      const onListening = () => {
        udp.off('error', onError)
        resolve()
      }
      udp.once('error', onError)
      udp.once('listening', onListening)
      dht.listen(this.opts.port ?? 0, this.opts.host ?? (this.family === 6 ? '::' : '0.0.0.0'))
    }).catch(async (err) => {
      await new Promise<void>((resolve) => dht.destroy(() => resolve()))
      throw err
    })

    if (this.opts.statePath) {
      this.saveTimer = setInterval(() => {
        this.save().catch((err) => this.warn(`dht: cannot save ${this.opts.statePath}: ${systemText(err)}`))
      }, SAVE_INTERVAL)
      this.saveTimer.unref()
    }
    if (!this.destroyed) {
      for (const n of this.pendingNodes.splice(0)) dht.addNode(n)
      // The first walk queries the saved nodes closest to us; the rest are pinged once it is over, so they do not
      // compete with the lookups a start usually comes with.
      if (this.readyFlag) this.pingCandidates()
      else this.once('ready', () => this.pingCandidates())
      for (const set of this.lookups.values()) for (const job of set) if (!job.timer && !job.running) this.lookupRound(job)
      for (const job of this.announces) if (!job.timer && !job.running) this.announceRound(job)
    }
    return dht.address().port
  }

  private lookupRound(job: LookupJob): void {
    const dht = this.dhtInstance
    if (!dht || job.cancelled || this.destroyed) return
    job.timer = undefined
    job.running = true
    job.seen.clear()
    job.found = 0
    dht.lookup(job.hash, () => {
      job.running = false
      if (job.cancelled || this.destroyed) return
      job.misses = job.found > 0 ? 0 : job.misses + 1
      job.timer = setTimeout(() => this.lookupRound(job), backoff(job.misses, LOOKUP_INTERVAL))
      job.timer.unref()
    })
  }

  private announceRound(job: AnnounceJob): void {
    const dht = this.dhtInstance
    if (!dht || job.cancelled || this.destroyed) return
    job.timer = undefined
    job.running = true
    dht.announce(job.hash, job.port, (err, n) => {
      job.running = false
      if (job.cancelled || this.destroyed) return
      let delay: number
      if (err) {
        job.misses++
        this.warn(`dht: announce ${job.hash.toString('hex')}: ${systemText(err)}`)
        delay = backoff(job.misses, ANNOUNCE_INTERVAL)
      } else {
        job.misses = 0
        this.emit('announced', job.hash, n ?? 0)
        delay = ANNOUNCE_INTERVAL + Math.floor(Math.random() * ANNOUNCE_INTERVAL)
      }
      job.timer = setTimeout(() => this.announceRound(job), delay)
      job.timer.unref()
    })
  }

  // bittorrent-dht reports the peers of every lookup (ours and the ones announce() runs) as one event stream; each
  // reply's peers arrive in one synchronous burst, so a microtask flush hands them over as one array.
  private onPeer(peer: PeerAddress, infoHash: Buffer): void {
    const jobs = this.lookups.get(infoHash.toString('hex'))
    if (!jobs) return
    const key = peerKey(peer)
    for (const job of jobs) {
      if (job.seen.has(key)) continue
      if (job.seen.size < MAX_SEEN_PER_ROUND) job.seen.add(key)
      job.found++
      if (job.batch.push({ host: peer.host, port: peer.port }) === 1) {
        queueMicrotask(() => {
          const peers = job.batch
          job.batch = []
          if (!job.cancelled && peers.length) job.onPeers(peers)
        })
      }
    }
  }

  private loadState(path: string): SavedState | undefined {
    try {
      return readState(path, this.family)
    } catch (err) {
      const corrupt = err instanceof SyntaxError
      this.warn(corrupt ? `dht: ignoring corrupt state file ${path}: ${systemText(err)}` : `dht: cannot read ${path}: ${systemText(err)}`)
      return undefined
    }
  }

  /** Replace k-rpc's table walk (used by bittorrent-dht's lookup, announce and bootstrap) by ours. */
  private installWalk(krpc: KRPC): void {
    const host: WalkHost = {
      id: krpc.id,
      k: krpc.k,
      softTimeout: this.opts.softTimeout ?? SOFT_TIMEOUT,
      family: this.family,
      send: (to, message, cb) => {
        // A walk still running when we close (its soft timers, k-rpc cancelling its queries) must not send.
        if (krpc.destroyed || this.destroyed) return void process.nextTick(() => cb(new Error('dht destroyed'), null))
        // Sent without the id we know the node by, so k-rpc hands us an answer from a new id instead of an error.
        this.candidates.take(to.host, to.port) // tried now: the pinger need not
        this.counters.sent++
        const hungry = this.siblingHungry()
        const msg = hungry ? { q: message.q, a: { ...message.a, want: [Buffer.from('n4'), Buffer.from('n6')] } } : message
        socketOf(krpc).query(to, msg, (err: Error | null, res: KrpcMessage | null) => {
          if (!err) this.counters.answers++
          else if ((err as NodeJS.ErrnoException).code === 'ETIMEDOUT') this.counters.timeouts++
          if (hungry && res?.r) this.offerToSibling(res.r)
          cb(err, res)
        })
      },
      seeds: (target, n) => this.walkSeeds(target, n),
      answered: (c) => {
        // k-rpc's response handler adds the node to the table; onePerAddress drops an older id at that address.
        this.candidates.take(c.host, c.port)
        if (this.routers.some((r) => r.host === c.host && r.port === c.port)) this.routersAnswered = true
      },
      failed: (c) => this.evict(c),
      walkStarted: () => { this.walks++ },
      walkEnded: () => { this.walks-- },
    }
    const k = krpc as unknown as { _closest: (target: Buffer, message: KrpcMessage, background: boolean, visit: Parameters<typeof walk>[3], cb: Parameters<typeof walk>[4]) => void }
    k._closest = (target, message, _background, visit, cb) => {
      if (krpc.destroyed) return process.nextTick(() => cb?.(null, 0))
      walk(host, target, message, visit, cb ?? (() => {}))
    }
  }

  /**
   * Where a walk starts: the closest nodes of the table; while the table is small, also the closest saved nodes not
   * tried yet, and the bootstrap nodes (always on the first walks, until one of them answered).
   */
  private walkSeeds(target: Buffer, n: number): { nodes: WalkContact[]; routers: WalkContact[] } {
    const krpc = this.krpcInstance!
    const nodes: WalkContact[] = krpc.nodes.closest(target, n).map((x) => ({ id: x.id, host: x.host, port: x.port }))
    const small = krpc.nodes.count() < n
    if (small) {
      for (const c of this.candidates.closest(target, n)) nodes.push({ id: c.id, host: c.host, port: c.port, unverified: true })
    }
    const routers = small || !this.routersAnswered ? this.routers.map((r) => ({ host: r.host, port: r.port })) : []
    return { nodes, routers }
  }

  /**
   * BEP 32 bootstrapping across families: while the other family's table is nearly empty (the public routers may
   * not have an address of its family, or this network reaches few of its nodes), our queries `want` n4 and n6, and
   * the other family's nodes in the answers are handed to the sibling node, which pings them and keeps those that
   * answer.
   */
  private siblingHungry(): boolean {
    const s = this.sibling
    return s !== undefined && !s.destroyed && s.nodeCount < SIBLING_HUNGRY_BELOW && this.offered.size < MAX_OFFERED
  }

  private offerToSibling(r: Record<string, unknown>): void {
    const s = this.sibling
    const other: Family = this.family === 4 ? 6 : 4
    const buf = r[nodesKey(other)]
    if (!s || !Buffer.isBuffer(buf)) return
    for (const n of parseNodes(buf, other).slice(0, OFFER_PER_REPLY)) {
      const key = peerKey(n)
      if (this.offered.has(key) || this.offered.size >= MAX_OFFERED) continue
      this.offered.add(key)
      s.addNode(n)
    }
  }

  /** A node that did not answer leaves the table (if the entry at its address is still the one we asked). */
  private evict(c: WalkContact): void {
    if (this.destroyed) return
    this.candidates.take(c.host, c.port)
    const krpc = this.krpcInstance
    if (!krpc) return
    const id = c.id
    const n = id ? krpc.nodes.get(id) : null
    if (n && n.host === c.host && n.port === c.port) krpc.nodes.remove(n.id)
  }

  /** Ping the saved nodes, freshest first, a few at a time: those that answer join the table. */
  private pingCandidates(): void {
    const krpc = this.krpcInstance
    if (!krpc) return
    while (!this.destroyed && !krpc.destroyed && this.pinging < PING_PARALLEL) {
      const c = this.candidates.next()
      if (!c) return
      this.pinging++
      this.counters.sent++
      socketOf(krpc).query({ host: c.host, port: c.port }, { q: 'ping', a: { id: krpc.id } }, (err: Error | null) => {
        this.pinging--
        if (!err) this.counters.answers++
        else if ((err as NodeJS.ErrnoException).code === 'ETIMEDOUT') this.counters.timeouts++
        this.pingCandidates()
      })
    }
  }

  // k-rpc would resolve router names itself with dns.lookup, which may pick an address of the other family; resolve
  // them to our family once, up front, dropping names that do not resolve. Literal addresses of the other family are
  // for the sibling node (one bootstrap list serves both) and are skipped without a word.
  private async resolveBootstrap(list: string[]): Promise<Array<{ host: string; port: number }>> {
    const out = await Promise.all(list.map(async (s) => {
      const p = parsePeerAddress(s)
      if (!p) {
        this.warn(`dht: bad bootstrap node ${s}`)
        return undefined
      }
      const f = hostFamily(p.host)
      if (f === this.family) return p
      if (f !== 0) return undefined
      let timer: NodeJS.Timeout | undefined
      try {
        const res = await Promise.race([
          dnsLookup(p.host, { family: this.family }),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('DNS timeout')), DNS_TIMEOUT) }),
        ])
        return { host: res.address, port: p.port }
      } catch (err) {
        this.warn(`dht: bootstrap node ${s}: ${systemText(err)}`)
        return undefined
      } finally {
        clearTimeout(timer)
      }
    }))
    return out.filter((p): p is PeerAddress => p !== undefined)
  }

  private warn(err: Error | string): void {
    this.emit('warning', typeof err === 'string' ? new Error(err) : err)
  }
}

function backoff(misses: number, max: number): number {
  if (misses === 0) return max
  return Math.min(max, RETRY_MIN * 2 ** Math.min(misses - 1, 10))
}

type QueryCb = (err: Error | null, res: KrpcMessage | null) => void
/** k-rpc-socket's query, which the typings of k-rpc leave out. */
function socketOf(krpc: KRPC): { query(to: { host: string; port: number }, msg: KrpcMessage, cb: QueryCb): number } {
  return krpc.socket as unknown as { query(to: { host: string; port: number }, msg: KrpcMessage, cb: QueryCb): number }
}
