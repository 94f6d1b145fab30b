// Chooses which blocks to request from which peer: priority classes (none < normal < high < readahead < now),
// position order for streaming classes, rarest-first with random ties for the rest, partial pieces first,
// time-critical duplicates for `now` pieces, and endgame duplicates when nothing unrequested is left.
// Pieces being downloaded live in memory (bounded) until complete and verified.

import { createHash, randomBytes, type Hash } from 'node:crypto'
import { Priority, type PriorityHandle } from './priority.js'

export const BLOCK_SIZE = 16 * 1024
// Idle piece buffers kept for reuse once the download no longer needs them (seeding, paused): a few, for the next
// burst. While pieces are still wanted every released buffer is kept (see releaseBuffer).
const FREE_PIECE_BUFFERS = 4

export interface BlockRequest {
  piece: number
  offset: number
  length: number
  /** The piece's progress object; completion and late answers are matched against it. */
  progress: PieceProgress
}

/** What the picker needs to know about one peer. */
export interface PickPeer {
  has(piece: number): boolean
  /** Block ids this peer has requests outstanding for, with when each was sent (never asked twice of one peer). */
  outstanding: Map<number, number>
}

export class PieceProgress {
  readonly blocks: number
  buf: Buffer | null = null
  readonly received: Uint8Array
  /** Outstanding requests per block. */
  readonly requested: Uint8Array
  /** Outstanding requests over all blocks (the sum of `requested`, kept so no pick has to add it up). */
  pending = 0
  /** When the first outstanding request of each block was sent (ms), for time-critical re-requests. */
  readonly requestedAt: Float64Array
  receivedCount = 0
  /** All blocks received; waiting for hash and write. */
  complete = false
  /** Lowest block index that may still be unrequested. */
  cursor = 0
  /** Peers that sent blocks of this piece, to blame on a hash failure. */
  readonly contributors = new Set<string>()
  /** Which peer sent each block (smart ban after a hash failure). */
  readonly senders: (string | undefined)[] = []
  /**
   * SHA-1 fed block by block as blocks arrive in order (they usually do: a piece's blocks are requested in order),
   * so a completed piece is hashed while its data is still in cache and no second pass is needed.
   */
  hash: Hash | null = null
  hashedBlocks = 0
  /** The piece's SHA-1 once complete. */
  digest(): Buffer {
    const h = this.hash ?? createHash('sha1')
    for (let b = this.hashedBlocks; b < this.blocks; b++) h.update(this.buf!.subarray(b * BLOCK_SIZE, b * BLOCK_SIZE + this.blockLength(b)))
    this.hash = null
    this.hashedBlocks = this.blocks
    return h.digest()
  }

  constructor(readonly index: number, readonly length: number) {
    this.blocks = Math.ceil(length / BLOCK_SIZE)
    this.received = new Uint8Array(this.blocks)
    this.requested = new Uint8Array(this.blocks)
    this.requestedAt = new Float64Array(this.blocks)
  }

  blockLength(b: number): number {
    return b === this.blocks - 1 ? this.length - b * BLOCK_SIZE : BLOCK_SIZE
  }
}

interface HandleRanges {
  ranges: ReadonlyArray<{ first: number; last: number; priority: Priority }>
}

export class PiecePicker {
  readonly have: Uint8Array
  readonly availability: Uint16Array
  /** Priority from the file selection (normal or none). */
  readonly basePriority: Uint8Array
  /** Combined priority: max of base and every handle. */
  readonly priority: Uint8Array
  readonly inProgress = new Map<number, PieceProgress>()
  haveCount = 0
  /** Max pieces held in memory at once for normal-priority work; urgent pieces may exceed it. */
  maxInProgress: number
  /** Number of blocks per piece rounded up to a power of two: block id = piece * stride + block. */
  readonly blockStride: number

  private readonly tieBreak: Uint32Array
  private order: Int32Array = new Int32Array(0)
  private orderStart = 0
  private orderDirty = true
  private orderBuiltAt = 0
  private urgent: number[] = []
  private readonly handles = new Map<object, HandleRanges>()
  /** Wanted pieces not yet had (a count, not bytes), kept current for done-ness and endgame. */
  private wantedLeftPieces = 0
  // Running byte totals, so stats() and tracker announces of a thousand idle torrents do not walk every piece each
  // second (bench/scale.js: that walk was the largest idle cost). Recounted only when priorities change.
  /** Bytes of the pieces still wanted (priority above none, not had). */
  private wantedLeftBytes = 0
  /** Bytes of the selected pieces (base priority above none), and how many of them are had. */
  private selectedBytes = 0
  private selectedHaveBytes = 0
  /** Bytes of every piece had. */
  private haveBytes = 0

  constructor(
    readonly pieceCount: number,
    readonly pieceLength: number,
    readonly lastPieceLength: number,
    opts: { memoryBudget?: number } = {},
  ) {
    this.have = new Uint8Array(pieceCount)
    this.availability = new Uint16Array(pieceCount)
    this.basePriority = new Uint8Array(pieceCount).fill(Priority.normal)
    this.priority = new Uint8Array(pieceCount).fill(Priority.normal)
    const rnd = randomBytes(pieceCount * 4)
    this.tieBreak = new Uint32Array(rnd.buffer, rnd.byteOffset, pieceCount)
    this.maxInProgress = Math.max(4, Math.floor((opts.memoryBudget ?? 16 * 1024 * 1024) / pieceLength))
    let stride = 1
    while (stride < Math.ceil(pieceLength / BLOCK_SIZE)) stride *= 2
    this.blockStride = stride
    this.recountWanted()
    this.recountSelected()
  }

  pieceSize(i: number): number {
    return i === this.pieceCount - 1 ? this.lastPieceLength : this.pieceLength
  }

  wanted(i: number): boolean {
    return this.have[i] === 0 && this.priority[i] !== Priority.none
  }

  /** Pieces still wanted (not had, priority above none). */
  get wantedLeft(): number {
    return this.wantedLeftPieces
  }

  /** Bytes of the pieces still wanted (what trackers hear as `left`). */
  bytesLeft(): number {
    return this.wantedLeftBytes
  }

  /** Verified bytes and all bytes of the selected pieces (base priority above none), or of every piece with `all`. */
  progress(all: boolean): { have: number; wanted: number } {
    if (all) return { have: this.haveBytes, wanted: this.totalBytes }
    return { have: this.selectedHaveBytes, wanted: this.selectedBytes }
  }

  private get totalBytes(): number {
    return this.pieceCount === 0 ? 0 : (this.pieceCount - 1) * this.pieceLength + this.lastPieceLength
  }

  private recountWanted(): void {
    let n = 0
    let bytes = 0
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have[i] === 0 && this.priority[i] !== Priority.none) {
        n++
        bytes += this.pieceSize(i)
      }
    }
    this.wantedLeftPieces = n
    this.wantedLeftBytes = bytes
  }

  private recountSelected(): void {
    let sel = 0
    let selHave = 0
    let have = 0
    for (let i = 0; i < this.pieceCount; i++) {
      const s = this.pieceSize(i)
      if (this.have[i]) have += s
      if (this.basePriority[i] === Priority.none) continue
      sel += s
      if (this.have[i]) selHave += s
    }
    this.selectedBytes = sel
    this.selectedHaveBytes = selHave
    this.haveBytes = have
  }

  // --- availability -------------------------------------------------------------------------------------------

  peerHasAll(delta: 1 | -1): void {
    const a = this.availability
    for (let i = 0; i < a.length; i++) a[i] = Math.max(0, Math.min(65535, a[i] + delta))
    this.orderDirty = true
  }

  peerBitfield(has: (i: number) => boolean, delta: 1 | -1): void {
    const a = this.availability
    for (let i = 0; i < a.length; i++) if (has(i)) a[i] = Math.max(0, Math.min(65535, a[i] + delta))
    this.orderDirty = true
  }

  peerHave(i: number): void {
    if (i < this.pieceCount && this.availability[i] < 65535) {
      this.availability[i]++
      this.orderDirty = true
    }
  }

  // --- priorities ---------------------------------------------------------------------------------------------

  /** Replace the base priorities (file selection) of every piece. */
  setBasePriorities(base: Uint8Array): void {
    this.basePriority.set(base)
    this.recountSelected()
    this.recomputePriority()
  }

  createHandle(onChange: () => void): PriorityHandle {
    const key = {}
    return {
      set: (ranges) => {
        this.handles.set(key, { ranges })
        this.recomputePriority()
        onChange()
      },
      release: () => {
        if (this.handles.delete(key)) {
          this.recomputePriority()
          onChange()
        }
      },
    }
  }

  private recomputePriority(): void {
    this.priority.set(this.basePriority)
    for (const { ranges } of this.handles.values()) {
      for (const r of ranges) {
        const last = Math.min(r.last, this.pieceCount - 1)
        for (let i = Math.max(0, r.first); i <= last; i++) if (this.priority[i] < r.priority) this.priority[i] = r.priority
      }
    }
    const urgent: number[] = []
    for (const { ranges } of this.handles.values()) {
      for (const r of ranges) {
        if (r.priority <= Priority.normal) continue
        const last = Math.min(r.last, this.pieceCount - 1)
        for (let i = Math.max(0, r.first); i <= last; i++) if (this.have[i] === 0) urgent.push(i)
      }
    }
    // Highest class first, then position; duplicates from overlapping handles removed.
    urgent.sort((a, b) => this.priority[b] - this.priority[a] || a - b)
    this.urgent = urgent.filter((v, i) => i === 0 || urgent[i - 1] !== v)
    this.orderDirty = true
    this.recountWanted()
  }

  /**
   * `now` pieces (a reader is waiting on them) with blocks nobody has been asked for yet: each one waits for a peer's
   * request queue to have room, behind whatever it holds already. Empty in the steady state of a stream.
   */
  /** Some reader waits on a piece not had yet. */
  wantsNow(): boolean {
    return this.urgent.length > 0 && this.priority[this.urgent[0]] === Priority.now
  }

  starvedNow(): number[] {
    const out: number[] = []
    for (const i of this.urgent) {
      if (this.priority[i] !== Priority.now) break // urgent is sorted by class: the `now` pieces come first
      if (this.have[i]) continue
      const p = this.inProgress.get(i)
      if (!p || (!p.complete && p.cursor < p.blocks)) out.push(i)
    }
    return out
  }

  // --- picking ------------------------------------------------------------------------------------------------

  private rebuildOrder(): void {
    const list: number[] = []
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have[i] === 0 && this.priority[i] === Priority.normal && !this.inProgress.has(i)) list.push(i)
    }
    const a = this.availability
    const t = this.tieBreak
    list.sort((x, y) => a[x] - a[y] || t[x] - t[y])
    this.order = Int32Array.from(list)
    this.orderStart = 0
    this.orderDirty = false
    this.orderBuiltAt = Date.now()
  }

  private startPiece(i: number): PieceProgress {
    const p = new PieceProgress(i, this.pieceSize(i))
    this.inProgress.set(i, p)
    return p
  }

  /** Take up to `max` unrequested blocks of `p` (or, with `dupBefore`, blocks first requested before that time). */
  private takeBlocks(p: PieceProgress, peer: PickPeer, max: number, out: BlockRequest[], now: number, dupBefore = 0, dupLimit = 1): number {
    let taken = 0
    const stride = this.blockStride
    const start = dupBefore ? 0 : p.cursor
    for (let b = start; b < p.blocks && taken < max; b++) {
      if (p.received[b]) continue
      const r = p.requested[b]
      if (r === 0 || (dupBefore && r < dupLimit + 1 && p.requestedAt[b] < dupBefore)) {
        const id = p.index * stride + b
        // Never the same block twice to one peer: bittorrent-protocol matches answers to requests by
        // (piece, offset, length), and two equal requests in flight can both lose their answer.
        // (Also across a piece's restart after a failed hash: the old request may still be in flight.)
        if (peer.outstanding.has(id)) continue
        // Recorded here, not by the caller, so a later pass of this same pick sees it as requested.
        if (r === 0) p.requestedAt[b] = now
        p.requested[b]++
        p.pending++
        peer.outstanding.set(id, now)
        out.push({ piece: p.index, offset: b * BLOCK_SIZE, length: p.blockLength(b), progress: p })
        taken++
      }
    }
    if (!dupBefore) {
      while (p.cursor < p.blocks && (p.received[p.cursor] || p.requested[p.cursor])) p.cursor++
    }
    return taken
  }

  /**
   * Choose up to `max` blocks for `peer` and record them as requested from it. The caller sends them and reports each
   * outcome with requestDone(). Returns the number chosen (appended to `out`).
   */
  pick(peer: PickPeer, max: number, out: BlockRequest[]): number {
    let left = max
    const now = Date.now()
    // 1. Urgent pieces (now, readahead, high) in order; a `now` block outstanding for over a second is also asked
    //    of this peer (time-critical pieces).
    for (const i of this.urgent) {
      if (left === 0) return max
      if (this.have[i] || !peer.has(i)) continue
      let p = this.inProgress.get(i)
      if (p?.complete) continue
      if (!p) p = this.startPiece(i)
      left -= this.takeBlocks(p, peer, left, out, now)
      if (left > 0 && this.priority[i] === Priority.now) left -= this.takeBlocks(p, peer, left, out, now, now - 1000, 1)
    }
    // 2. Partial pieces first, so pieces complete (and free their memory) before new ones start.
    for (const p of this.inProgress.values()) {
      if (left === 0) return max
      if (p.complete || p.cursor >= p.blocks || !peer.has(p.index) || this.priority[p.index] === Priority.none) continue
      left -= this.takeBlocks(p, peer, left, out, now)
    }
    // 3. New pieces, rarest first. The memory cap counts pieces being worked on; idle partial pieces (their peers
    //    left) get a second allowance, so pieces only a departed peer had cannot block the download.
    let active = 0
    for (const p of this.inProgress.values()) if (p.complete || p.pending > 0) active++
    const capReached = () => active >= this.maxInProgress || this.inProgress.size >= 2 * this.maxInProgress
    if (left > 0) {
      if (this.orderDirty && (now - this.orderBuiltAt > 500 || this.orderStart >= this.order.length)) this.rebuildOrder()
      const order = this.order
      let k = this.orderStart
      // Skip the head of entries that can never be picked again until the next rebuild.
      while (k < order.length && (this.have[order[k]] || this.inProgress.has(order[k]))) k++
      this.orderStart = k
      for (; k < order.length && left > 0; k++) {
        if (capReached()) break
        const i = order[k]
        if (this.have[i] || this.inProgress.has(i) || this.priority[i] !== Priority.normal || !peer.has(i)) continue
        left -= this.takeBlocks(this.startPiece(i), peer, left, out, now)
        active++
      }
    }
    // 4. Endgame: nothing unrequested is left that this peer can serve, and nothing new can start. Ask for blocks
    //    others have outstanding (at most two requests per block), so one slow peer can't hold up the finish.
    if (left === max && this.inEndgame()) {
      for (const p of this.inProgress.values()) {
        if (left === 0) break
        if (p.complete || !peer.has(p.index) || this.priority[p.index] === Priority.none) continue
        left -= this.takeBlocks(p, peer, left, out, now, now + 1, 1)
      }
    }
    return max - left
  }

  /** True when every wanted piece not had is in progress with all its blocks requested. */
  inEndgame(): boolean {
    let started = 0
    for (const p of this.inProgress.values()) {
      if (p.complete) continue
      if (p.cursor < p.blocks) return false
      if (this.priority[p.index] !== Priority.none) started++
    }
    let writing = 0
    for (const p of this.inProgress.values()) if (p.complete) writing++
    return this.wantedLeftPieces - writing <= started
  }

  /**
   * A request ended: with data (`block`) or without (rejected, choked, cancelled, timed out).
   * Returns true when this block completed its piece (the caller then hashes `progress.buf`).
   */
  requestDone(req: BlockRequest, peer: PickPeer, peerKey: string, block: Uint8Array | undefined): boolean {
    const p = req.progress
    const b = req.offset / BLOCK_SIZE
    peer.outstanding.delete(p.index * this.blockStride + b)
    if (p.requested[b] > 0) {
      p.requested[b]--
      p.pending--
    }
    if (!block) {
      if (!p.received[b] && p.requested[b] === 0 && b < p.cursor) p.cursor = b
      // Nothing received and nothing asked any more (its peer left or choked us): forget it, so it costs no memory
      // and does not count against the cap; it is picked again like any other piece.
      if (p.receivedCount === 0 && !p.complete && this.inProgress.get(p.index) === p && p.pending === 0) {
        this.inProgress.delete(p.index)
        if (p.buf) this.releaseBuffer(p.buf)
        p.buf = null
        this.orderDirty = true
      }
      return false
    }
    if (p.received[b] || p.complete || this.inProgress.get(p.index) !== p) return false
    if (block.length !== p.blockLength(b)) return false
    if (!p.buf) p.buf = this.takeBuffer(p.length)
    p.buf.set(block, req.offset)
    p.received[b] = 1
    p.receivedCount++
    p.contributors.add(peerKey)
    p.senders[b] = peerKey
    if (b === p.hashedBlocks) {
      const h = (p.hash ??= createHash('sha1'))
      while (p.hashedBlocks < p.blocks && p.received[p.hashedBlocks]) {
        const k = p.hashedBlocks++
        h.update(p.buf.subarray(k * BLOCK_SIZE, k * BLOCK_SIZE + p.blockLength(k)))
      }
    }
    if (p.receivedCount === p.blocks) {
      p.complete = true
      return true
    }
    return false
  }

  private readonly freeBuffers: Buffer[] = []

  /** Piece buffers held idle for reuse (each one a piece length of memory). */
  get idleBuffers(): number {
    return this.freeBuffers.length
  }

  // Piece buffers are reused: at hundreds of MiB/s, allocating a fresh MiB per piece keeps the GC busy.
  private takeBuffer(len: number): Buffer {
    if (len === this.pieceLength) {
      const b = this.freeBuffers.pop()
      if (b) return b
    }
    return Buffer.allocUnsafe(len)
  }

  /**
   * Return a piece buffer for reuse once its data is written. While pieces are wanted, every one is kept: the pool
   * never grows past the most pieces held at once (bounded by the cap in pick), whereas a dropped buffer is a MiB of
   * external memory that V8 frees only at its next full collection, so dropped buffers piled up to ~50 MiB of
   * garbage between collections when disk writes finished in bursts (1 GiB download, process.memoryUsage).
   */
  releaseBuffer(buf: Buffer): void {
    if (buf.length !== this.pieceLength) return
    if (this.freeBuffers.length < (this.wantedLeftPieces > 0 ? 2 * this.maxInProgress : FREE_PIECE_BUFFERS)) this.freeBuffers.push(buf)
  }

  /** The completed piece was verified and written. */
  pieceDone(i: number): void {
    this.inProgress.delete(i)
    if (!this.have[i]) {
      this.have[i] = 1
      this.haveCount++
      const size = this.pieceSize(i)
      this.haveBytes += size
      if (this.basePriority[i] !== Priority.none) this.selectedHaveBytes += size
      if (this.priority[i] !== Priority.none) {
        this.wantedLeftPieces--
        // Nothing left to fetch: keep only a few idle buffers.
        if (this.wantedLeftPieces === 0 && this.freeBuffers.length > FREE_PIECE_BUFFERS) this.freeBuffers.length = FREE_PIECE_BUFFERS
        this.wantedLeftBytes -= size
      }
      if (this.urgent.length && this.urgent.includes(i)) this.urgent = this.urgent.filter((x) => x !== i)
    }
  }

  /** The completed piece failed its hash: forget it so it is fetched again. Returns who sent its blocks. */
  pieceFailed(i: number): Set<string> {
    const p = this.inProgress.get(i)
    this.inProgress.delete(i)
    this.orderDirty = true
    return p?.contributors ?? new Set()
  }

  /** Mark pieces found on disk (checking, resume). */
  setHave(have: Uint8Array): void {
    for (let i = 0; i < this.pieceCount; i++) {
      if (have[i] && !this.have[i]) {
        this.have[i] = 1
        this.haveCount++
      }
    }
    this.recountSelected()
    this.recomputePriority()
  }

  /** Drop in-progress pieces nobody wants any more (priority fell to none); frees their memory. */
  dropUnwanted(): void {
    for (const [i, p] of this.inProgress) {
      if (!p.complete && this.priority[i] === Priority.none && p.pending === 0) {
        this.inProgress.delete(i)
        if (p.buf) this.releaseBuffer(p.buf)
        p.buf = null
        this.orderDirty = true
      }
    }
  }
}
