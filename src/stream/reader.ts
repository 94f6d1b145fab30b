// Byte-range reads over a torrent that drive piece priority: the piece being read is `now`, a window after it is
// `readahead`, and the window grows while reads stay contiguous (a seek collapses it). One Reader per open file.

import { Readable } from 'node:stream'
import { setMaxListeners } from 'node:events'
import { BtError, ExitCode } from '../errors.js'
import { Priority, type PriorityHandle } from '../session/priority.js'
import type { Metainfo } from '../metainfo/metainfo.js'
import type { ReaderSource } from './source.js'
import { trace } from '../session/stream-trace.js'

/** The source's metainfo: a torrent still fetching its metadata cannot be read yet. */
function metainfoOf(torrent: ReaderSource): Metainfo {
  if (!torrent.metainfo) throw new BtError('the torrent has no metadata yet: read it after its ready event', ExitCode.usage)
  return torrent.metainfo
}

export interface ReaderOptions {
  /** First byte of the range, as an absolute torrent offset (default 0). */
  start?: number
  /** End of the range, exclusive, as an absolute torrent offset (default: the torrent's length). */
  end?: number
  /** Largest readahead window in bytes (default 64 MiB; 0 turns readahead off). */
  readahead?: number
}

export const DEFAULT_READAHEAD = 64 * 1024 * 1024

// Reads this close to the end of the current run still count as contiguous. The kernel keeps several 128 KiB reads
// in flight and they may reach us in any order; treating that reordering as a seek would keep the window minimal.
const CONTIGUITY_TOLERANCE = 1024 * 1024

type Range = { first: number; last: number; priority: Priority }

/** Thrown into reads that were waiting when their Reader was closed. */
export class ReaderClosedError extends BtError {
  constructor() {
    super('read cancelled: the reader was closed', ExitCode.io)
  }
}

/**
 * Reads within [start, end) of a torrent. `read(buf, position)` takes positions relative to `start`, like a file,
 * fills `buf` completely unless the range ends first, and waits for missing pieces (abortable). Any number of
 * reads may be in flight at once.
 */
export class Reader {
  // Every waiting read listens on the close signal, and the kernel keeps many reads in flight on one handle: no cap.
  private static closeController(): AbortController {
    const c = new AbortController()
    setMaxListeners(0, c.signal)
    return c
  }

  readonly start: number
  readonly end: number
  /** end - start: the size of what this Reader serves. */
  readonly length: number
  private readonly torrent: ReaderSource
  private readonly pieceLength: number
  private readonly maxReadahead: number
  private handle: PriorityHandle | undefined
  private readonly closer = Reader.closeController()
  private closedFlag = false

  // The current run of contiguous reads: where it began and the furthest byte it reached (absolute offsets).
  private runStart = 0
  private runEnd = -1
  // Piece spans of reads that are waiting for data; they stay `now` until served.
  private readonly waiting = new Set<{ first: number; last: number }>()
  // What the handle was last set to, so a steady stream of reads does not re-set identical wishes.
  private lastNowPiece = -1
  private lastAheadLast = -1
  private lastHadWaiting = false

  constructor(torrent: ReaderSource, opts: ReaderOptions = {}) {
    const m = metainfoOf(torrent)
    const total = m.length
    const start = opts.start ?? 0
    const end = Math.min(opts.end ?? total, total)
    if (!Number.isSafeInteger(start) || start < 0 || start > total) throw new RangeError(`reader start ${start} is outside the torrent`)
    if (!Number.isSafeInteger(end) || end < start) throw new RangeError(`reader end ${end} is before its start ${start}`)
    this.torrent = torrent
    this.start = start
    this.end = end
    this.length = end - start
    this.pieceLength = m.pieceLength
    this.maxReadahead = Math.max(0, opts.readahead ?? DEFAULT_READAHEAD)
  }

  get closed(): boolean {
    return this.closedFlag
  }

  /** Bytes the next readahead window covers: the length of the current contiguous run, within [piece, max]. */
  get readaheadWindow(): number {
    const run = this.runEnd < 0 ? 0 : this.runEnd - this.runStart
    return Math.min(this.maxReadahead, Math.max(run, this.pieceLength))
  }

  /**
   * Read up to buf.length bytes at `position` (relative to start) into buf. Resolves with the count, which is less
   * than buf.length only at the end of the range (0 at or past it). Rejects when the Reader is closed, `signal`
   * aborts, the torrent goes away, or the disk read fails.
   */
  async read(buf: Buffer, position: number, signal?: AbortSignal): Promise<number> {
    if (this.closedFlag) throw new ReaderClosedError()
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`bad read position ${position}`)
    const abs = this.start + position
    if (abs >= this.end || buf.length === 0) return 0
    const n = Math.min(buf.length, this.end - abs)
    const first = Math.floor(abs / this.pieceLength)
    const last = Math.floor((abs + n - 1) / this.pieceLength)
    this.track(abs, n)

    let ready = true
    for (let p = first; p <= last; p++) {
      if (!this.torrent.hasPiece(p)) {
        ready = false
        break
      }
    }
    if (ready) {
      this.updatePriorities()
      return this.readFully(buf, n, abs)
    }

    trace('reader marks now', first)
    const span = { first, last }
    this.waiting.add(span)
    this.updatePriorities()
    try {
      await this.waitPieces(first, last, signal)
    } finally {
      this.waiting.delete(span)
      if (!this.closedFlag) this.updatePriorities()
    }
    if (this.closedFlag) throw new ReaderClosedError()
    return this.readFully(buf, n, abs)
  }

  /** Drop this Reader's priorities and fail its waiting reads. Idempotent. */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    this.closer.abort(new ReaderClosedError())
    this.handle?.release()
    this.handle = undefined
  }

  private track(abs: number, n: number): void {
    const end = abs + n
    if (this.runEnd >= 0 && abs >= this.runEnd - CONTIGUITY_TOLERANCE && abs <= this.runEnd + CONTIGUITY_TOLERANCE) {
      if (end > this.runEnd) this.runEnd = end
      if (abs < this.runStart) this.runStart = abs
    } else {
      this.runStart = abs
      this.runEnd = end
    }
  }

  private updatePriorities(): void {
    const pl = this.pieceLength
    // The next byte the reader is expected to want; its piece is `now`, the window after it `readahead`.
    const next = Math.min(this.runEnd, this.end)
    const nowPiece = next < this.end ? Math.floor(next / pl) : -1
    const aheadEnd = Math.min(this.end, next + this.readaheadWindow)
    const aheadLast = aheadEnd > next ? Math.floor((aheadEnd - 1) / pl) : -1
    const hasWaiting = this.waiting.size > 0
    if (!hasWaiting && !this.lastHadWaiting && nowPiece === this.lastNowPiece && aheadLast === this.lastAheadLast && this.handle) return
    this.lastNowPiece = nowPiece
    this.lastAheadLast = aheadLast
    this.lastHadWaiting = hasWaiting

    const now: Array<{ first: number; last: number }> = []
    for (const w of this.waiting) now.push({ first: w.first, last: w.last })
    if (nowPiece >= 0) now.push({ first: nowPiece, last: nowPiece })
    now.sort((a, b) => a.first - b.first)
    const merged: Array<{ first: number; last: number }> = []
    for (const r of now) {
      const top = merged[merged.length - 1]
      if (top && r.first <= top.last + 1) top.last = Math.max(top.last, r.last)
      else merged.push({ ...r })
    }

    const ranges: Range[] = merged.map((r) => ({ first: r.first, last: r.last, priority: Priority.now }))
    // The readahead span minus the `now` pieces, so no piece appears twice in one handle's wishes.
    if (aheadLast >= 0) {
      let from = nowPiece >= 0 ? nowPiece : Math.floor(next / pl)
      for (const r of merged) {
        if (r.last < from) continue
        if (r.first > aheadLast) break
        if (r.first > from) ranges.push({ first: from, last: r.first - 1, priority: Priority.readahead })
        from = r.last + 1
      }
      if (from <= aheadLast) ranges.push({ first: from, last: aheadLast, priority: Priority.readahead })
    }
    ranges.sort((a, b) => a.first - b.first)
    if (!this.handle) this.handle = this.torrent.createPriorityHandle()
    this.handle.set(ranges)
  }

  private async waitPieces(first: number, last: number, signal?: AbortSignal): Promise<void> {
    const closeSignal = this.closer.signal
    let sig = closeSignal
    let unlink: (() => void) | undefined
    if (signal) {
      if (signal.aborted) throw signal.reason
      // One signal for both ways a wait ends early, without AbortSignal.any (it leaks listeners on Node 20).
      const both = new AbortController()
      const onClose = () => both.abort(closeSignal.reason)
      const onCaller = () => both.abort(signal.reason)
      closeSignal.addEventListener('abort', onClose, { once: true })
      signal.addEventListener('abort', onCaller, { once: true })
      unlink = () => {
        closeSignal.removeEventListener('abort', onClose)
        signal.removeEventListener('abort', onCaller)
      }
      sig = both.signal
    }
    try {
      for (let p = first; p <= last; p++) {
        if (sig.aborted) throw sig.reason
        if (!this.torrent.hasPiece(p)) await waitOrAbort(this.torrent, p, sig)
      }
    } finally {
      unlink?.()
    }
  }

  private async readFully(buf: Buffer, n: number, abs: number): Promise<number> {
    let done = 0
    while (done < n) {
      const target = done === 0 && n === buf.length ? buf : buf.subarray(done, n)
      const got = await this.torrent.readAt(target, abs + done)
      if (got <= 0) throw new BtError(`short read at torrent offset ${abs + done}`, ExitCode.io)
      done += got
    }
    return n
  }
}

// The wait ends on abort even if the torrent does not honour the signal: an unmount must never hang on it. The
// torrent gets a signal of its own per wait, so listeners it leaves behind die with the wait instead of piling up
// on the Reader's long-lived one.
function waitOrAbort(t: ReaderSource, piece: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const inner = new AbortController()
    const onAbort = () => {
      inner.abort(signal.reason)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    t.waitPiece(piece, inner.signal).then(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      },
      (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

export interface ReadStreamOptions extends ReaderOptions {
  /** Largest chunk pushed at once (default 256 KiB); chunks never cross a piece boundary. */
  chunkSize?: number
}

/**
 * A Readable of the torrent's bytes in [start, end) (absolute offsets, end exclusive), read through one Reader so
 * readahead grows as the consumer keeps up. Destroying the stream closes the Reader.
 */
export function createReadStream(torrent: ReaderSource, opts: ReadStreamOptions = {}): Readable {
  const reader = new Reader(torrent, opts)
  const chunkSize = Math.max(1, opts.chunkSize ?? 256 * 1024)
  const pl = metainfoOf(torrent).pieceLength
  let pos = 0
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      const abs = reader.start + pos
      const pieceEnd = (Math.floor(abs / pl) + 1) * pl
      const n = Math.min(chunkSize, reader.end - abs, pieceEnd - abs)
      if (n <= 0) {
        this.push(null)
        return
      }
      const buf = Buffer.allocUnsafe(n)
      reader.read(buf, pos).then(
        (got) => {
          if (got === 0) {
            this.push(null)
            return
          }
          pos += got
          this.push(got === n ? buf : buf.subarray(0, got))
        },
        (err) => this.destroy(err),
      )
    },
    destroy(err, cb) {
      reader.close()
      cb(err)
    },
  })
}
