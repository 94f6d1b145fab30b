// The hash check of a torrent's data on disk: which pieces are present and match their SHA-1. Chunks of consecutive
// pieces go to the hash worker pool (each worker reads its chunk's files itself) or, for small checks and one core,
// are read on libuv's pool while the main thread hashes the previous chunk. check.ts decides what to check.

import { createHash } from 'node:crypto'
import { BtError, ExitCode } from '../errors.js'
import { pieceHash, pieceSize } from '../metainfo/metainfo.js'
import { HashPool, type HashJob } from '../hash/pool.js'
import type { FileLease, FileStorage } from './file-storage.js'

export interface VerifyOptions {
  pieces?: Iterable<number>
  /** Called after each chunk with bytes hashed so far and bytes to hash in all. */
  onProgress?: (done: number, total: number) => void
  signal?: AbortSignal
  /** Hash on worker threads: undefined decides by size and cores; for tests and benchmarks. */
  pool?: boolean
}


// Hash-checking. Measured here (2 cores, 512 MiB warm in the page cache, 1 MiB pieces): the main thread hashing 8 MiB
// while libuv reads the next 8 MiB ≈ 1450-1500 MiB/s (one core's SHA-1 speed); two workers that each read their own
// 1 MiB buffers and hash them ≈ 1850-2200 MiB/s. Handing main-thread buffers to workers did worse (the copy evicts
// them from cache).
/** Bytes per main-thread read: whole pieces, about this much, so a piece is never split across reads. */
const LOCAL_CHUNK = 8 * 1024 * 1024
/** Bytes per worker job. */
const POOL_CHUNK = 8 * 1024 * 1024
/** Below this, starting workers costs more than it saves. */
const POOL_MIN_BYTES = 64 * 1024 * 1024
/** Files one chunk may touch (many tiny files): bounds descriptors held per chunk. */
const CHUNK_MAX_FILES = 32
/** Segment reads in flight at once inside one verify chunk (many small files). */
const SEGMENT_PARALLEL = 16

/** Per piece 1 when its data is on disk and matches its hash (only the pieces asked for are read). */
export function verifyPieces(storage: FileStorage, opts: VerifyOptions = {}): Promise<Uint8Array> {
  return new Verifier(storage).run(opts)
}

class Verifier {
  constructor(private readonly s: FileStorage) {}

  async run(opts: VerifyOptions): Promise<Uint8Array> {
    const m = this.s.metainfo
    const result = new Uint8Array(m.pieceCount)
    let pieces: number[]
    if (opts.pieces) {
      const want = new Uint8Array(m.pieceCount)
      for (const p of opts.pieces) if (Number.isInteger(p) && p >= 0 && p < m.pieceCount) want[p] = 1
      pieces = []
      for (let p = 0; p < m.pieceCount; p++) if (want[p]) pieces.push(p)
    } else {
      pieces = Array.from({ length: m.pieceCount }, (_, p) => p)
    }
    if (pieces.length === 0) return result
    let total = 0
    for (const p of pieces) total += pieceSize(m, p)

    const pool = opts.pool === false ? undefined : opts.pool ? HashPool.shared(true) : total >= POOL_MIN_BYTES ? HashPool.shared() : undefined
    const chunks = this.chunksOf(pieces, pool ? POOL_CHUNK : LOCAL_CHUNK)
    const sizes = await this.s.fileSizes(this.filesOfPieces(chunks))
    let done = 0
    let failure: unknown
    const interrupted = () => new BtError('interrupted', ExitCode.interrupted)

    // Up to `depth` chunks are in flight: being read, queued, or hashed.
    const depth = pool ? pool.size * 2 : 2
    const buffers: Buffer[] = []
    // No larger than the largest chunk: a 1 MiB torrent's check took two 8 MiB buffers, and a daemon adding a
    // thousand small torrents spent more time collecting them than hashing (bench/scale.js).
    let largest = 0
    for (const [, count] of chunks) largest = Math.max(largest, count)
    const chunkBytes = pool ? 0 : largest * m.pieceLength
    const runChunk = async (first: number, count: number): Promise<void> => {
      if (pool) {
        const leases: FileLease[] = []
        try {
          const job = await this.planChunk(first, count, sizes, leases)
          const ok = await pool.check(job)
          result.set(ok, first)
        } finally {
          for (const l of leases) l.release()
        }
      } else {
        const buf = buffers.pop() ?? Buffer.allocUnsafe(chunkBytes)
        try {
          const bad = await this.fillChunk(buf, first, count, sizes)
          if (opts.signal?.aborted) throw interrupted()
          for (let k = 0; k < count; k++) {
            if (bad[k]) continue
            const off = k * m.pieceLength
            const digest = createHash('sha1').update(buf.subarray(off, off + pieceSize(m, first + k))).digest()
            if (digest.equals(pieceHash(m, first + k))) result[first + k] = 1
          }
        } finally {
          buffers.push(buf)
        }
      }
      for (let k = 0; k < count; k++) done += pieceSize(m, first + k)
      opts.onProgress?.(done, total)
    }

    const inFlight = new Set<Promise<void>>()
    for (const [first, count] of chunks) {
      while (inFlight.size >= depth && !failure) await Promise.race(inFlight)
      if (opts.signal?.aborted) failure ??= interrupted()
      if (failure) break
      const job: Promise<void> = runChunk(first, count).then(
        () => void inFlight.delete(job),
        (err) => {
          inFlight.delete(job)
          failure ??= err
        },
      )
      inFlight.add(job)
    }
    await Promise.all(inFlight)
    if (failure) throw failure
    return result
  }

  /** Group sorted pieces into runs of consecutive pieces of about `budget` bytes touching a bounded number of files. */
  private chunksOf(pieces: number[], budget: number): Array<[first: number, count: number]> {
    const m = this.s.metainfo
    const perChunk = Math.max(1, Math.floor(budget / m.pieceLength))
    const chunks: Array<[number, number]> = []
    for (let k = 0; k < pieces.length; ) {
      const first = pieces[k]
      const firstFile = this.s.fileAt(first * m.pieceLength)
      let count = 1
      while (
        count < perChunk &&
        k + count < pieces.length &&
        pieces[k + count] === first + count &&
        this.s.fileAt(Math.min(m.length, (first + count + 1) * m.pieceLength) - 1) - firstFile < CHUNK_MAX_FILES
      ) {
        count++
      }
      chunks.push([first, count])
      k += count
    }
    return chunks
  }

  /** Non-pad, non-empty files under the given chunks of pieces. */
  private filesOfPieces(chunks: Array<[number, number]>): number[] {
    const m = this.s.metainfo
    const seen = new Set<number>()
    for (const [first, count] of chunks) {
      const start = first * m.pieceLength
      const end = Math.min(m.length, (first + count) * m.pieceLength)
      for (let i = this.s.fileAt(start); i < m.files.length && m.files[i].offset < end; i++) {
        if (m.files[i].length > 0 && !m.files[i].padding) seen.add(i)
      }
    }
    return [...seen]
  }

  /**
   * Walk the files under pieces first..first+count-1: calls `present` for each range of data that exists on disk,
   * fills pad ranges through `zeros`, and returns a per-piece mark of pieces that touch a missing or short file.
   */
  private walkChunk(
    first: number,
    count: number,
    sizes: Float64Array,
    visit: (kind: 'data' | 'zeros' | 'missing', file: number, inFile: number, bufOff: number, n: number) => void,
  ): Uint8Array {
    const m = this.s.metainfo
    const bad = new Uint8Array(count)
    const start = first * m.pieceLength
    let pos = start
    let len = Math.min(m.length, (first + count) * m.pieceLength) - start
    for (let i = this.s.fileAt(pos); len > 0 && i < m.files.length; i++) {
      const f = m.files[i]
      if (f.length === 0) continue
      const inFile = pos - f.offset
      const n = Math.min(len, f.length - inFile)
      if (f.padding) visit('zeros', i, inFile, pos - start, n)
      else {
        const have = Math.max(0, Math.min(n, sizes[i] - inFile))
        if (have > 0) visit('data', i, inFile, pos - start, have)
        if (have < n) {
          visit('missing', i, inFile + have, pos - start + have, n - have)
          const a = Math.floor((pos + have - start) / m.pieceLength)
          const b = Math.floor((pos + n - 1 - start) / m.pieceLength)
          for (let k = a; k <= b; k++) bad[k] = 1
        }
      }
      pos += n
      len -= n
    }
    return bad
  }

  /** A hash job for the worker pool: descriptors of the files under the chunk, leased into `leases`. */
  private async planChunk(first: number, count: number, sizes: Float64Array, leases: FileLease[]): Promise<HashJob> {
    const m = this.s.metainfo
    const parts: Array<[kind: 'data' | 'zeros' | 'missing', file: number, inFile: number, n: number]> = []
    const bad = this.walkChunk(first, count, sizes, (kind, file, inFile, _off, n) => parts.push([kind, file, inFile, n]))
    const segs = new Float64Array(parts.length * 3)
    for (let k = 0; k < parts.length; k++) {
      const [kind, file, inFile, n] = parts[k]
      let fd = kind === 'zeros' ? -1 : -2
      if (kind === 'data' && !this.allBad(bad, first, m.files[file].offset + inFile, n)) {
        try {
          const lease = await this.s.openForRead(file)
          leases.push(lease)
          fd = lease.fd
        } catch {
          // Unreadable: the worker finds no data there and fails the pieces.
        }
      }
      segs[k * 3] = fd
      segs[k * 3 + 1] = inFile
      segs[k * 3 + 2] = n
    }
    return {
      segs,
      count,
      pieceLength: m.pieceLength,
      lastLen: pieceSize(m, first + count - 1),
      expected: new Uint8Array(m.pieces.subarray(first * 20, (first + count) * 20)), // own buffer: cheap to post
      bad,
    }
  }

  /** True when every piece under torrent range [pos, pos+n) is already known bad (no need to read it). */
  private allBad(bad: Uint8Array, first: number, pos: number, n: number): boolean {
    const pl = this.s.metainfo.pieceLength
    for (let k = Math.floor(pos / pl) - first; k <= Math.floor((pos + n - 1) / pl) - first; k++) if (!bad[k]) return false
    return true
  }

  /** Read pieces first..first+count-1 into `buf` on libuv's pool; returns the pieces that cannot be good. */
  private async fillChunk(buf: Buffer, first: number, count: number, sizes: Float64Array): Promise<Uint8Array> {
    const m = this.s.metainfo
    const start = first * m.pieceLength
    const reads: Array<() => Promise<void>> = []
    const bad = this.walkChunk(first, count, sizes, (kind, file, inFile, bufOff, n) => {
      if (kind === 'zeros') buf.fill(0, bufOff, bufOff + n)
      else if (kind === 'data') {
        reads.push(() =>
          this.allBad(bad, first, start + bufOff, n)
            ? Promise.resolve()
            : this.s.readFile(file, inFile, buf, bufOff, n).catch(() => {
                const a = Math.floor(bufOff / m.pieceLength)
                const b = Math.floor((bufOff + n - 1) / m.pieceLength)
                for (let k = a; k <= b; k++) bad[k] = 1
              }),
        )
      }
    })
    let next = 0
    const run = async () => {
      while (next < reads.length) await reads[next++]()
    }
    await Promise.all(Array.from({ length: Math.min(SEGMENT_PARALLEL, reads.length) }, run))
    return bad
  }
}
