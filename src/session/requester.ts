// What we ask peers for: interest, keeping each unchoked peer's request pipeline full within the download limit,
// taking blocks as they arrive (endgame cancels), and giving back the requests of a peer that stopped answering.

import { chokedAllowance } from '../wire/fast.js'
import type { Bandwidth } from './bandwidth.js'
import type { Peer } from './peer.js'
import { BLOCK_SIZE, type BlockRequest, type PiecePicker, type PieceProgress } from './picker.js'
import type { RateMeter } from './rate.js'
import { REQUEST_TIMEOUT_MS } from './peer-connection.js'
import { trace, tracing } from './stream-trace.js'
import { Priority } from './priority.js'

export interface RequestHost {
  /** The connected peers (for endgame cancels and handing out a snubbed peer's work). */
  readonly peers: ReadonlyMap<string, Peer>
  /** All blocks of a piece arrived: verify and write it. */
  completed(prog: PieceProgress): void
}

export class Requester {
  /** Set once metadata is known and the existing data checked. */
  picker: PiecePicker | undefined
  /** Bumped whenever the wanted set changes (a piece done, a selection, reader priorities): interest is redone. */
  private wantedVersion = 0
  private readonly pickBuf: BlockRequest[] = []
  /** Peers whose request filling waits for download tokens. */
  private readonly bandwidthWaiting = new Set<Peer>()
  private closed = false

  constructor(
    private readonly host: RequestHost,
    private readonly bandwidth: Bandwidth,
    /** The torrent's download meter (each peer has its own as well). */
    private readonly meter: RateMeter,
  ) {}

  close(): void {
    this.closed = true
  }

  wantedChanged(): void {
    this.wantedVersion++
  }

  /** Be interested in a peer exactly when it has a piece we want. */
  updateInterest(peer: Peer): void {
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

  /** Keep the peer's request pipeline full. */
  fill(peer: Peer): void {
    const p = this.picker
    const wire = peer.wire
    // A peer that chokes us still serves its allowed-fast pieces (BEP 6).
    const allowance = wire.peerChoking ? chokedAllowance(wire) : undefined
    if (!p || (wire.peerChoking && !allowance) || !wire.amInterested || wire.destroyed || (wire as any)._finished || this.closed) return
    const depth = peer.pipelineDepth()
    let room = depth - peer.outstanding.size
    // Refill in batches: one pick per several blocks keeps per-block work small.
    if (room < Math.max(1, depth >> 3)) return
    // Download tokens are taken as blocks are requested: what a peer sends is what we asked for.
    const allowed = this.bandwidth.available()
    const limited = allowed !== Infinity
    if (limited) {
      room = Math.min(room, Math.floor(allowed / BLOCK_SIZE))
      if (room <= 0) return this.waitBandwidth(peer)
    }
    const out = this.pickBuf
    out.length = 0
    const n = p.pick(allowance ? { has: (i) => allowance.has(i) && peer.has(i), outstanding: peer.outstanding } : peer, room, out)
    for (let k = 0; k < n; k++) {
      const req = out[k]
      if (limited) this.bandwidth.consume(req.length)
      if (tracing && p.priority[req.piece] === Priority.now) trace('request written', req.piece, `peer ${peer.key} outstanding ${peer.outstanding.size} depth ${depth}`)
      wire.request(req.piece, req.offset, req.length, (err, buf) => this.onBlock(peer, req, err, buf))
    }
    out.length = 0
    if (n === 0 && peer.outstanding.size === 0 && p.wantedLeft > 0) this.updateInterest(peer)
  }

  /** Every peer, fastest first (so the pieces a reader waits for go to them). */
  fillAll(fastestFirst = false): void {
    const peers = fastestFirst ? [...this.host.peers.values()].sort((a, b) => b.down.rate() - a.down.rate()) : this.host.peers.values()
    for (const peer of peers) {
      this.updateInterest(peer)
      this.fill(peer)
    }
  }

  /** The download limit allows no block now: fill this peer's requests again once it does (one wait per peer). */
  private waitBandwidth(peer: Peer): void {
    if (this.bandwidthWaiting.has(peer)) return
    this.bandwidthWaiting.add(peer)
    void this.bandwidth.wait(BLOCK_SIZE).then(() => {
      this.bandwidthWaiting.delete(peer)
      this.fill(peer)
    })
  }

  private onBlock(peer: Peer, req: BlockRequest, err: Error | null, buf: Uint8Array | undefined): void {
    const p = this.picker
    if (!p || this.closed) return
    const block = err ? undefined : buf
    if (block) {
      peer.down.add(block.length)
      this.meter.add(block.length)
      peer.snubbed = false
    }
    if (tracing && block && p.priority[req.piece] === Priority.now) trace('first block arrived', req.piece)
    const completed = p.requestDone(req, peer, peer.key, block)
    if (tracing && completed) trace('all blocks in', req.piece)
    const prog = req.progress
    // Endgame: someone else still has this block outstanding; cancel theirs.
    const b = req.offset / BLOCK_SIZE
    if (block && prog.requested[b] > 0) {
      const id = req.piece * p.blockStride + b
      for (const other of this.host.peers.values()) {
        if (other !== peer && other.outstanding.has(id)) other.wire.cancel(req.piece, req.offset, req.length)
      }
    }
    if (completed) this.host.completed(prog)
    // A failed request can fail synchronously inside wire.request (choked, closed): refilling from here would recurse.
    if (block && !peer.wire.destroyed) this.fill(peer)
  }

  /** The peer stopped answering in time: give its outstanding blocks back so other peers fetch them. */
  snubbed(peer: Peer): void {
    peer.snubbed = true
    if (!this.picker) return
    for (const r of [...peer.wire.requests]) peer.wire.cancel(r.piece, r.offset, r.length)
    for (const other of this.host.peers.values()) if (other !== peer) this.fill(other)
  }

  /**
   * Once a second per peer: the wire's own timeout restarts whenever any answer arrives, so a request a peer silently
   * dropped would stay outstanding while the peer sends others: cancel requests far older than the timeout. Then
   * redo interest if the wanted set changed, and refill.
   */
  tick(peer: Peer): void {
    const p = this.picker
    if (!p) return
    const stale = Date.now() - 2 * REQUEST_TIMEOUT_MS
    for (const [id, sentAt] of peer.outstanding) {
      if (sentAt > stale) continue
      const piece = Math.floor(id / p.blockStride)
      const offset = (id % p.blockStride) * BLOCK_SIZE
      peer.wire.cancel(piece, offset, Math.min(BLOCK_SIZE, p.pieceSize(piece) - offset))
    }
    if (peer.interestVersion !== this.wantedVersion) this.updateInterest(peer)
    this.fill(peer)
  }
}
