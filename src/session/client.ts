// The Client: the listen sockets (dual stack by default) and identity shared by many torrents, the DHT nodes (IPv4,
// and IPv6 per BEP 32), global limits, and the way torrents are added (torrent file, magnet link, or bare info hash)
// and removed.

import { EventEmitter } from 'node:events'
import { BtError, ExitCode, systemReason, systemText } from '../errors.js'
import type { Metainfo } from '../metainfo/metainfo.js'
import type { MagnetLink } from '../metainfo/magnet.js'
import { hostFamily, isLoopbackHost, normalizeHost, parsePeerAddress, type PeerAddress } from '../discovery/peer-address.js'
import { ResumeStore, stateDir } from '../storage/resume.js'
// Type only: the DHT (bittorrent-dht, k-rpc: ~20 ms of start-up) is imported when a Client enables it.
import type { DhtNode, DhtStats } from '../discovery/dht.js'
import { join } from 'node:path'
import { networkInterfaces } from 'node:os'
import { announceIPv6 } from '../discovery/own-address.js'
import { PeerWire, connectWire } from '../wire/peer-wire.js'
import { acceptable, peLevel, SkeyIndex, type EncryptionMode } from '../wire/encryption.js'
import { TokenBucket, retuneBucket } from './rate.js'
import { Torrent, type TorrentOptions } from './torrent.js'
import type { ClientContext } from './context.js'
import { makePeerId } from './identity.js'
import { Ticker } from './ticker.js'
import { capYoungGeneration } from './young-gen.js'
import { listenTransports } from '../net/listen.js'
import { DialPolicy } from '../net/dial-policy.js'
import type { DialTransports } from '../net/dialer.js'
import type { PeerSocket, UtpEndpoint } from '../net/utp.js'
import type net from 'node:net'

export interface ClientOptions {
  /**
   * Keep V8's young generation at its starting size for the rest of the process (saves ~10 MiB of peak RSS on a long
   * download, see young-gen.ts). A process-wide V8 setting: an application embedding the Client can say false.
   * Default true.
   */
  capYoungGeneration?: boolean
  /** Listen port; default 6881, falling back to 6882…6889 and then any free port. 0 = any free port. */
  port?: number
  /** Listen address (default all interfaces). */
  host?: string
  /**
   * Listen addresses, all on one port (overrides host): TCP on each, the IPv4 DHT on the first IPv4 one, the IPv6 DHT
   * on the first IPv6 one. Default: every interface of both families (one dual-stack socket; IPv4 only on a machine
   * without IPv6).
   */
  hosts?: string[]
  /** Bytes per second; 0 or undefined = unlimited. */
  downloadLimit?: number
  uploadLimit?: number
  /** Upload to peers at all (torrentfs --no-upload turns it off). */
  upload?: boolean
  maxPeersPerTorrent?: number
  maxConnections?: number
  /** Concurrent outgoing connection attempts. */
  maxHalfOpen?: number
  unchokeSlots?: number
  /** Where resume state lives (default $XDG_DATA_HOME/bt/resume). */
  resumeDir?: string
  /** Memory for pieces in flight, per torrent (default 16 MiB; at least 4 pieces whatever the piece size). */
  memoryBudget?: number
  /**
   * The DHT (BEP 5, and BEP 32 over IPv6): off unless given. `port` defaults to the listen port (the IPv6 node takes
   * the same port number); `statePath` to $XDG_DATA_HOME/bt/dht.json (the IPv6 node's: dht6.json beside it).
   */
  dht?: false | { port?: number; bootstrap?: string[] | false; statePath?: string }
  /** Protocol encryption (MSE/PE), both directions; default prefer. */
  encryption?: EncryptionMode
  /** uTP (BEP 29) on the listen port's UDP twin, incoming and outgoing; default on (TCP only when utp-native is missing). */
  utp?: boolean
  /** TCP, incoming and outgoing; default on. */
  tcp?: boolean
}

const DEFAULT_PORT = 6881

export class Client extends EventEmitter implements ClientContext {
  readonly peerId: Buffer
  readonly torrents = new Map<string, Torrent>()
  readonly resume: ResumeStore
  readonly maxPeersPerTorrent: number
  readonly maxConnections: number
  readonly unchokeSlots: number
  readonly uploadEnabled: boolean
  readonly memoryBudget: number
  readonly ticker = new Ticker()
  readonly encryption: EncryptionMode
  private readonly skeys = new SkeyIndex()
  dhtEnabled = false
  /** The DHT node, once listen() started it: the IPv4 one, or the IPv6 one when there is no IPv4 node. */
  dht?: DhtNode
  /** The IPv6 DHT node (BEP 32), when listening on IPv6. */
  dht6?: DhtNode
  private readonly dhtJobs = new Map<Torrent, Array<() => void>>()
  // Not readonly: setLimits() swaps them at run time (bt serve's session-set).
  downloadLimiter?: TokenBucket
  uploadLimiter?: TokenBucket
  private readonly servers: net.Server[] = []
  private utp?: UtpEndpoint
  /** How peers are dialled: TCP until listen() opened uTP. */
  transports: DialTransports
  private listenPort = 0
  private halfOpen = 0
  private readonly maxHalfOpen: number
  private connections = 0
  private destroyed = false
  /** Incoming sockets still handshaking (counted against maxConnections; destroy() closes them). */
  private readonly sockets = new Set<PeerSocket>()

  constructor(readonly opts: ClientOptions = {}) {
    super()
    if (opts.capYoungGeneration !== false) capYoungGeneration()
    // Azureus-style peer id with our own client code (see identity.ts).
    this.peerId = makePeerId()
    this.resume = new ResumeStore(opts.resumeDir)
    this.maxPeersPerTorrent = opts.maxPeersPerTorrent ?? 80
    this.maxConnections = opts.maxConnections ?? 400
    this.maxHalfOpen = opts.maxHalfOpen ?? 24
    this.unchokeSlots = opts.unchokeSlots ?? 8
    this.uploadEnabled = opts.upload ?? true
    // 16 MiB: 16 pieces of 1 MiB cover a 1024-block pipeline; 32 MiB cost ~20 MiB of peak RSS on a 1 GiB download
    // at no measured speed gain on loopback (bench/download.js, issue 14).
    this.memoryBudget = opts.memoryBudget ?? 16 * 1024 * 1024
    this.encryption = opts.encryption ?? 'prefer'
    if (opts.downloadLimit) this.downloadLimiter = new TokenBucket(opts.downloadLimit)
    if (opts.uploadLimit) this.uploadLimiter = new TokenBucket(opts.uploadLimit)
    this.transports = { policy: new DialPolicy({ utp: false, tcp: opts.tcp !== false }) }
  }

  port(): number {
    return this.listenPort
  }

  /** Change the global rate limits at run time: bytes per second, 0 or undefined = unlimited. */
  setLimits(limits: { download?: number; upload?: number }): void {
    if ('download' in limits) this.downloadLimiter = retuneBucket(this.downloadLimiter, limits.download)
    if ('upload' in limits) this.uploadLimiter = retuneBucket(this.uploadLimiter, limits.upload)
  }

  /** The addresses to listen on; [undefined] is Node's default (all interfaces, dual stack where possible). */
  private listenHosts(): Array<string | undefined> {
    if (this.opts.hosts?.length) return this.opts.hosts
    return [this.opts.host]
  }

  /** Open the listen sockets: TCP on each address and uTP (UDP, IPv4) on one port number, as enabled. Resolves with the port. */
  async listen(): Promise<number> {
    const wanted = this.opts.port
    const candidates = wanted === undefined ? [...Array.from({ length: 9 }, (_, i) => DEFAULT_PORT + i), 0] : [wanted]
    const tcp = this.opts.tcp !== false
    const l = await listenTransports({
      candidates,
      hosts: this.listenHosts(),
      tcp,
      utp: this.opts.utp !== false,
      onTcp: (socket) => this.onIncoming(socket),
      onUtp: (socket) => this.onIncoming(socket),
      warn: (m) => this.emit('warning', m),
    })
    this.listenPort = l.port
    this.servers.push(...l.servers)
    for (const s of l.servers) s.on('error', (err) => this.emit('warning', `listen socket: ${systemText(err)}`))
    this.utp = l.utp
    this.utp?.on('warning', (m: string) => this.emit('warning', m))
    this.transports = { policy: new DialPolicy({ utp: !!l.utp, tcp }), utp: l.utp }
    try {
      await this.startDht()
    } catch (err) {
      for (const s of this.servers.splice(0)) s.close()
      await this.utp?.close()
      this.utp = undefined
      await Promise.all(this.dhtNodes().map((d) => d.destroy().catch(() => {})))
      this.dht = this.dht6 = undefined
      throw err
    }
    return this.listenPort
  }

  /** Whether uTP is listening (and dialled first). */
  utpEnabled(): boolean {
    return !!this.utp
  }

  /**
   * The DHT nodes: IPv4 on the first IPv4 listen address (or all), IPv6 on the first IPv6 one (or all, when the
   * machine has IPv6). With explicit addresses, a family without one gets no node.
   */
  private async startDht(): Promise<void> {
    const o = this.opts.dht
    if (!o) return
    const { DhtNode } = await import('../discovery/dht.js')
    const statePath = o.statePath ?? join(stateDir(), 'dht.json')
    const explicit = this.listenHosts().filter((h): h is string => h !== undefined)
    const hostOf = (f: 4 | 6) => (explicit.length ? explicit.find((h) => hostFamily(h) === f) : f === 4 ? '0.0.0.0' : '::')
    const path6 = statePath.replace(/(\.json)?$/, (ext) => `6${ext}`)
    // With uTP on the listen port, the IPv4 node shares that UDP socket (libutp takes its packets, the DHT the rest).
    let shared = o.port === undefined && this.utp?.canDial('127.0.0.1') ? this.utp.datagramSocket() : undefined
    // A uTP socket that speaks IPv6 (dual stack, or bound to an IPv6 --bind address) holds the IPv6 port number too:
    // the IPv6 node shares it when it runs on that port.
    const shared6 = o.port === undefined && this.utp?.canDial('::1') ? this.utp.datagramSocket(6) : undefined
    const make = (family: 4 | 6, host: string, port: number): DhtNode => {
      const socket = family === 4 ? shared : port === this.listenPort ? shared6 : undefined
      const node = new DhtNode({ family, port, host, socket, bootstrap: o.bootstrap, statePath: family === 4 ? statePath : path6 })
      node.on('warning', () => {}) // stray packets are normal on the DHT; not worth a user's attention
      return node
    }
    const listen = async (node: DhtNode): Promise<void> => {
      try {
        await node.listen()
      } catch (err) {
        await node.destroy().catch(() => {})
        throw err
      }
    }
    const host4 = hostOf(4)
    const host6 = hostOf(6)
    // Both made and linked before either starts, so the first walks already ask for the other family's nodes.
    let n4 = host4 ? make(4, host4, o.port ?? this.listenPort) : undefined
    let n6 = host6 ? make(6, host6, o.port ?? this.listenPort) : undefined
    if (n4 && n6) n4.link(n6)
    if (n4 && host4) {
      try {
        await listen(n4)
      } catch (err) {
        // The DHT port may be taken while TCP was free: fall back to any port rather than no DHT.
        if (o.port !== undefined) throw new BtError(`cannot open DHT port ${o.port}: ${systemReason((err as NodeJS.ErrnoException).code) ?? (err as Error).message}`, ExitCode.network)
        shared = undefined
        n4 = make(4, host4, 0)
        if (n6) n4.link(n6)
        await listen(n4)
      }
      this.dht = n4
      // The IPv6 node takes the same port number as the IPv4 one (as libtorrent does), wherever that ended up.
      if (n6 && host6 && n4.port !== o.port && n4.port !== this.listenPort) {
        n6 = make(6, host6, n4.port ?? 0)
        n4.link(n6)
      }
    }
    if (n6 && host6) {
      try {
        await listen(n6).catch(async () => {
          n6 = make(6, host6, 0)
          n4?.link(n6)
          await listen(n6)
        })
        this.dht6 = n6
      } catch (err) {
        n4?.link(undefined)
        // No IPv6 on this machine: the IPv4 DHT alone, unless IPv6 was asked for by address.
        if (explicit.length) throw new BtError(`cannot open the IPv6 DHT on ${host6}: ${systemReason((err as NodeJS.ErrnoException).code) ?? (err as Error).message}`, ExitCode.network)
      }
    }
    this.dht ??= this.dht6
    this.dhtEnabled = this.dht !== undefined
  }

  announceIPv6(): string | undefined {
    const v6 = this.servers.some((s) => (s.address() as net.AddressInfo | null)?.family === 'IPv6')
    return announceIPv6(this.listenHosts(), Object.values(networkInterfaces()).flat().filter((a) => a !== undefined), v6)
  }

  /** The running DHT nodes (IPv4 and/or IPv6). */
  dhtNodes(): DhtNode[] {
    return [this.dht, this.dht6].filter((d, i, all): d is DhtNode => d !== undefined && all.indexOf(d) === i)
  }

  isSelf(a: PeerAddress): boolean {
    if (a.port !== this.listenPort) return false
    const host = normalizeHost(a.host)
    return isLoopbackHost(host) || this.listenHosts().some((h) => h !== undefined && normalizeHost(h) === host)
  }

  canDial(): boolean {
    return this.halfOpen < this.maxHalfOpen && this.connections + this.halfOpen < this.maxConnections && !this.destroyed
  }
  dialStarted(): void {
    this.halfOpen++
  }
  dialEnded(): void {
    this.halfOpen--
  }
  connectionOpened(): void {
    this.connections++
  }
  connectionClosed(): void {
    this.connections--
  }

  discover(t: Torrent): void {
    const nodes = this.dhtNodes()
    if (!nodes.length || t.metainfo?.private || this.dhtJobs.has(t)) return
    const onPeers = (peers: PeerAddress[]) => t.addPeers(peers)
    this.dhtJobs.set(t, nodes.flatMap((d) => [d.lookup(t.infoHashBuffer, onPeers), d.announce(t.infoHashBuffer, this.listenPort)]))
  }

  undiscover(t: Torrent): void {
    for (const cancel of this.dhtJobs.get(t) ?? []) cancel()
    this.dhtJobs.delete(t)
  }

  /** Both nodes' figures added up (nodes of both tables, queries of both sockets). */
  dhtStats(): DhtStats | undefined {
    const all = this.dhtNodes().map((d) => d.stats())
    if (!all.length) return undefined
    const sum = { ...all[0] }
    for (const st of all.slice(1)) for (const k of Object.keys(sum) as Array<keyof DhtStats>) sum[k] += st[k]
    return sum
  }

  /** A DHT node a peer told us about (BEP 5 PORT): to the node of its family. */
  dhtNode(host: string, port: number): void {
    const h = normalizeHost(host)
    for (const d of this.dhtNodes()) if (d.family === hostFamily(h)) d.addNode({ host: h, port })
  }

  private onIncoming(socket: PeerSocket): void {
    if (this.destroyed || this.connections + this.halfOpen + this.sockets.size >= this.maxConnections) {
      socket.destroy()
      return
    }
    socket.on('error', () => {})
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    // Any level but 0 accepts a plain handshake too; 'require' refuses it below, once its torrent is known.
    const wire = new PeerWire('tcpIncoming', peLevel(this.encryption))
    wire.on('error', () => {})
    // An encrypted handshake names its torrent by a hash of the info hash; the wire waits until told which.
    wire.once('crypto-infohash', (req2: string) => {
      const ih = this.skeys.find(req2, this.torrents.keys())
      if (ih) (wire as any).setInfoHash(ih)
      else socket.destroy()
    })
    connectWire(socket, wire)
    const timer = setTimeout(() => socket.destroy(), 10_000)
    socket.once('close', () => clearTimeout(timer))
    wire.once('handshake', (infoHash: string) => {
      clearTimeout(timer)
      const t = this.torrents.get(infoHash)
      if (!t || t.state === 'stopped' || t.state === 'error') {
        socket.destroy()
        return
      }
      if (!acceptable(this.encryption, wire)) {
        t.countEnd('encryption')
        socket.destroy()
        return
      }
      // From here the torrent counts it as one of its connections: counted in `sockets` too, each incoming peer
      // took two places under maxConnections.
      this.sockets.delete(socket)
      t.acceptIncoming(wire, socket)
    })
  }

  /** Add a torrent. Starts at once; listen() first so peers can connect back. */
  add(source: Metainfo | MagnetLink | { infoHash: string }, opts: TorrentOptions): Torrent {
    const infoHash = source.infoHash
    const existing = this.torrents.get(infoHash)
    if (existing) return existing
    let t: Torrent
    if ('pieces' in source) t = new Torrent(this, { metainfo: source }, opts)
    else {
      const magnet = source as Partial<MagnetLink>
      const peers = [...(opts.peers ?? []), ...((magnet.peers ?? []).map(parsePeerAddress).filter(Boolean) as PeerAddress[])]
      const trackers = [...(opts.trackers ?? []), ...(magnet.trackers ?? []).map((u) => [u])]
      t = new Torrent(this, { infoHash, name: magnet.name ?? opts.name }, { ...opts, peers, trackers, webSeeds: magnet.webSeeds })
    }
    this.torrents.set(infoHash, t)
    t.once('stopped', () => {
      if (this.torrents.get(infoHash) === t) this.torrents.delete(infoHash)
    })
    this.emit('torrent', t)
    // Started on the next tick, so the caller can listen for 'metadata', 'ready' and the rest first.
    process.nextTick(() => t.start().catch((err) => t.emit('error', err)))
    return t
  }

  async remove(t: Torrent): Promise<void> {
    this.torrents.delete(t.infoHash)
    await t.stop()
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await Promise.allSettled([...this.torrents.values()].map((t) => t.stop()))
    this.ticker.close()
    this.downloadLimiter?.destroy()
    this.uploadLimiter?.destroy()
    for (const s of this.sockets) s.destroy()
    await Promise.all(this.dhtNodes().map((d) => d.destroy().catch(() => {})))
    await this.utp?.close()
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}
