// One torrent in a Client: the state machine (metadata -> checking -> downloading -> seeding) and the wiring of its
// units: PeerManager (addresses, dialing, bans), peer-connection (a peer's messages), Requester (what we ask for),
// Uploader, Choker, WebSeeds, one Bandwidth per direction. The download path: peers -> picker -> requests -> blocks
// into memory -> hash once -> write -> HAVE to everyone -> resume state.

import { EventEmitter } from 'node:events'
import type { PeerSocket as Socket } from '../net/utp.js'
import { BtError, ExitCode, errorMessage } from '../errors.js'
import { metainfoFromInfo, pieceHash, type Metainfo } from '../metainfo/metainfo.js'
import type { PeerAddress } from '../discovery/peer-address.js'
import { TrackerClient } from '../discovery/tracker.js'
import { FileStorage } from '../storage/file-storage.js'
import { checkExisting } from '../storage/check.js'
import type { PeerWire } from '../wire/peer-wire.js'
import { pexExtension } from '../wire/pex.js'
import { PiecePicker, type PieceProgress } from './picker.js'
import type { Peer } from './peer.js'
import { PeerManager, type ConnectionEnds } from './peer-manager.js'
import { attachPeer, dropAvailability, greetPeer, pexBroadcast, pexIntroduce, type PeerEvents } from './peer-connection.js'
import { MetadataFetch, METADATA_TRIES } from './metadata-fetch.js'
import { clientName } from './identity.js'
import { Priority, type PriorityHandle } from './priority.js'
import { RateMeter } from './rate.js'
import { Bandwidth } from './bandwidth.js'
import { Choker } from './choker.js'
import { ADVERTISED_REQQ, Uploader } from './uploader.js'
import { WebSeeds } from './web-seeds.js'
import { Requester } from './requester.js'
import { SmartBan } from './smart-ban.js'
import { preemptForNow } from './preempt.js'
import { trace } from './stream-trace.js'
import { PieceWaiters, RecentPieces } from './piece-waiters.js'
import type { ClientContext } from './context.js'
import type { DhtStats } from '../discovery/dht.js'

export type TorrentState = 'metadata' | 'checking' | 'downloading' | 'seeding' | 'done' | 'stopped' | 'error'

export interface TorrentOptions {
  /** Download directory; the torrent's files go below it. */
  dir: string
  /** File indices to download (default all). */
  select?: number[]
  /** Stream mode: nothing is fetched unless a priority handle (a Reader) asks for it. */
  stream?: boolean
  /** Keep seeding after completion (default: stop and emit done). */
  seed?: boolean
  /** Re-check all existing data instead of trusting resume state. */
  verify?: boolean
  /** Extra trackers (tiers) beyond the torrent's own, e.g. magnet `tr`. */
  trackers?: string[][]
  /** Peers to connect to directly (magnet x.pe, --peer). */
  peers?: PeerAddress[]
  /** Name to show until metadata arrives. */
  name?: string
  /** Web seeds from a magnet (kept in a saved .torrent). */
  webSeeds?: string[]
  /** Stop at metadata: no storage, no download (`bt metainfo MAGNET save`). */
  metadataOnly?: boolean
}

export interface TorrentStats {
  state: TorrentState
  name: string
  infoHash: string
  /** Verified bytes of the selected files' pieces. */
  have: number
  /** Bytes of all selected pieces. */
  wanted: number
  downloaded: number
  uploaded: number
  downloadRate: number
  uploadRate: number
  peers: number
  seeds: number
  knownPeers: number
  /** Why connections ended since the start: peers 0 for minutes has a reason, and this is where it shows. */
  ends: ConnectionEnds
  /** While waiting for a magnet's metadata: what the DHT is doing (absent without DHT). */
  dht?: DhtStats
}

/** The window of a torrent's shown rates. */
export const TORRENT_RATE_WINDOW_MS = 2000

export type { ConnectionEnds } from './peer-manager.js'

// In beats of the Client's 1 s ticker.
const CHOKE_EVERY = 10
const RESUME_SAVE_EVERY = 5
// Verified pieces kept in memory for readers in stream mode.
const RECENT_PIECES = 8

export class Torrent extends EventEmitter {
  readonly infoHash: string
  readonly infoHashBuffer: Buffer
  metainfo?: Metainfo
  state: TorrentState = 'metadata'
  readonly opts: TorrentOptions
  storage?: FileStorage
  picker?: PiecePicker
  readonly peers = new Map<string, Peer>()
  /** Known addresses, dialing, bans. */
  private readonly swarm: PeerManager
  /** What connected peers' messages lead to. */
  private readonly peerEvents: PeerEvents
  // What users read (progress line, API, ETA): a 2 s window follows a change of speed within a couple of seconds.
  // Peers keep the 5 s default, which the choker ranks by.
  readonly down = new RateMeter(TORRENT_RATE_WINDOW_MS)
  readonly up = new RateMeter(TORRENT_RATE_WINDOW_MS)
  /** The Client's limits and this torrent's own (bt serve's per-torrent rates, see setLimits()), one per direction. */
  private readonly downBandwidth: Bandwidth
  private readonly upBandwidth: Bandwidth
  private readonly uploader: Uploader
  /** What we ask peers for. */
  private readonly requests: Requester
  private trackers?: TrackerClient
  /** Leaves the Client's once-a-second ticker. */
  private untick?: () => void
  /** Beats of the ticker so far, offset at random so a thousand torrents do not rechoke in the same second. */
  private beats = Math.floor(Math.random() * CHOKE_EVERY)
  /** Whom we upload to. */
  private readonly choker: Choker<Peer>
  private resumeDirty = false
  private destroyed = false
  private selected?: boolean[]
  /** Waiters for pieces (streaming reads). */
  private readonly pieceWaiters = new PieceWaiters()
  /** Block hashes of pieces that failed, to find the peer that lied once the piece verifies (smart ban). */
  private readonly smartBan = new SmartBan()
  private stopping?: Promise<void>
  private abort = new AbortController()
  /** Stream mode: the last verified pieces, kept for readers (index -> piece data), oldest first. */
  private recentPieces?: RecentPieces
  /**
   * Verified pieces whose write to disk is still pending, by index. Readers waiting on a piece are woken at verify and
   * read from here: a write can queue behind many others (libuv's pool, dirty-page throttling on a fast download),
   * which held a cold Range read's first byte 70 ms to a second after its piece had verified.
   */
  private readonly writing = new Map<number, Buffer>()
  /** Fetching the info dict of a magnet from peers. */
  private readonly metadata: MetadataFetch
  private webSeeds?: WebSeeds

  constructor(
    private readonly ctx: ClientContext,
    source: { metainfo: Metainfo } | { infoHash: string; name?: string },
    opts: TorrentOptions,
  ) {
    super()
    this.opts = opts
    if ('metainfo' in source) {
      this.metainfo = source.metainfo
      this.infoHash = source.metainfo.infoHash
    } else {
      this.infoHash = source.infoHash
    }
    this.infoHashBuffer = Buffer.from(this.infoHash, 'hex')
    this.metadata = new MetadataFetch({
      infoHashBuffer: this.infoHashBuffer,
      info: () => this.metainfo?.infoBuffer,
      peers: () => this.peers.values(),
      peerOf: (wire) => this.peerOf(wire),
      gotInfo: (info) => this.gotMetadata(info),
      warn: (message) => this.emit('warning', message),
    })
    this.downBandwidth = new Bandwidth(() => ctx.downloadLimiter)
    this.upBandwidth = new Bandwidth(() => ctx.uploadLimiter)
    this.uploader = new Uploader(
      {
        pieceCount: () => this.picker!.pieceCount,
        pieceSize: (i) => this.picker!.pieceSize(i),
        have: (i) => this.picker!.have[i] === 1,
        ready: () => !!this.picker && !!this.storage,
        read: (index, offset, length) => this.storage!.read(index, offset, length),
        stopped: () => this.destroyed,
        enabled: () => ctx.uploadEnabled,
      },
      this.upBandwidth,
      this.up,
    )
    this.requests = new Requester({ peers: this.peers, completed: (prog) => this.verifyPiece(prog) }, this.downBandwidth, this.down)
    this.choker = new Choker(() => this.peers.values(), ctx.unchokeSlots, () => !!this.picker && ctx.uploadEnabled, () => this.done)
    this.swarm = new PeerManager(ctx, {
      infoHash: this.infoHash,
      infoHashBuffer: this.infoHashBuffer,
      peers: this.peers,
      wantsPeers: () => !this.destroyed && (!this.done || this.state === 'seeding'),
      prepareWire: (wire) => this.prepareWire(wire),
      attach: (wire, socket, address, key, incoming) => this.attach(wire, socket, address, key, incoming),
      warn: (message) => this.emit('warning', message),
    })
    this.peerEvents = {
      picker: () => this.picker,
      peers: () => this.peers.values(),
      peerHas: (peer) => this.afterPeerHas(peer),
      canRequest: (peer) => this.requests.fill(peer),
      interested: (peer) => this.choker.interested(peer),
      uninterested: (peer) => this.choker.uninterested(peer),
      snubbed: (peer) => this.requests.snubbed(peer),
      request: (peer, index, offset, length, respond, wireRequest) => this.uploader.request(peer, index, offset, length, respond, wireRequest),
      extendedHandshake: (peer) => this.onExtendedHandshake(peer),
      dhtPort: (host, port) => this.ctx.dhtNode?.(host, port),
      closed: (peer) => this.detach(peer),
    }
  }

  private peerOf(wire: PeerWire): Peer | undefined {
    for (const p of this.peers.values()) if (p.wire === wire) return p
    return undefined
  }

  get name(): string {
    return this.metainfo?.name ?? this.opts.name ?? this.infoHash
  }

  get done(): boolean {
    return this.state === 'seeding' || this.state === 'done'
  }

  // --- lifecycle ----------------------------------------------------------------------------------------------

  /** Start: announce, connect, and (once metadata is known) check existing data and download. */
  async start(): Promise<void> {
    if (this.destroyed) return // removed before it started
    this.untick ??= this.ctx.ticker.add(() => this.beat())
    // With metadata, the trackers hear from us once the data is checked, so `started` carries the true `left` (a seed
    // that announced its whole size as left would then report `completed` for a download it never made).
    if (!this.metainfo) this.startTrackers()
    if (this.opts.peers?.length) this.addPeers(this.opts.peers)
    this.ctx.discover?.(this)
    if (this.metainfo) await this.onMetadata(this.metainfo)
    else this.emit('state', this.state)
  }

  private startTrackers(): void {
    if (this.destroyed) return
    const tiers = [...(this.metainfo?.announce ?? []), ...(this.opts.trackers ?? [])].filter((t) => t.length > 0)
    if (tiers.length === 0 || this.trackers) return
    this.trackers = new TrackerClient({
      tiers,
      infoHash: this.infoHashBuffer,
      peerId: this.ctx.peerId,
      port: this.ctx.port(),
      stats: () => ({ uploaded: this.up.total, downloaded: this.down.total, left: this.bytesLeft() }),
      hungry: () => this.wantsLeechers(),
      ipv6: () => this.ctx.announceIPv6?.(),
    })
    this.trackers.on('peers', (peers: PeerAddress[]) => this.addPeers(peers))
    this.trackers.on('warning', (_url: string, message: string) => this.emit('warning', message))
    this.trackers.start()
  }

  /** Metadata is known (from the .torrent or fetched from peers): set up storage and picker, check, go. */
  async onMetadata(m: Metainfo): Promise<void> {
    if (this.picker) return
    if (m.infoHash !== this.infoHash) throw new BtError('metadata does not match the info hash', ExitCode.network)
    this.metainfo = m
    if (m.private) this.ctx.undiscover?.(this)
    trace('metadata known')
    this.emit('metadata', m)
    if (this.opts.metadataOnly) return
    this.selected = this.opts.select
      ? m.files.map((_, i) => this.opts.select!.includes(i))
      : m.files.map(() => true)
    if (this.destroyed) return
    this.storage = new FileStorage(m, this.opts.dir, { selected: this.selected })
    const picker = new PiecePicker(m.pieceCount, m.pieceLength, m.lastPieceLength, { memoryBudget: this.ctx.memoryBudget })
    this.applySelection(picker)
    this.state = 'checking'
    this.emit('state', this.state)
    let have: Uint8Array
    try {
      have = await checkExisting(this.storage, this.ctx.resume, {
        force: this.opts.verify,
        signal: this.abort.signal,
        onProgress: (done, total) => this.emit('checking', done, total),
      })
    } catch (err) {
      if (this.destroyed) return
      return this.fail(err)
    }
    if (this.destroyed) return
    trace('existing data checked')
    picker.setHave(have)
    this.picker = picker
    this.requests.picker = picker
    // Readers usually want a piece the moment it arrives: in stream mode the last few verified pieces stay in memory.
    if (this.opts.stream) this.recentPieces = new RecentPieces(RECENT_PIECES, m.pieceLength, m.length)
    const urls = [...new Set([...m.urlList, ...(this.opts.webSeeds ?? [])])].filter((u) => /^https?:\/\//i.test(u))
    const host = { picker: () => this.picker, completed: (prog: PieceProgress) => this.verifyPiece(prog), stopped: () => this.destroyed, warn: (message: string) => this.emit('warning', message) }
    if (urls.length) this.webSeeds = new WebSeeds(urls, m, host, this.downBandwidth, this.down, this.abort.signal)
    // Peers are greeted (our pieces, our interest) before 'ready' and asked for pieces after it: a listener — a stream
    // request waiting for this torrent — marks the piece it reads first, so a seeder that unchoked us early gets that
    // request first, not a pipeline of rarest-first ones to cancel a moment later.
    const present = [...this.peers.values()]
    for (const peer of present) this.onPeerReady(peer, false, false)
    this.startTrackers()
    this.emit('ready')
    for (const peer of present) if (!this.destroyed && this.peers.get(peer.key) === peer) this.afterPeerHas(peer)
    this.updateDoneState()
    this.webSeeds?.serve()
    if (!this.done) {
      // Stream mode fetches only what Readers ask for; with `seed` it is seed-only (bt seed of partial data).
      this.state = this.opts.stream && this.opts.seed ? 'seeding' : 'downloading'
      this.emit('state', this.state)
    }
    this.tick()
  }

  private applySelection(picker: PiecePicker): void {
    const m = this.metainfo!
    const base = new Uint8Array(m.pieceCount) // Priority.none
    if (!this.opts.stream) {
      m.files.forEach((f, i) => {
        if (!this.selected![i] || f.padding || f.length === 0) return
        base.fill(Priority.normal, Math.floor(f.offset / m.pieceLength), Math.floor((f.offset + f.length - 1) / m.pieceLength) + 1)
      })
    }
    picker.setBasePriorities(base)
  }

  /** Change which files are downloaded. */
  select(files: number[] | undefined): void {
    this.opts.select = files
    if (!this.metainfo || !this.picker) return
    this.selected = this.metainfo.files.map((_, i) => !files || files.includes(i))
    this.storage?.setSelected(this.selected)
    this.applySelection(this.picker)
    this.picker.dropUnwanted()
    this.requests.wantedChanged()
    this.updateDoneState()
    for (const p of this.peers.values()) this.requests.updateInterest(p)
  }

  /** Per-torrent rate limits in bytes per second (0 or undefined = none beyond the Client's). */
  setLimits(limits: { download?: number; upload?: number }): void {
    if ('download' in limits) this.downBandwidth.setRate(limits.download)
    if ('upload' in limits) this.upBandwidth.setRate(limits.upload)
  }

  private fail(err: unknown): void {
    // Once: several writes can fail together (disk full), and a write cut short by stop() is not a failure.
    if (this.destroyed || this.state === 'error') return
    const e = err instanceof BtError ? err : new BtError(errorMessage(err), ExitCode.io)
    this.state = 'error'
    this.emit('error', e)
    void this.stop()
  }

  /** Stop: save resume state, tell trackers, close peers. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    this.destroyed = true
    this.abort.abort()
    this.swarm.close()
    this.ctx.undiscover?.(this)
    this.untick?.()
    this.untick = undefined
    this.downBandwidth.close()
    this.upBandwidth.close()
    for (const peer of this.peers.values()) {
      this.ctx.connectionClosed()
      peer.wire.destroy()
    }
    this.peers.clear()
    this.requests.close()
    this.pieceWaiters.failAll(new BtError(`${this.name}: torrent was removed`, ExitCode.io))
    this.recentPieces?.clear()
    this.writing.clear()
    await Promise.allSettled([this.trackers?.stop(), this.saveResume(true)])
    await this.storage?.close().catch(() => {})
    if (this.state !== 'error') this.state = 'stopped'
    this.emit('stopped')
  }

  // --- progress -----------------------------------------------------------------------------------------------

  private bytesLeft(): number {
    return this.picker ? this.picker.bytesLeft() : this.metainfo?.length ?? 0
  }

  stats(): TorrentStats {
    // In stream mode nothing is selected as such: progress is over the whole torrent.
    const { have, wanted } = this.picker?.progress(!!this.opts.stream) ?? { have: 0, wanted: 0 }
    let seeds = 0
    for (const peer of this.peers.values()) if (peer.seed) seeds++
    return {
      state: this.state,
      name: this.name,
      infoHash: this.infoHash,
      have,
      wanted,
      downloaded: this.down.total,
      uploaded: this.up.total,
      downloadRate: this.down.rate(),
      uploadRate: this.up.rate(),
      peers: this.peers.size,
      seeds,
      knownPeers: this.swarm.known,
      ends: { ...this.swarm.ends },
      dht: this.state === 'metadata' && !this.metainfo?.private ? this.ctx.dhtStats?.() : undefined,
    }
  }

  private updateDoneState(): void {
    const p = this.picker
    if (!p || this.done || this.opts.stream) return
    if (p.wantedLeft > 0) return
    this.state = this.opts.seed ? 'seeding' : 'done'
    void this.saveResume(true)
    this.trackers?.completed()
    this.emit('state', this.state)
    this.emit('done')
    for (const peer of this.peers.values()) {
      this.requests.updateInterest(peer)
      // Two seeds have nothing to say to each other.
      if (peer.seed && p.haveCount === p.pieceCount) peer.wire.destroy()
    }
  }

  private async saveResume(force = false): Promise<void> {
    if (!this.picker || !this.metainfo || (!this.resumeDirty && !force)) return
    this.resumeDirty = false
    try {
      await this.ctx.resume.save(this.metainfo, this.opts.dir, this.picker.have)
    } catch (err) {
      this.emit('warning', `could not save resume state: ${errorMessage(err)}`)
    }
  }

  // --- peers --------------------------------------------------------------------------------------------------

  /** Learn peer addresses from any source; connects as slots allow. */
  addPeers(addrs: PeerAddress[]): void {
    if (!this.destroyed) this.swarm.add(addrs)
  }

  /** A connection the Client ended for this torrent (encryption policy). */
  countEnd(kind: keyof ConnectionEnds): void {
    this.swarm.countEnd(kind)
  }

  /** An incoming connection whose handshake named this torrent (the Client already read it). */
  acceptIncoming(wire: PeerWire, socket: Socket): void {
    this.swarm.accept(wire, socket)
  }

  /** Seeding with nobody to upload to: no peers, or only seeders. The trackers are then asked again sooner. */
  private wantsLeechers(): boolean {
    if (this.state !== 'seeding') return false
    for (const p of this.peers.values()) if (!p.seed) return false
    return true
  }

  private prepareWire(wire: PeerWire): void {
    // What we let a peer queue; the uploader's disconnect point leaves room for clients that overshoot a little.
    wire.extendedHandshake.reqq = ADVERTISED_REQQ
    wire.extendedHandshake.p = this.ctx.port()
    wire.extendedHandshake.v = clientName()
    wire.use(this.metadata.extension)
    // Private torrents (BEP 27) get peers from their trackers only. A magnet's privacy is unknown until its
    // metadata arrives; PEX messages received before then are dropped once it says private.
    if (!this.metainfo?.private) {
      wire.use(pexExtension({ onPeers: (peers) => !this.metainfo?.private && this.addPeers(peers) }))
    }
  }

  /** Verified metadata from a peer (ut_metadata checked its SHA-1). */
  private gotMetadata(info: Buffer): void {
    if (this.metainfo || this.destroyed) return
    let m: Metainfo
    try {
      m = metainfoFromInfo(info, { announce: this.opts.trackers ?? [], urlList: this.opts.webSeeds ?? [] })
    } catch (err) {
      this.emit('warning', errorMessage(err))
      return
    }
    this.onMetadata(m).catch((err) => this.fail(err))
  }

  private attach(wire: PeerWire, socket: Socket, address: PeerAddress, key: string, incoming: boolean): void {
    const peer = attachPeer(wire, socket, address, key, incoming, this.peerEvents)
    this.peers.set(key, peer)
    this.ctx.connectionOpened()
    this.emit('peer', peer)
    this.onPeerReady(peer, true)
  }

  /** Things to do once both the peer is attached and metadata is known. */
  private onPeerReady(peer: Peer, atAttach = false, request = true): void {
    const p = this.picker
    if (!p || peer.wire.destroyed) return
    greetPeer(peer, p, this.infoHashBuffer, atAttach)
    if (request) this.afterPeerHas(peer)
    else this.requests.updateInterest(peer)
    if (peer.wire.peerInterested) this.choker.interested(peer)
  }

  private afterPeerHas(peer: Peer): void {
    if (!this.picker) return
    this.requests.updateInterest(peer)
    this.requests.fill(peer)
    if (peer.seed && this.done && this.picker.haveCount === this.picker.pieceCount) peer.wire.destroy()
  }

  private onExtendedHandshake(peer: Peer): void {
    // Its listen port is known now (BEP 10 `p`); PEX may introduce it and us to each other's peers.
    if (!this.metainfo?.private) {
      pexIntroduce(peer, this.peers.values())
      pexBroadcast(peer, this.peers.values(), false)
    }
    this.metadata.fill()
  }

  private detach(peer: Peer): void {
    if (this.peers.get(peer.key) !== peer) return
    this.peers.delete(peer.key)
    this.metadata.forget(peer.wire)
    this.ctx.connectionClosed()
    if (this.picker) dropAvailability(this.picker, peer)
    // A peer dropped after failing every metadata try is not dialled again at once just to fail again.
    this.swarm.peerGone(peer, !this.metainfo && peer.metadataTries >= METADATA_TRIES ? 30_000 : 5_000)
    if (!this.metainfo?.private) pexBroadcast(peer, this.peers.values(), true)
    this.emit('peer-gone', peer)
    if (!peer.wire.amChoking) this.choker.fill()
  }

  // --- download -----------------------------------------------------------------------------------------------

  private verifyPiece(prog: PieceProgress): void {
    const i = prog.index
    const buf = prog.buf!
    if (!prog.digest().equals(pieceHash(this.metainfo!, i))) return this.onHashFailure(prog)
    trace('verified', i)
    for (const liar of this.smartBan.pieceVerified(i, buf)) this.swarm.banKey(liar, 'sent data that failed the hash check')
    this.writing.set(i, buf)
    this.pieceWaiters.arrived(i)
    this.storage!.writePiece(i, buf).then(() => this.pieceWritten(prog), (err) => this.fail(err))
  }

  private pieceWritten(prog: PieceProgress): void {
    const i = prog.index
    this.writing.delete(i)
    const p = this.picker!
    if (prog.buf) {
      if (this.recentPieces && !this.destroyed) {
        const evicted = this.recentPieces.add(i, prog.buf)
        if (evicted) p.releaseBuffer(evicted)
      } else p.releaseBuffer(prog.buf)
    }
    prog.buf = null
    if (this.destroyed) return
    p.pieceDone(i)
    this.resumeDirty = true
    this.requests.wantedChanged()
    for (const peer of this.peers.values()) peer.wire.have(i)
    trace('written, waiters woken', i)
    this.pieceWaiters.arrived(i)
    this.emit('piece', i)
    this.updateDoneState()
  }

  private onHashFailure(prog: PieceProgress): void {
    const p = this.picker!
    const i = prog.index
    // Each block's digest and sender are kept: when the piece later verifies, the sender of a block that differs lied.
    this.smartBan.pieceFailed(i, prog.buf!, prog.senders)
    const contributors = p.pieceFailed(i)
    this.emit('warning', `piece ${i} failed its hash check`)
    this.webSeeds?.pieceFailed(contributors)
    if (contributors.size === 1) {
      this.swarm.banKey([...contributors][0], 'sent data that failed the hash check')
    } else {
      for (const key of contributors) {
        const peer = this.peers.get(key)
        if (peer && ++peer.strikes >= 5) this.swarm.ban(peer, 'too many pieces failed the hash check')
      }
    }
    for (const peer of this.peers.values()) this.requests.fill(peer)
  }

  // --- periodic -----------------------------------------------------------------------------------------------

  /** Once a second, from the Client's ticker: the tick, and every few beats a rechoke and a resume save. */
  private beat(): void {
    const n = ++this.beats
    this.tick()
    if (n % CHOKE_EVERY === 0) this.choker.rechoke()
    if (n % RESUME_SAVE_EVERY === 0) void this.saveResume()
  }

  private tick(): void {
    if (this.destroyed) return
    this.trackers?.replan()
    this.swarm.connectMore()
    this.metadata.fill()
    this.webSeeds?.serve()
    if (this.picker) {
      const p = this.picker
      p.dropUnwanted()
      for (const peer of this.peers.values()) this.requests.tick(peer)
    }
    this.emit('tick')
  }

  // --- streaming: the ReadableTorrent interface (src/stream) ---------------------------------------------------

  hasPiece(i: number): boolean {
    return this.picker?.have[i] === 1
  }

  waitPiece(i: number, signal?: AbortSignal): Promise<void> {
    if (this.hasPiece(i) || this.writing.has(i)) return Promise.resolve()
    if (this.destroyed) return Promise.reject(new BtError(`${this.name}: torrent was removed`, ExitCode.io))
    return this.pieceWaiters.wait(i, signal)
  }

  readAt(buf: Buffer, position: number): Promise<number> {
    if (!this.storage) return Promise.reject(new BtError('no metadata yet', ExitCode.usage))
    const n = this.recentPieces ? this.recentPieces.read(buf, position) : -1
    if (n >= 0) return Promise.resolve(n)
    if (this.writing.size > 0) {
      // Pieces still being written are not on disk yet: the first one in the range is read from memory if the read
      // starts in it, otherwise the disk is read only up to it (the caller reads the rest again).
      const pl = this.metainfo!.pieceLength
      const first = Math.floor(position / pl)
      const last = Math.floor((position + buf.length - 1) / pl)
      for (let j = first; j <= last; j++) {
        const piece = this.writing.get(j)
        if (!piece) continue
        if (j > first) return this.storage.readAt(buf.subarray(0, j * pl - position), position)
        const from = position - j * pl
        const take = Math.min(buf.length, piece.length - from)
        if (take > 0) return Promise.resolve(piece.copy(buf, 0, from, from + take))
        break
      }
    }
    return this.storage.readAt(buf, position)
  }

  createPriorityHandle(): PriorityHandle {
    if (!this.picker) throw new BtError('no metadata yet', ExitCode.usage)
    return this.picker.createHandle(() => {
      this.picker?.dropUnwanted()
      this.requests.wantedChanged()
      // Fastest peers pick first, so the pieces a reader waits for go to them.
      this.requests.fillAll(true)
      // Pipelines already full: make room for what a reader waits on (preempt.ts).
      if (this.picker) preemptForNow({ picker: this.picker, peers: this.peers.values(), fill: (peer) => this.requests.fill(peer) })
    })
  }
}
