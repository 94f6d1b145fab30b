// One torrent in a Client: metadata -> checking -> downloading -> seeding. Owns its peers, picker, storage,
// trackers and choker. The download path: peers -> picker -> requests -> blocks into memory -> hash once ->
// write -> HAVE to everyone -> resume state.

import { EventEmitter } from 'node:events'
import { createHash } from 'node:crypto'
import type { PeerSocket as Socket } from '../net/utp.js'
import { BtError, ExitCode, errorMessage } from '../errors.js'
import { metainfoFromInfo, pieceHash, type Metainfo } from '../metainfo/metainfo.js'
import type { PeerAddress } from '../discovery/peer-address.js'
import { TrackerClient } from '../discovery/tracker.js'
import { WebSeed } from '../discovery/webseed.js'
import { FileStorage } from '../storage/file-storage.js'
import { checkExisting } from '../storage/check.js'
import type { PeerWire } from '../wire/peer-wire.js'
import { chokedAllowance } from '../wire/fast.js'
import { pexExtension } from '../wire/pex.js'
import { BLOCK_SIZE, PiecePicker, type BlockRequest, type PickPeer, type PieceProgress } from './picker.js'
import type { Peer } from './peer.js'
import { PeerManager, type ConnectionEnds } from './peer-manager.js'
import { attachPeer, dropAvailability, greetPeer, pexBroadcast, pexIntroduce, REQUEST_TIMEOUT_MS, type PeerEvents } from './peer-connection.js'
import { MetadataFetch, METADATA_TRIES } from './metadata-fetch.js'
import { clientName } from './identity.js'
import { Priority, type PriorityHandle } from './priority.js'
import { RateMeter, retuneBucket, type TokenBucket } from './rate.js'
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

const MAX_REQUEST_LENGTH = 128 * 1024
// The request queue we advertise (BEP 10 `reqq`). Transmission refills its requests about once a second and never
// keeps more outstanding than this: at 500 it leeched from us at 8 MB/s at most. libtorrent advertises 2000.
const ADVERTISED_REQQ = 2000
// Past this many queued requests, or this many requested bytes (the advertised queue of 16 KiB blocks, plus room for
// clients that overshoot a little or ask for larger blocks), a peer is dropped as a flood. Only request descriptors
// are queued; block data is read from disk a few at a time (UPLOAD_READS_PER_PEER, UPLOAD_BACKLOG).
const MAX_PEER_QUEUE = ADVERTISED_REQQ + 500
const MAX_QUEUED_BYTES = 2 * ADVERTISED_REQQ * 16 * 1024
// Disk reads in flight for one peer's requests; more would only queue on libuv's pool.
const UPLOAD_READS_PER_PEER = 16
// Bytes sent to a peer but not yet taken by its socket, beyond which we stop reading blocks for it.
const UPLOAD_BACKLOG = 4 * 1024 * 1024
const CHOKE_INTERVAL_MS = 10_000
const OPTIMISTIC_EVERY = 3 // choke rounds
const RESUME_SAVE_MS = 5_000
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
  /** This torrent's own limits (bt serve's per-torrent rates), on top of the Client's; see setLimits(). */
  downloadLimiter?: TokenBucket
  uploadLimiter?: TokenBucket
  /** Peers whose request filling waits for a download limit's tokens. */
  private readonly limitWaiting = new Set<Peer>()
  private trackers?: TrackerClient
  private timers: NodeJS.Timeout[] = []
  private chokeRound = 0
  private resumeDirty = false
  private destroyed = false
  private wantedVersion = 0
  private selected?: boolean[]
  /** Waiters for pieces (streaming reads). */
  private pieceWaiters = new Map<number, Array<{ resolve: () => void; reject: (e: Error) => void }>>()
  /** Block hashes of pieces that failed, to find the peer that lied once the piece verifies (smart ban). */
  private failedBlocks = new Map<number, Map<number, { peer: string; digest: Buffer }>>()
  private stopping?: Promise<void>
  private abort = new AbortController()
  /** Stream mode: the last verified pieces, kept for readers (index -> piece data), oldest first. */
  private readonly recentPieces = new Map<number, Buffer>()
  /** Fetching the info dict of a magnet from peers. */
  private readonly metadata: MetadataFetch
  private webSeeds: Array<{ seed: WebSeed; key: string; peer: PickPeer; hashFailures: number }> = []

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
      canRequest: (peer) => this.fillRequests(peer),
      interested: (peer) => this.onPeerInterested(peer),
      uninterested: (peer) => this.onPeerUninterested(peer),
      snubbed: (peer) => this.onSnubbed(peer),
      request: (peer, index, offset, length, respond) => this.onRequest(peer, index, offset, length, respond),
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
    this.timers.push(setInterval(() => this.tick(), 1000))
    this.timers.push(setInterval(() => this.rechoke(), CHOKE_INTERVAL_MS))
    this.timers.push(setInterval(() => void this.saveResume(), RESUME_SAVE_MS))
    for (const t of this.timers) t.unref()
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
    picker.setHave(have)
    this.picker = picker
    const urls = [...new Set([...m.urlList, ...(this.opts.webSeeds ?? [])])].filter((u) => /^https?:\/\//i.test(u))
    this.webSeeds = urls.map((u) => ({ seed: new WebSeed(u, m), key: `web:${u}`, peer: { has: () => true, outstanding: new Map<number, number>() }, hashFailures: 0 }))
    for (const peer of this.peers.values()) this.onPeerReady(peer)
    this.startTrackers()
    this.emit('ready')
    this.updateDoneState()
    this.serveWebSeeds()
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
    this.wantedVersion++
    this.updateDoneState()
    for (const p of this.peers.values()) this.updateInterest(p)
  }

  /** Per-torrent rate limits in bytes per second (0 or undefined = none beyond the Client's). */
  setLimits(limits: { download?: number; upload?: number }): void {
    if ('download' in limits) this.downloadLimiter = retuneBucket(this.downloadLimiter, limits.download)
    if ('upload' in limits) this.uploadLimiter = retuneBucket(this.uploadLimiter, limits.upload)
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
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    this.downloadLimiter?.destroy()
    this.uploadLimiter?.destroy()
    for (const peer of this.peers.values()) {
      this.ctx.connectionClosed()
      peer.wire.destroy()
    }
    this.peers.clear()
    for (const waiters of this.pieceWaiters.values()) {
      for (const w of waiters) w.reject(new BtError(`${this.name}: torrent was removed`, ExitCode.io))
    }
    this.pieceWaiters.clear()
    this.recentPieces.clear()
    await Promise.allSettled([this.trackers?.stop(), this.saveResume(true)])
    await this.storage?.close().catch(() => {})
    if (this.state !== 'error') this.state = 'stopped'
    this.emit('stopped')
  }

  // --- progress -----------------------------------------------------------------------------------------------

  private bytesLeft(): number {
    const m = this.metainfo
    const p = this.picker
    if (!m || !p) return m?.length ?? 0
    let left = 0
    for (let i = 0; i < m.pieceCount; i++) if (!p.have[i] && p.priority[i] !== Priority.none) left += p.pieceSize(i)
    return left
  }

  stats(): TorrentStats {
    const m = this.metainfo
    const p = this.picker
    let have = 0
    let wanted = 0
    if (m && p) {
      for (let i = 0; i < m.pieceCount; i++) {
        // In stream mode nothing is selected as such: progress is over the whole torrent.
        if (p.basePriority[i] === Priority.none && !this.opts.stream) continue
        const s = p.pieceSize(i)
        wanted += s
        if (p.have[i]) have += s
      }
    }
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
      this.updateInterest(peer)
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
    // What we let a peer queue; MAX_PEER_QUEUE (the disconnect point) leaves room for clients that overshoot a little.
    wire.extendedHandshake.reqq = ADVERTISED_REQQ
    wire.extendedHandshake.p = this.ctx.port()
    wire.extendedHandshake.v = clientName()
    wire.use(this.metadata.extension)
    // Private torrents (BEP 27) get peers from their trackers only. A magnet's privacy is unknown until its
    // metadata arrives; PEX messages received before then are dropped once it says private.
    if (!this.metainfo?.private) {
      wire.use(pexExtension({ onPeers: (peers) => !this.metainfo?.private && this.addPeers(peers) }))
    }
    this.ctx.installExtensions?.(this, wire)
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
  private onPeerReady(peer: Peer, atAttach = false): void {
    const p = this.picker
    if (!p || peer.wire.destroyed) return
    greetPeer(peer, p, this.infoHashBuffer, atAttach)
    this.afterPeerHas(peer)
    if (peer.wire.peerInterested) this.onPeerInterested(peer)
  }

  private afterPeerHas(peer: Peer): void {
    if (!this.picker) return
    this.updateInterest(peer)
    this.fillRequests(peer)
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
    if (!peer.wire.amChoking) this.unchokeSomeone()
  }

  // --- download -----------------------------------------------------------------------------------------------

  private updateInterest(peer: Peer): void {
    const p = this.picker
    if (!p || peer.wire.destroyed) return
    if (peer.interestVersion === this.wantedVersion && peer.wire.amInterested) return
    let interesting = false
    if (p.wantedLeft > 0) {
      for (let i = 0; i < p.pieceCount; i++) {
        if (p.wanted(i) && peer.has(i)) {
          interesting = true
          break
        }
      }
    }
    peer.interestVersion = this.wantedVersion
    if (interesting && !peer.wire.amInterested) peer.wire.interested()
    else if (!interesting && peer.wire.amInterested) peer.wire.uninterested()
  }

  private readonly pickBuf: BlockRequest[] = []

  /** Keep the peer's request pipeline full. */
  fillRequests(peer: Peer): void {
    const p = this.picker
    const wire = peer.wire
    // A peer that chokes us still serves its allowed-fast pieces (BEP 6).
    const allowance = wire.peerChoking ? chokedAllowance(wire) : undefined
    if (!p || (wire.peerChoking && !allowance) || !wire.amInterested || wire.destroyed || (wire as any)._finished || this.destroyed) return
    const depth = peer.pipelineDepth()
    let room = depth - peer.outstanding.size
    // Refill in batches: one pick per several blocks keeps per-block work small.
    if (room < Math.max(1, depth >> 3)) return
    const limiter = this.ctx.downloadLimiter
    const own = this.downloadLimiter
    room = this.roomUnder(own, peer, this.roomUnder(limiter, peer, room))
    if (room <= 0) return
    const out = this.pickBuf
    out.length = 0
    const n = p.pick(allowance ? { has: (i) => allowance.has(i) && peer.has(i), outstanding: peer.outstanding } : peer, room, out)
    for (let k = 0; k < n; k++) {
      const req = out[k]
      limiter?.consume(req.length)
      own?.consume(req.length)
      wire.request(req.piece, req.offset, req.length, (err, buf) => this.onBlock(peer, req, err, buf))
    }
    out.length = 0
    if (n === 0 && peer.outstanding.size === 0 && p.wantedLeft > 0) this.updateInterest(peer)
  }

  /**
   * How many of `room` blocks a download limit (the Client's or this torrent's) allows now. When it allows none,
   * fillRequests runs again for this peer once the bucket has a block's worth (one wait per peer).
   */
  private roomUnder(bucket: TokenBucket | undefined, peer: Peer, room: number): number {
    if (!bucket || room <= 0) return room
    const allowed = Math.floor(bucket.available() / BLOCK_SIZE)
    if (allowed > 0) return Math.min(room, allowed)
    if (!this.limitWaiting.has(peer)) {
      this.limitWaiting.add(peer)
      void bucket.wait(BLOCK_SIZE).then(() => {
        this.limitWaiting.delete(peer)
        this.fillRequests(peer)
      })
    }
    return 0
  }

  private onBlock(peer: Peer, req: BlockRequest, err: Error | null, buf: Uint8Array | undefined): void {
    const p = this.picker
    if (!p || this.destroyed) return
    const block = err ? undefined : buf
    if (block) {
      peer.down.add(block.length)
      this.down.add(block.length)
      peer.snubbed = false
    }
    const completed = p.requestDone(req, peer, peer.key, block)
    const prog = req.progress
    // Endgame: someone else still has this block outstanding; cancel theirs.
    const b = req.offset / BLOCK_SIZE
    if (block && prog.requested[b] > 0) {
      const id = req.piece * p.blockStride + b
      for (const other of this.peers.values()) {
        if (other !== peer && other.outstanding.has(id)) other.wire.cancel(req.piece, req.offset, req.length)
      }
    }
    if (completed) this.verifyPiece(prog)
    // A failed request can fail synchronously inside wire.request (choked, closed): refilling from here would recurse.
    if (block && !peer.wire.destroyed) this.fillRequests(peer)
  }

  private verifyPiece(prog: PieceProgress): void {
    const i = prog.index
    const buf = prog.buf!
    if (!prog.digest().equals(pieceHash(this.metainfo!, i))) return this.onHashFailure(prog)
    this.checkFailedBlocks(i, buf)
    this.storage!.writePiece(i, buf).then(() => this.pieceWritten(prog), (err) => this.fail(err))
  }

  private pieceWritten(prog: PieceProgress): void {
    const i = prog.index
    const p = this.picker!
    if (prog.buf) {
      // Readers usually want a piece the moment it arrives: in stream mode keep the last few verified pieces in
      // memory and serve them from there, without a round trip through the disk thread pool.
      if (this.opts.stream && !this.destroyed) {
        this.recentPieces.set(i, prog.buf)
        if (this.recentPieces.size > RECENT_PIECES) {
          const [oldest, buf] = this.recentPieces.entries().next().value as [number, Buffer]
          this.recentPieces.delete(oldest)
          p.releaseBuffer(buf)
        }
      } else p.releaseBuffer(prog.buf)
    }
    prog.buf = null
    if (this.destroyed) return
    p.pieceDone(i)
    this.resumeDirty = true
    this.wantedVersion++
    for (const peer of this.peers.values()) peer.wire.have(i)
    const waiters = this.pieceWaiters.get(i)
    if (waiters) {
      this.pieceWaiters.delete(i)
      for (const w of waiters) w.resolve()
    }
    this.emit('piece', i)
    this.updateDoneState()
  }

  private onHashFailure(prog: PieceProgress): void {
    const p = this.picker!
    const i = prog.index
    // Keep each block's digest and sender; when the piece later verifies, the sender of a block that differs lied.
    const record = this.failedBlocks.get(i) ?? new Map()
    for (let b = 0; b < prog.blocks; b++) {
      const sender = prog.senders[b]
      if (!sender) continue
      const digest = createHash('sha1').update(prog.buf!.subarray(b * BLOCK_SIZE, b * BLOCK_SIZE + prog.blockLength(b))).digest()
      if (!record.has(b)) record.set(b, { peer: sender, digest })
    }
    this.failedBlocks.set(i, record)
    const contributors = p.pieceFailed(i)
    this.emit('warning', `piece ${i} failed its hash check`)
    // A web seed has no peer id to ban; two failed pieces it helped with and it is not asked again.
    for (const ws of this.webSeeds) {
      if (!contributors.has(ws.key)) continue
      ws.hashFailures++
      if ((contributors.size === 1 || ws.hashFailures >= 2) && !ws.seed.disabled) {
        ws.seed.disabled = true
        this.emit('warning', `web seed ${ws.seed.url} sent data that failed the hash check; not using it`)
      }
    }
    if (contributors.size === 1) {
      this.swarm.banKey([...contributors][0], 'sent data that failed the hash check')
    } else {
      for (const key of contributors) {
        const peer = this.peers.get(key)
        if (peer && ++peer.strikes >= 5) this.swarm.ban(peer, 'too many pieces failed the hash check')
      }
    }
    for (const peer of this.peers.values()) this.fillRequests(peer)
  }

  private checkFailedBlocks(i: number, good: Buffer): void {
    const record = this.failedBlocks.get(i)
    if (!record) return
    this.failedBlocks.delete(i)
    for (const [b, { peer, digest }] of record) {
      const len = Math.min(BLOCK_SIZE, good.length - b * BLOCK_SIZE)
      const actual = createHash('sha1').update(good.subarray(b * BLOCK_SIZE, b * BLOCK_SIZE + len)).digest()
      if (!actual.equals(digest)) {
        this.swarm.banKey(peer, 'sent data that failed the hash check')
      }
    }
  }

  private onSnubbed(peer: Peer): void {
    peer.snubbed = true
    // Give its outstanding blocks back so other peers fetch them.
    const p = this.picker
    if (!p) return
    for (const r of [...peer.wire.requests]) peer.wire.cancel(r.piece, r.offset, r.length)
    for (const other of this.peers.values()) if (other !== peer) this.fillRequests(other)
  }

  // --- web seeds (BEP 19) -------------------------------------------------------------------------------------

  /** Keep each web seed busy with up to two range requests of up to 1 MiB of wanted blocks. */
  private serveWebSeeds(): void {
    const p = this.picker
    if (!p || this.destroyed || p.wantedLeft === 0) return
    const now = Date.now()
    for (const ws of this.webSeeds) {
      const seed = ws.seed
      if (seed.disabled || seed.retryAt > now) continue
      while (seed.busy < 2) {
        const out: BlockRequest[] = []
        // About a piece per request (at least 256 KiB), so peers keep a share of the work.
        if (p.pick(ws.peer, Math.max(16, p.blockStride), out) === 0) break
        // Contiguous runs of blocks become one request each.
        out.sort((a, b) => a.piece - b.piece || a.offset - b.offset)
        let run: BlockRequest[] = []
        const flush = () => {
          if (run.length) this.fetchFromWebSeed(ws, run)
          run = []
        }
        for (const r of out) {
          const last = run[run.length - 1]
          if (last && last.piece * p.pieceLength + last.offset + last.length !== r.piece * p.pieceLength + r.offset) flush()
          run.push(r)
        }
        flush()
      }
    }
  }

  private fetchFromWebSeed(ws: { seed: WebSeed; key: string; peer: PickPeer; hashFailures: number }, run: BlockRequest[]): void {
    const p = this.picker!
    const start = run[0].piece * p.pieceLength + run[0].offset
    const last = run[run.length - 1]
    const end = last.piece * p.pieceLength + last.offset + last.length
    ws.seed.busy++
    ws.seed.fetch(start, end, this.abort.signal).then(
      (data) => {
        ws.seed.busy--
        ws.seed.failures = 0
        if (this.destroyed) return
        this.down.add(data.length)
        for (const r of run) {
          const off = r.piece * p.pieceLength + r.offset - start
          if (p.requestDone(r, ws.peer, ws.key, data.subarray(off, off + r.length))) this.verifyPiece(r.progress)
        }
        this.serveWebSeeds()
      },
      (err) => {
        ws.seed.busy--
        for (const r of run) p.requestDone(r, ws.peer, ws.key, undefined)
        if (this.destroyed) return
        ws.seed.failures++
        ws.seed.retryAt = Date.now() + Math.min(120_000, 5_000 * 2 ** (ws.seed.failures - 1))
        if (ws.seed.failures === 1 || ws.seed.failures >= 5) this.emit('warning', errorMessage(err))
        if (ws.seed.failures >= 5) ws.seed.disabled = true
      },
    )
  }

  // --- upload -------------------------------------------------------------------------------------------------

  private onRequest(peer: Peer, index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void): void {
    const p = this.picker
    if (!p || !this.storage) return respond(new Error('no metadata'))
    if (index >= p.pieceCount || length === 0 || length > MAX_REQUEST_LENGTH || offset + length > p.pieceSize(index)) {
      peer.wire.violation = `bad request ${index}:${offset}+${length}`
      peer.wire.destroy()
      return
    }
    if (peer.wire.peerRequests.length > MAX_PEER_QUEUE || peer.uploadQueue.length > MAX_PEER_QUEUE || peer.uploadQueuedBytes + length > MAX_QUEUED_BYTES) {
      peer.wire.violation = 'request flood'
      peer.wire.destroy()
      return
    }
    if (!p.have[index]) return respond(new Error('piece not available'))
    peer.uploadQueue.push({ index, offset, length, respond })
    peer.uploadQueuedBytes += length
    this.pumpUploads(peer)
  }

  /**
   * Serve a peer's queued requests, a few disk reads at a time. Upload tokens are taken only as a block is actually
   * read and sent, so requests that are cancelled or die with their peer never put the limit in debt.
   */
  private pumpUploads(peer: Peer): void {
    const limiter = this.ctx.uploadLimiter
    while (peer.uploadQueue.length > 0 && peer.uploadsInFlight < UPLOAD_READS_PER_PEER) {
      if (peer.wire.destroyed || this.destroyed) {
        peer.uploadQueue.length = 0
        peer.uploadQueuedBytes = 0
        return
      }
      // A peer that asks but does not read: stop reading blocks for it until its socket drains. Its requests then
      // queue in the wire, and past MAX_PEER_QUEUE the peer is dropped.
      if (peer.wire.backlog + peer.socket.writableLength > UPLOAD_BACKLOG) {
        if (!peer.uploadWaiting) {
          peer.uploadWaiting = true
          peer.socket.once('drain', () => {
            peer.uploadWaiting = false
            this.pumpUploads(peer)
          })
        }
        return
      }
      const req = peer.uploadQueue[0]
      // Wait for one block's worth at most: a request larger than the bucket's burst could otherwise never start.
      const need = Math.min(req.length, BLOCK_SIZE)
      const short = limiter && limiter.available() < need ? limiter : this.uploadLimiter && this.uploadLimiter.available() < need ? this.uploadLimiter : undefined
      if (short) {
        if (!peer.uploadWaiting) {
          peer.uploadWaiting = true
          short.wait(need).then(() => {
            peer.uploadWaiting = false
            this.pumpUploads(peer)
          })
        }
        return
      }
      peer.uploadQueue.shift()
      peer.uploadQueuedBytes -= req.length
      // Cancelled since it was queued (bittorrent-protocol dropped it): don't spend a read or tokens on it.
      if (!peer.wire.peerRequests.some((r) => r.piece === req.index && r.offset === req.offset && r.length === req.length)) continue
      limiter?.consume(req.length)
      this.uploadLimiter?.consume(req.length)
      peer.uploadsInFlight++
      this.storage!.read(req.index, req.offset, req.length).then(
        (buf) => {
          peer.uploadsInFlight--
          if (peer.wire.destroyed) return
          peer.up.add(req.length)
          this.up.add(req.length)
          req.respond(null, buf)
          this.pumpUploads(peer)
        },
        (err) => {
          peer.uploadsInFlight--
          req.respond(err)
          this.pumpUploads(peer)
        },
      )
    }
  }

  private onPeerUninterested(peer: Peer): void {
    if (!peer.wire.amChoking) {
      peer.wire.choke()
      this.unchokeSomeone()
    }
  }

  private onPeerInterested(peer: Peer): void {
    if (!this.picker || !this.ctx.uploadEnabled) return
    if (!peer.wire.amChoking) return
    if (this.unchokedCount() < this.ctx.unchokeSlots) {
      peer.wire.unchoke()
      peer.lastUnchokedAt = Date.now()
    }
  }

  private unchokedCount(): number {
    let n = 0
    for (const peer of this.peers.values()) if (!peer.wire.amChoking) n++
    return n
  }

  private unchokeSomeone(): void {
    if (!this.picker || !this.ctx.uploadEnabled) return
    for (const peer of this.peers.values()) {
      if (this.unchokedCount() >= this.ctx.unchokeSlots) return
      if (peer.wire.amChoking && peer.wire.peerInterested) {
        peer.wire.unchoke()
        peer.lastUnchokedAt = Date.now()
      }
    }
  }

  /**
   * Tit-for-tat: every 10 s unchoke the interested peers that give us the most (downloading) or take the most
   * (seeding: the fastest downloaders spread the data best), plus one optimistic unchoke rotated every 30 s.
   */
  private rechoke(): void {
    if (!this.picker || !this.ctx.uploadEnabled) return
    this.chokeRound++
    const seeding = this.done
    const interested = [...this.peers.values()].filter((p) => p.wire.peerInterested)
    interested.sort((a, b) => (seeding ? b.up.rate() - a.up.rate() : b.down.rate() - a.down.rate()))
    const slots = Math.max(1, this.ctx.unchokeSlots - 1)
    const keep = new Set(interested.slice(0, slots))
    let optimistic = interested.find((p) => p.optimistic && !keep.has(p))
    if (!optimistic || this.chokeRound % OPTIMISTIC_EVERY === 0) {
      const rest = interested.filter((p) => !keep.has(p))
      for (const p of rest) p.optimistic = false
      optimistic = rest.length ? rest[Math.floor(Math.random() * rest.length)] : undefined
      if (optimistic) optimistic.optimistic = true
    }
    if (optimistic) keep.add(optimistic)
    for (const peer of this.peers.values()) {
      if (keep.has(peer)) {
        if (peer.wire.amChoking) {
          peer.wire.unchoke()
          peer.lastUnchokedAt = Date.now()
        }
      } else if (!peer.wire.amChoking) peer.wire.choke()
    }
  }

  // --- periodic -----------------------------------------------------------------------------------------------

  private tick(): void {
    if (this.destroyed) return
    this.trackers?.replan()
    this.swarm.connectMore()
    this.metadata.fill()
    this.serveWebSeeds()
    if (this.picker) {
      const p = this.picker
      p.dropUnwanted()
      // The wire's own timeout restarts whenever any answer arrives, so a request a peer silently dropped would stay
      // outstanding while the peer sends others: cancel requests far older than the timeout.
      const stale = Date.now() - 2 * REQUEST_TIMEOUT_MS
      for (const peer of this.peers.values()) {
        for (const [id, sentAt] of peer.outstanding) {
          if (sentAt > stale) continue
          const piece = Math.floor(id / p.blockStride)
          const offset = (id % p.blockStride) * BLOCK_SIZE
          peer.wire.cancel(piece, offset, Math.min(BLOCK_SIZE, p.pieceSize(piece) - offset))
        }
        if (peer.interestVersion !== this.wantedVersion) this.updateInterest(peer)
        this.fillRequests(peer)
      }
    }
    this.emit('tick')
  }

  // --- streaming: the ReadableTorrent interface (src/stream) ---------------------------------------------------

  hasPiece(i: number): boolean {
    return this.picker?.have[i] === 1
  }

  waitPiece(i: number, signal?: AbortSignal): Promise<void> {
    if (this.hasPiece(i)) return Promise.resolve()
    if (this.destroyed) return Promise.reject(new BtError(`${this.name}: torrent was removed`, ExitCode.io))
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'))
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const l = this.pieceWaiters.get(i)
        const k = l ? l.indexOf(entry) : -1
        if (k >= 0) l!.splice(k, 1)
        if (l && l.length === 0) this.pieceWaiters.delete(i)
        reject(signal!.reason ?? new Error('aborted'))
      }
      const entry = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(e)
        },
      }
      const list = this.pieceWaiters.get(i) ?? []
      list.push(entry)
      this.pieceWaiters.set(i, list)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  readAt(buf: Buffer, position: number): Promise<number> {
    if (!this.storage) return Promise.reject(new BtError('no metadata yet', ExitCode.usage))
    const n = this.readRecent(buf, position)
    if (n >= 0) return Promise.resolve(n)
    return this.storage.readAt(buf, position)
  }

  /** Copy from verified pieces still in memory; -1 unless every byte asked for is there. */
  private readRecent(buf: Buffer, position: number): number {
    const m = this.metainfo
    if (!m || this.recentPieces.size === 0) return -1
    const end = Math.min(m.length, position + buf.length)
    if (end <= position) return -1
    for (let pos = position; pos < end; ) {
      if (!this.recentPieces.has(Math.floor(pos / m.pieceLength))) return -1
      pos = (Math.floor(pos / m.pieceLength) + 1) * m.pieceLength
    }
    for (let pos = position; pos < end; ) {
      const i = Math.floor(pos / m.pieceLength)
      const piece = this.recentPieces.get(i)!
      const from = pos - i * m.pieceLength
      const take = Math.min(end - pos, piece.length - from)
      piece.copy(buf, pos - position, from, from + take)
      pos += take
    }
    return end - position
  }

  createPriorityHandle(): PriorityHandle {
    if (!this.picker) throw new BtError('no metadata yet', ExitCode.usage)
    return this.picker.createHandle(() => {
      this.picker?.dropUnwanted()
      this.wantedVersion++
      // Fastest peers pick first, so the pieces a reader waits for go to them.
      for (const peer of this.peersByRate()) {
        this.updateInterest(peer)
        this.fillRequests(peer)
      }
    })
  }

  private peersByRate(): Peer[] {
    return [...this.peers.values()].sort((a, b) => b.down.rate() - a.down.rate())
  }
}
