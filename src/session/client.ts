// The Client: one listen socket and identity shared by many torrents, global limits, and the way torrents are
// added (torrent file, magnet link, or bare info hash) and removed.

import { EventEmitter } from 'node:events'
import { BtError, ExitCode, systemReason } from '../errors.js'
import type { Metainfo } from '../metainfo/metainfo.js'
import type { MagnetLink } from '../metainfo/magnet.js'
import { parsePeerAddress, type PeerAddress } from '../discovery/peer-address.js'
import { ResumeStore, stateDir } from '../storage/resume.js'
import { DhtNode, type DhtStats } from '../discovery/dht.js'
import { join } from 'node:path'
import { PeerWire } from '../wire/peer-wire.js'
import { acceptable, peLevel, SkeyIndex, type EncryptionMode } from '../wire/encryption.js'
import { TokenBucket, retuneBucket } from './rate.js'
import { Torrent, type TorrentOptions } from './torrent.js'
import type { ClientContext } from './context.js'
import { makePeerId } from './identity.js'
import { listenTransports } from '../net/listen.js'
import { DialPolicy } from '../net/dial-policy.js'
import type { DialTransports } from '../net/dialer.js'
import type { PeerSocket, UtpEndpoint } from '../net/utp.js'
import type net from 'node:net'

export interface ClientOptions {
  /** Listen port; default 6881, falling back to 6882…6889 and then any free port. 0 = any free port. */
  port?: number
  /** Listen address (default all interfaces). */
  host?: string
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
  /** Memory for pieces in flight, per torrent. */
  memoryBudget?: number
  /** The DHT (BEP 5): off unless given. `port` defaults to the listen port; `statePath` to $XDG_DATA_HOME/bt/dht.json. */
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
  readonly encryption: EncryptionMode
  private readonly skeys = new SkeyIndex()
  dhtEnabled = false
  /** The DHT node, once listen() started it. */
  dht?: DhtNode
  private readonly dhtJobs = new Map<Torrent, Array<() => void>>()
  // Not readonly: setLimits() swaps them at run time (bt serve's session-set).
  downloadLimiter?: TokenBucket
  uploadLimiter?: TokenBucket
  private server?: net.Server
  private utp?: UtpEndpoint
  /** How peers are dialled: TCP until listen() opened uTP. */
  transports: DialTransports
  private listenPort = 0
  private halfOpen = 0
  private readonly maxHalfOpen: number
  private connections = 0
  private destroyed = false
  /** Incoming sockets, so destroy() can close the ones still handshaking. */
  private readonly sockets = new Set<PeerSocket>()
  /** Hooks set by the DHT / extension layers. */
  discoverHook?: (t: Torrent) => void
  extensionHook?: ClientContext['installExtensions']

  constructor(readonly opts: ClientOptions = {}) {
    super()
    // Azureus-style peer id with our own client code (see identity.ts).
    this.peerId = makePeerId()
    this.resume = new ResumeStore(opts.resumeDir)
    this.maxPeersPerTorrent = opts.maxPeersPerTorrent ?? 80
    this.maxConnections = opts.maxConnections ?? 400
    this.maxHalfOpen = opts.maxHalfOpen ?? 24
    this.unchokeSlots = opts.unchokeSlots ?? 8
    this.uploadEnabled = opts.upload ?? true
    this.memoryBudget = opts.memoryBudget ?? 32 * 1024 * 1024
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

  /** Open the listen sockets: TCP and uTP (UDP) on one port number, as enabled. Resolves with the port. */
  async listen(): Promise<number> {
    const wanted = this.opts.port
    const candidates = wanted === undefined ? [...Array.from({ length: 9 }, (_, i) => DEFAULT_PORT + i), 0] : [wanted]
    const tcp = this.opts.tcp !== false
    const l = await listenTransports({
      candidates,
      host: this.opts.host,
      tcp,
      utp: this.opts.utp !== false,
      onTcp: (socket) => this.onIncoming(socket),
      onUtp: (socket) => this.onIncoming(socket),
      warn: (m) => this.emit('warning', m),
    })
    this.listenPort = l.port
    this.server = l.server
    this.server?.on('error', (err) => this.emit('warning', `listen socket: ${err.message}`))
    this.utp = l.utp
    this.utp?.on('warning', (m: string) => this.emit('warning', m))
    this.transports = { policy: new DialPolicy({ utp: !!l.utp, tcp }), utp: l.utp }
    try {
      await this.startDht()
    } catch (err) {
      this.server?.close()
      this.server = undefined
      await this.utp?.close()
      this.utp = undefined
      throw err
    }
    return this.listenPort
  }

  /** Whether uTP is listening (and dialled first). */
  utpEnabled(): boolean {
    return !!this.utp
  }

  private async startDht(): Promise<void> {
    const o = this.opts.dht
    if (!o) return
    // With uTP on the listen port, the DHT shares that UDP socket (libutp takes its packets, the DHT the rest).
    const shared = o.port === undefined && this.utp ? this.utp.datagramSocket() : undefined
    const node = new DhtNode({
      socket: shared,
      port: o.port ?? this.listenPort,
      host: this.opts.host,
      bootstrap: o.bootstrap,
      statePath: o.statePath ?? join(stateDir(), 'dht.json'),
    })
    node.on('warning', () => {}) // stray packets are normal on the DHT; not worth a user's attention
    try {
      await node.listen()
    } catch (err) {
      // The DHT port may be taken while TCP was free: fall back to any port rather than no DHT.
      if (o.port !== undefined) throw new BtError(`cannot open DHT port ${o.port}: ${systemReason((err as NodeJS.ErrnoException).code) ?? (err as Error).message}`, ExitCode.network)
      await node.destroy().catch(() => {})
      const fallback = new DhtNode({ port: 0, host: this.opts.host, bootstrap: o.bootstrap, statePath: o.statePath ?? join(stateDir(), 'dht.json') })
      fallback.on('warning', () => {})
      await fallback.listen()
      this.dht = fallback
      this.dhtEnabled = true
      return
    }
    this.dht = node
    this.dhtEnabled = true
  }

  isSelf(a: PeerAddress): boolean {
    if (a.port !== this.listenPort) return false
    return a.host === '127.0.0.1' || a.host === '::1' || a.host === 'localhost' || a.host === this.opts.host
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
    this.discoverHook?.(t)
    if (!this.dht || t.metainfo?.private || this.dhtJobs.has(t)) return
    const onPeers = (peers: PeerAddress[]) => t.addPeers(peers)
    this.dhtJobs.set(t, [this.dht.lookup(t.infoHashBuffer, onPeers), this.dht.announce(t.infoHashBuffer, this.listenPort)])
  }

  undiscover(t: Torrent): void {
    for (const cancel of this.dhtJobs.get(t) ?? []) cancel()
    this.dhtJobs.delete(t)
  }

  dhtStats(): DhtStats | undefined {
    return this.dht?.stats()
  }

  dhtNode(host: string, port: number): void {
    this.dht?.addNode({ host, port })
  }

  installExtensions(t: Torrent, wire: PeerWire): void {
    this.extensionHook?.(t, wire)
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
    socket.pipe(wire).pipe(socket)
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
    this.downloadLimiter?.destroy()
    this.uploadLimiter?.destroy()
    for (const s of this.sockets) s.destroy()
    await this.dht?.destroy().catch(() => {})
    await this.utp?.close()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}
