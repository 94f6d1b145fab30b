// The pieces of one info dictionary being fetched over ut_metadata (BEP 9) from any number of peers: which piece to
// ask a peer for next, what arrived and from whom, and the SHA-1 check once all are in. Pure bookkeeping with no I/O,
// shared by all of a torrent's wires, so a piece outlives the peer that sent it and a retry asks only for what is
// still missing, from whichever peer has the metadata.

import { createHash } from 'node:crypto'

export const METADATA_PIECE_SIZE = 16 * 1024
export const MAX_METADATA_SIZE = 8 * 1024 * 1024
// Peers may disagree about metadata_size (one of them lies). Each size is assembled on its own; a few at most, so a
// crowd of liars advertising a size each cannot make us hold many dictionaries.
const MAX_SIZES = 4

interface Part {
  size: number
  count: number
  pieces: Array<Buffer | undefined>
  from: Array<object | undefined>
  received: number
  /** piece -> the owner asked for it now. */
  inflight: Map<number, object>
}

export type AddResult =
  /** Stored; more pieces are missing. */
  | { kind: 'more' }
  /** Already had it, never asked for, or the wrong size: nothing changed. */
  | { kind: 'ignored' }
  /** Every piece is in and the SHA-1 matches the info hash. */
  | { kind: 'done'; info: Buffer }
  /** Every piece is in but the hash does not match: the pieces are dropped; these owners sent them. */
  | { kind: 'mismatch'; sources: object[] }

export class MetadataAssembly {
  private readonly infoHash: Buffer
  private readonly parts = new Map<number, Part>()
  private readonly waiters = new Map<object, () => void>()
  /** The verified info dict, once assembled. */
  info?: Buffer

  constructor(infoHash: Buffer) {
    if (infoHash.length !== 20) throw new TypeError('info hash must be 20 bytes')
    this.infoHash = Buffer.from(infoHash)
  }

  static pieceLength(size: number, piece: number): number {
    const count = Math.ceil(size / METADATA_PIECE_SIZE)
    return piece === count - 1 ? size - piece * METADATA_PIECE_SIZE : METADATA_PIECE_SIZE
  }

  /** Whether a fetch of this size can be tracked (it is, or there is room for one more size). */
  accepts(size: number): boolean {
    return this.parts.has(size) || this.parts.size < MAX_SIZES
  }

  private part(size: number): Part | undefined {
    let p = this.parts.get(size)
    if (!p && this.parts.size < MAX_SIZES && Number.isInteger(size) && size > 0 && size <= MAX_METADATA_SIZE) {
      const count = Math.ceil(size / METADATA_PIECE_SIZE)
      p = { size, count, pieces: new Array(count), from: new Array(count), received: 0, inflight: new Map() }
      this.parts.set(size, p)
    }
    return p
  }

  /**
   * The next piece `owner` should ask for (the lowest missing one nobody is asked for), marked in flight for it; or
   * undefined when every missing piece is already asked of someone.
   */
  next(size: number, owner: object): number | undefined {
    if (this.info) return undefined
    const p = this.part(size)
    if (!p) return undefined
    for (let i = 0; i < p.count; i++) {
      if (p.pieces[i] || p.inflight.has(i)) continue
      p.inflight.set(i, owner)
      return i
    }
    return undefined
  }

  /** Pieces still missing for this size. */
  missing(size: number): number {
    const p = this.parts.get(size)
    if (!p) return Math.ceil(size / METADATA_PIECE_SIZE)
    return p.count - p.received
  }

  /** Pieces received (and kept) for this size. */
  received(size: number): number {
    return this.parts.get(size)?.received ?? 0
  }

  /** `owner` no longer waits for `piece` (or, without a piece, for anything): others may ask for it. */
  release(owner: object, piece?: number): void {
    let freed = false
    for (const p of this.parts.values()) {
      for (const [i, o] of p.inflight) {
        if (o === owner && (piece === undefined || piece === i)) {
          p.inflight.delete(i)
          freed = true
        }
      }
    }
    if (piece === undefined) this.waiters.delete(owner)
    if (freed) this.wake()
  }

  /** Call `fn` once (for `owner`) when a piece is released and may be asked for again. */
  wait(owner: object, fn: () => void): void {
    this.waiters.set(owner, fn)
  }

  private wake(): void {
    if (this.waiters.size === 0) return
    const fns = [...this.waiters.values()]
    this.waiters.clear()
    for (const fn of fns) fn()
  }

  /**
   * A piece arrived from `owner`. The caller has checked its length against `size`. A piece is taken from whoever
   * sends it while it is missing, even after its request was released (a slow answer is still a good one).
   */
  add(size: number, piece: number, data: Uint8Array, owner: object): AddResult {
    if (this.info) return { kind: 'ignored' }
    const p = this.parts.get(size)
    if (!p || piece < 0 || piece >= p.count || p.pieces[piece]) return { kind: 'ignored' }
    if (data.length !== MetadataAssembly.pieceLength(size, piece)) return { kind: 'ignored' }
    if (p.inflight.get(piece) !== undefined) p.inflight.delete(piece)
    p.pieces[piece] = Buffer.from(data) // a copy: the wire's buffer is not ours to keep
    p.from[piece] = owner
    p.received++
    if (p.received < p.count) return { kind: 'more' }
    const info = Buffer.concat(p.pieces as Buffer[], size)
    if (createHash('sha1').update(info).digest().equals(this.infoHash)) {
      this.info = info
      this.parts.clear()
      this.waiters.clear()
      return { kind: 'done', info }
    }
    const sources = [...new Set(p.from.filter((o): o is object => o !== undefined))]
    p.pieces = new Array(p.count)
    p.from = new Array(p.count)
    p.received = 0
    this.wake()
    return { kind: 'mismatch', sources }
  }
}
