// The mainline DHT (BEP 5) as a peer source: one UDP node that looks up and announces info hashes, and keeps its
// routing table (and node id) in a file so a restart rejoins the network without the public routers.

import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { lookup as dnsLookup } from 'node:dns/promises'
import { isIPv4 } from 'node:net'
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import DHT from 'bittorrent-dht'
import krpcFactory, { type KRPC, type KrpcNode } from 'k-rpc'
import { bdecode, isDict, type BDict } from '../metainfo/bdecode.js'
import { errorMessage } from '../errors.js'
import { parsePeerAddress, peerKey, type PeerAddress } from './peer-address.js'

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
const MAX_SAVED_NODES = 2000
const MAX_SEEN_PER_ROUND = 10_000
const REPLY_NODES = 16 // nodes per find_node/get_peers answer (bittorrent-dht sends its whole table)
const REPLY_PEERS = 50 // peers per get_peers answer (bittorrent-dht sends every stored peer)
const DNS_TIMEOUT = 3_000

export interface DhtNodeOptions {
  /** UDP port; 0 (the default) picks any free port. */
  port?: number
  /** Bind address; default 0.0.0.0. bittorrent-dht speaks IPv4 only. */
  host?: string
  /** host:port list, or false for none; default DEFAULT_DHT_BOOTSTRAP. */
  bootstrap?: string[] | false
  /** JSON file holding our node id and routing table across runs. */
  statePath?: string
  /** A k-rpc instance to share (a crawler sends BEP 51 queries and answers unknown ones on it). */
  krpc?: unknown
  /** Query timeout in ms (k-rpc's default is 2000). */
  timeout?: number
}

interface SavedState {
  id?: Buffer
  nodes: KrpcNode[]
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

  constructor(opts: DhtNodeOptions = {}) {
    super()
    this.opts = opts
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

  get nodeId(): Buffer | undefined {
    return this.krpcInstance?.id
  }

  get port(): number | undefined {
    return this.dhtInstance?.listening ? this.dhtInstance.address().port : undefined
  }

  /** The k-rpc instance (after listen), for BEP 51 and other raw queries. */
  get krpc(): KRPC | undefined {
    return this.krpcInstance
  }

  /** The bittorrent-dht instance (after listen); its 'announce_peer' and 'get_peers' events show what others seek. */
  get dht(): DHT | undefined {
    return this.dhtInstance
  }

  /** A node learned elsewhere (a peer's PORT message, a magnet's x.pe): pinged, then added if it answers. */
  addNode(node: PeerAddress): void {
    if (!isIPv4(node.host) || !(node.port > 0 && node.port < 65536)) return
    this.dhtInstance?.addNode({ host: node.host, port: node.port })
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

  /** Write node id and routing table to statePath (write to a temp file, then rename). */
  async save(): Promise<void> {
    const path = this.opts.statePath
    const krpc = this.krpcInstance
    if (!path || !krpc) return
    const nodes = krpc.nodes.toArray()
      .filter((n) => isIPv4(n.host) && n.port > 0 && n.port < 65536 && n.id?.length === 20)
      .slice(0, MAX_SAVED_NODES)
    // A node that never got an answer (offline start) must not wipe the table it loaded.
    if (nodes.length === 0 && this.loadedNodes > 0) return
    const data = JSON.stringify({
      version: 1,
      id: krpc.id.toString('hex'),
      nodes: nodes.map((n) => ({ id: n.id.toString('hex'), host: n.host, port: n.port })),
    })
    await mkdir(dirname(path), { recursive: true })
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      await writeFile(tmp, data)
      await rename(tmp, path)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
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
      this.warn(`dht: cannot save ${this.opts.statePath}: ${errorMessage(err)}`)
    }
    const dht = this.dhtInstance
    if (dht) await new Promise<void>((resolve) => dht.destroy(() => resolve()))
  }

  private async start(): Promise<number> {
    const state = this.opts.statePath ? await this.loadState(this.opts.statePath) : undefined
    const bootstrap = this.opts.bootstrap === false ? [] : await this.resolveBootstrap(this.opts.bootstrap ?? DEFAULT_DHT_BOOTSTRAP)
    if (this.destroyed) throw new Error('dht destroyed')

    const krpc = (this.opts.krpc as KRPC | undefined) ?? krpcFactory({
      id: state?.id,
      bootstrap,
      timeout: this.opts.timeout,
    })
    this.krpcInstance = krpc
    guardSocket(krpc, (err) => this.warn(err))

    // bittorrent-dht starts its find_node walk on the next tick: the saved nodes must be in the table and the bind
    // requested before that, or the first packets leave from an implicitly bound random port.
    const dht = new DHT({ krpc, maxAge: PEER_TTL })
    this.dhtInstance = dht
    patchReplies(dht)
    dht.on('error', (err: Error) => this.warn(err))
    dht.on('warning', (err: Error) => this.emit('warning', err))
    dht.on('peer', (peer: PeerAddress, infoHash: Buffer) => this.onPeer(peer, infoHash))
    dht.once('ready', () => {
      this.readyFlag = true
      this.emit('ready')
    })
    for (const n of state?.nodes ?? []) dht.addNode(n)
    this.loadedNodes = state?.nodes.length ?? 0

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
      dht.listen(this.opts.port ?? 0, this.opts.host ?? '0.0.0.0')
    }).catch(async (err) => {
      await new Promise<void>((resolve) => dht.destroy(() => resolve()))
      throw err
    })

    if (this.opts.statePath) {
      this.saveTimer = setInterval(() => {
        this.save().catch((err) => this.warn(`dht: cannot save ${this.opts.statePath}: ${errorMessage(err)}`))
      }, SAVE_INTERVAL)
      this.saveTimer.unref()
    }
    if (!this.destroyed) {
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
        this.warn(`dht: announce ${job.hash.toString('hex')}: ${errorMessage(err)}`)
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

  private async loadState(path: string): Promise<SavedState | undefined> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`dht: cannot read ${path}: ${errorMessage(err)}`)
      return undefined
    }
    try {
      const raw = JSON.parse(text) as { id?: unknown; nodes?: unknown }
      const id = typeof raw.id === 'string' && /^[0-9a-f]{40}$/i.test(raw.id) ? Buffer.from(raw.id, 'hex') : undefined
      const nodes: KrpcNode[] = []
      if (Array.isArray(raw.nodes)) {
        for (const n of raw.nodes.slice(0, MAX_SAVED_NODES)) {
          if (typeof n !== 'object' || n === null) continue
          const { id: nid, host, port } = n as Record<string, unknown>
          if (typeof nid !== 'string' || !/^[0-9a-f]{40}$/i.test(nid)) continue
          if (typeof host !== 'string' || !isIPv4(host)) continue
          if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue
          nodes.push({ id: Buffer.from(nid, 'hex'), host, port })
        }
      }
      return { id, nodes }
    } catch (err) {
      this.warn(`dht: ignoring corrupt state file ${path}: ${errorMessage(err)}`)
      return undefined
    }
  }

  // k-rpc would resolve router names itself with dns.lookup, which may pick an IPv6 address for an IPv4-only
  // socket; resolve them to IPv4 once, up front, dropping names that do not resolve.
  private async resolveBootstrap(list: string[]): Promise<Array<{ host: string; port: number }>> {
    const out = await Promise.all(list.map(async (s) => {
      const p = parsePeerAddress(s)
      if (!p) {
        this.warn(`dht: bad bootstrap node ${s}`)
        return undefined
      }
      if (isIPv4(p.host)) return p
      let timer: NodeJS.Timeout | undefined
      try {
        const res = await Promise.race([
          dnsLookup(p.host, { family: 4 }),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('DNS timeout')), DNS_TIMEOUT) }),
        ])
        return { host: res.address, port: p.port }
      } catch (err) {
        this.warn(`dht: bootstrap node ${s}: ${errorMessage(err)}`)
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

const guarded = new WeakSet<object>()

/**
 * bittorrent-dht and k-rpc trust the shape of what arrives: `a.token` as an integer, `a.target` as a string, or
 * `r.id` as an integer in an answer each throw inside the UDP 'message' handler and so crash the process (and a
 * throw half-way through k-rpc-socket leaves a lookup waiting forever). Check the shape first and drop the rest;
 * catch anything that still throws.
 */
function guardSocket(krpc: KRPC, warn: (err: Error) => void): void {
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
function patchReplies(dht: DHT): void {
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
