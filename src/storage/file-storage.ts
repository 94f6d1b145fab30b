// Piece storage over the files of a torrent: maps piece ranges onto files (BEP 47 pad files read as zeros and are
// never written), creates sparse files on demand, keeps an LRU of open descriptors, and hash-checks data on disk.

import { close as fsClose, constants as C, fstat, ftruncate, open as fsOpen, read as fsRead, write as fsWrite } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { dirname, resolve, sep } from 'node:path'
import { BtError, ExitCode, fromSystemError } from '../errors.js'
import { pieceHash, pieceSize, type Metainfo } from '../metainfo/metainfo.js'
import { HashPool, type HashJob } from './hash-pool.js'

export interface FileStorageOptions {
  /** Per m.files index; default all true. */
  selected?: boolean[]
  /** Most descriptors kept open at once (default 128). */
  maxOpenFiles?: number
}

export interface VerifyOptions {
  pieces?: Iterable<number>
  /** Called after each chunk with bytes hashed so far and bytes to hash in all. */
  onProgress?: (done: number, total: number) => void
  signal?: AbortSignal
  /** Hash on worker threads: undefined decides by size and cores; for tests and benchmarks. */
  pool?: boolean
}

interface Handle {
  fd: number
  writable: boolean
  refs: number
  /** Replaced or evicted while in use: close when the last user lets go. */
  retired: boolean
}

/** An fs error as a one-line BtError naming the path (the mapping lives in src/errors.ts). */
export function ioError(path: string, err: unknown): BtError {
  return fromSystemError(err, path, ExitCode.io)
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code
}

// The callback fs API on raw descriptors: one libuv request per call, no FileHandle bookkeeping on hot paths.
function openFd(path: string, flags: number, mode = 0o666): Promise<number> {
  return new Promise((res, rej) => fsOpen(path, flags, mode, (err, fd) => (err ? rej(err) : res(fd))))
}
function closeFd(fd: number): Promise<void> {
  return new Promise((res) => fsClose(fd, () => res()))
}
function readFd(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((res, rej) => fsRead(fd, buf, off, len, pos, (err, n) => (err ? rej(err) : res(n))))
}
function writeFd(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((res, rej) => fsWrite(fd, buf, off, len, pos, (err, n) => (err ? rej(err) : res(n))))
}
function truncateFd(fd: number, len: number): Promise<void> {
  return new Promise((res, rej) => ftruncate(fd, len, (err) => (err ? rej(err) : res())))
}
function inodeOfFd(fd: number): Promise<number> {
  return new Promise((res, rej) => fstat(fd, (err, st) => (err ? rej(err) : res(st.ino))))
}

class ShortRead extends Error {}

function checkComponent(c: string): boolean {
  return c.length > 0 && c !== '.' && c !== '..' && !c.includes('/') && !c.includes('\\') && !c.includes('\0')
}

// Hash-checking. Measured here (2 cores, 512 MiB warm in the page cache, 1 MiB pieces): the main thread hashing 8 MiB
// while libuv reads the next 8 MiB ≈ 1450-1500 MiB/s (one core's SHA-1 speed); two workers that each read and hash
// 1 MiB at a time ≈ 1850-2200 MiB/s. Handing libuv-read buffers to workers did worse (the copy evicts them from cache).
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

export class FileStorage {
  readonly dir: string
  readonly metainfo: Metainfo
  private readonly paths: string[]
  /** End offset (exclusive) of each file in the torrent's byte stream, for binary search. */
  private readonly ends: Float64Array
  private selected: boolean[]
  private readonly maxOpen: number
  private readonly handles = new Map<number, Handle>() // iteration order = least recently used first
  private readonly opening = new Map<number, Promise<Handle>>()
  /** Zero-length files, by the piece that holds their offset: created when that piece is written. */
  private readonly emptyByPiece = new Map<number, number[]>()
  private closed = false

  constructor(m: Metainfo, dir: string, opts: FileStorageOptions = {}) {
    this.metainfo = m
    this.dir = resolve(dir)
    const root = this.dir.endsWith(sep) ? this.dir : this.dir + sep
    this.paths = m.files.map((f, i) => {
      if (f.path.length === 0 || !f.path.every(checkComponent)) {
        throw new BtError(`file ${i} of the torrent has an unsafe path: ${JSON.stringify(f.path)}`, ExitCode.usage)
      }
      const p = resolve(this.dir, ...f.path)
      if (!p.startsWith(root)) throw new BtError(`file ${i} of the torrent would be written outside ${this.dir}: ${p}`, ExitCode.usage)
      return p
    })
    this.ends = Float64Array.from(m.files, (f) => f.offset + f.length)
    this.selected = m.files.map((_, i) => opts.selected?.[i] ?? true)
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 128)
    m.files.forEach((f, i) => {
      if (f.length !== 0 || f.padding) return
      const piece = Math.max(0, Math.min(m.pieceCount - 1, Math.floor(f.offset / m.pieceLength)))
      const list = this.emptyByPiece.get(piece)
      if (list) list.push(i)
      else this.emptyByPiece.set(piece, [i])
    })
  }

  filePath(fileIndex: number): string {
    const p = this.paths[fileIndex]
    if (p === undefined) throw new RangeError(`no file ${fileIndex}`)
    return p
  }

  setSelected(selected: boolean[]): void {
    this.selected = this.metainfo.files.map((_, i) => selected[i] ?? true)
  }

  /** Descriptors currently open (for tests and diagnostics). */
  get openFiles(): number {
    return this.handles.size
  }

  async writePiece(index: number, data: Buffer): Promise<void> {
    const m = this.metainfo
    if (!Number.isInteger(index) || index < 0 || index >= m.pieceCount) throw new RangeError(`no piece ${index}`)
    if (data.length !== pieceSize(m, index)) throw new RangeError(`piece ${index} is ${pieceSize(m, index)} bytes, got ${data.length}`)
    await this.transfer(index * m.pieceLength, data, 0, data.length, true)
    const empty = this.emptyByPiece.get(index)
    if (empty) {
      for (const i of empty) {
        if (!this.selected[i]) continue
        this.release(await this.acquire(i, true))
      }
    }
  }

  async read(index: number, offset: number, length: number): Promise<Buffer> {
    const m = this.metainfo
    if (!Number.isInteger(index) || index < 0 || index >= m.pieceCount) throw new RangeError(`no piece ${index}`)
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > pieceSize(m, index)) {
      throw new RangeError(`bad range ${offset}+${length} in piece ${index}`)
    }
    const buf = Buffer.allocUnsafe(length)
    await this.transfer(index * m.pieceLength + offset, buf, 0, length, false)
    return buf
  }

  async readAt(buf: Buffer, position: number): Promise<number> {
    if (!Number.isInteger(position) || position < 0) throw new RangeError(`bad position ${position}`)
    const n = Math.max(0, Math.min(buf.length, this.metainfo.length - position))
    if (n > 0) await this.transfer(position, buf, 0, n, false)
    return n
  }

  /** Index of the first file that holds byte `pos` (zero-length files hold none). */
  private fileAt(pos: number): number {
    const ends = this.ends
    let lo = 0
    let hi = ends.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (ends[mid] <= pos) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Move `len` bytes between `buf` and the torrent's byte stream at `pos`, across as many files as it spans. */
  private async transfer(pos: number, buf: Buffer, bufOff: number, len: number, write: boolean): Promise<void> {
    const files = this.metainfo.files
    let i = this.fileAt(pos)
    const jobs: Promise<void>[] = []
    while (len > 0 && i < files.length) {
      const f = files[i]
      if (f.length > 0) {
        const inFile = pos - f.offset
        const n = Math.min(len, f.length - inFile)
        if (f.padding) {
          if (!write) buf.fill(0, bufOff, bufOff + n)
        } else {
          jobs.push(this.segment(i, inFile, buf, bufOff, n, write))
        }
        pos += n
        bufOff += n
        len -= n
      }
      i++
    }
    if (jobs.length === 1) return jobs[0]
    // Settle every segment before reporting, so no write is still running when the caller hears of a failure.
    const results = await Promise.allSettled(jobs)
    for (const r of results) if (r.status === 'rejected') throw r.reason
  }

  private async segment(i: number, inFile: number, buf: Buffer, off: number, n: number, write: boolean): Promise<void> {
    const h = await this.acquire(i, write)
    try {
      while (n > 0) {
        const done = write ? await writeFd(h.fd, buf, off, n, inFile) : await readFd(h.fd, buf, off, n, inFile)
        if (done === 0) throw new ShortRead()
        off += done
        inFile += done
        n -= done
      }
    } catch (err) {
      if (err instanceof ShortRead) {
        throw new BtError(`${this.paths[i]}: file is shorter than the torrent says (${this.metainfo.files[i].length} bytes)`, ExitCode.io)
      }
      throw ioError(this.paths[i], err)
    } finally {
      this.release(h)
    }
  }

  private async acquire(i: number, write: boolean): Promise<Handle> {
    for (;;) {
      if (this.closed) throw new BtError('storage is closed', ExitCode.internal)
      const h = this.handles.get(i)
      if (h && (h.writable || !write)) {
        this.handles.delete(i)
        this.handles.set(i, h)
        h.refs++
        return h
      }
      const pending = this.opening.get(i)
      if (pending) {
        await pending.catch(() => {})
        continue
      }
      const p = this.openFile(i, write)
      this.opening.set(i, p)
      try {
        const fresh = await p
        const old = this.handles.get(i)
        if (old) {
          this.handles.delete(i)
          this.retire(old)
        }
        if (this.closed) {
          await closeFd(fresh.fd)
          continue
        }
        fresh.refs++
        this.handles.set(i, fresh)
        this.evict()
        return fresh
      } catch (err) {
        throw ioError(this.paths[i], err)
      } finally {
        this.opening.delete(i)
      }
    }
  }

  private release(h: Handle): void {
    h.refs--
    if (h.refs > 0) return
    if (h.retired) void closeFd(h.fd)
    else if (this.handles.size > this.maxOpen) this.evict()
  }

  /** Forget file i's cached descriptor (the file was deleted or replaced behind our back). */
  private drop(i: number): void {
    const h = this.handles.get(i)
    if (!h) return
    this.handles.delete(i)
    this.retire(h)
  }

  private retire(h: Handle): void {
    h.retired = true
    if (h.refs === 0) void closeFd(h.fd)
  }

  private evict(): void {
    if (this.handles.size <= this.maxOpen) return
    for (const [i, h] of this.handles) {
      if (this.handles.size <= this.maxOpen) break
      if (h.refs > 0) continue
      this.handles.delete(i)
      this.retire(h)
    }
  }

  private async openFile(i: number, write: boolean): Promise<Handle> {
    const path = this.paths[i]
    try {
      return { fd: await openFd(path, C.O_RDWR), writable: true, refs: 0, retired: false }
    } catch (err) {
      const code = errCode(err)
      if (!write && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM')) {
        // Seeding from read-only files or media.
        return { fd: await openFd(path, C.O_RDONLY), writable: false, refs: 0, retired: false }
      }
      if (!write && code === 'ENOENT') throw new BtError(`${path}: file is missing`, ExitCode.io)
      if (code !== 'ENOENT') throw err
    }
    await mkdir(dirname(path), { recursive: true })
    let fd: number
    let created = true
    try {
      fd = await openFd(path, C.O_RDWR | C.O_CREAT | C.O_EXCL)
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err
      fd = await openFd(path, C.O_RDWR | C.O_CREAT)
      created = false
    }
    const f = this.metainfo.files[i]
    // Full size up front (sparse), as other clients do; an unselected file keeps only the bytes written into it.
    if (created && this.selected[i] && f.length > 0) {
      try {
        await truncateFd(fd, f.length)
      } catch (err) {
        await closeFd(fd)
        throw err
      }
    }
    return { fd, writable: true, refs: 0, retired: false }
  }

  /**
   * Size of each file on disk (-1 when missing; pad files report their torrent length). A cached descriptor of a
   * file that was deleted or replaced is dropped, so later reads and writes go to the file now at that path.
   */
  async fileSizes(indices?: Iterable<number>): Promise<Float64Array> {
    const files = this.metainfo.files
    const out = new Float64Array(files.length).fill(-1)
    const list = indices ? [...indices] : files.map((_, i) => i)
    let next = 0
    const worker = async () => {
      while (next < list.length) {
        const i = list[next++]
        const f = files[i]
        if (f.padding) {
          out[i] = f.length
          continue
        }
        let ino = -1
        try {
          const st = await stat(this.paths[i])
          if (st.isFile()) {
            out[i] = st.size
            ino = st.ino
          }
        } catch {}
        const h = this.handles.get(i)
        if (h) {
          h.refs++
          let same = false
          try {
            same = ino >= 0 && (await inodeOfFd(h.fd)) === ino
          } catch {}
          this.release(h)
          if (!same && this.handles.get(i) === h) this.drop(i)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(32, list.length) }, worker))
    return out
  }

  async verify(opts: VerifyOptions = {}): Promise<Uint8Array> {
    const m = this.metainfo
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
    const sizes = await this.fileSizes(this.filesOfPieces(chunks))
    let done = 0
    let failure: unknown
    const interrupted = () => new BtError('interrupted', ExitCode.interrupted)

    // Up to `depth` chunks are in flight: being read, queued, or hashed.
    const depth = pool ? pool.size * 2 : 2
    const buffers: Buffer[] = []
    const chunkBytes = pool ? 0 : Math.max(m.pieceLength, Math.floor(LOCAL_CHUNK / m.pieceLength) * m.pieceLength)
    const runChunk = async (first: number, count: number): Promise<void> => {
      if (pool) {
        const handles: Handle[] = []
        try {
          const job = await this.planChunk(first, count, sizes, handles)
          const ok = await pool.check(job)
          result.set(ok, first)
        } finally {
          for (const h of handles) this.release(h)
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
    const m = this.metainfo
    const perChunk = Math.max(1, Math.floor(budget / m.pieceLength))
    const chunks: Array<[number, number]> = []
    for (let k = 0; k < pieces.length; ) {
      const first = pieces[k]
      const firstFile = this.fileAt(first * m.pieceLength)
      let count = 1
      while (
        count < perChunk &&
        k + count < pieces.length &&
        pieces[k + count] === first + count &&
        this.fileAt(Math.min(m.length, (first + count + 1) * m.pieceLength) - 1) - firstFile < CHUNK_MAX_FILES
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
    const m = this.metainfo
    const seen = new Set<number>()
    for (const [first, count] of chunks) {
      const start = first * m.pieceLength
      const end = Math.min(m.length, (first + count) * m.pieceLength)
      for (let i = this.fileAt(start); i < m.files.length && m.files[i].offset < end; i++) {
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
    const m = this.metainfo
    const bad = new Uint8Array(count)
    const start = first * m.pieceLength
    let pos = start
    let len = Math.min(m.length, (first + count) * m.pieceLength) - start
    for (let i = this.fileAt(pos); len > 0 && i < m.files.length; i++) {
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

  /** A hash job for the worker pool: descriptors of the files under the chunk, acquired into `handles`. */
  private async planChunk(first: number, count: number, sizes: Float64Array, handles: Handle[]): Promise<HashJob> {
    const m = this.metainfo
    const parts: Array<[kind: 'data' | 'zeros' | 'missing', file: number, inFile: number, n: number]> = []
    const bad = this.walkChunk(first, count, sizes, (kind, file, inFile, _off, n) => parts.push([kind, file, inFile, n]))
    const segs = new Float64Array(parts.length * 3)
    for (let k = 0; k < parts.length; k++) {
      const [kind, file, inFile, n] = parts[k]
      let fd = kind === 'zeros' ? -1 : -2
      if (kind === 'data' && !this.allBad(bad, first, m.files[file].offset + inFile, n)) {
        try {
          const h = await this.acquire(file, false)
          handles.push(h)
          fd = h.fd
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
    const pl = this.metainfo.pieceLength
    for (let k = Math.floor(pos / pl) - first; k <= Math.floor((pos + n - 1) / pl) - first; k++) if (!bad[k]) return false
    return true
  }

  /** Read pieces first..first+count-1 into `buf` on libuv's pool; returns the pieces that cannot be good. */
  private async fillChunk(buf: Buffer, first: number, count: number, sizes: Float64Array): Promise<Uint8Array> {
    const m = this.metainfo
    const start = first * m.pieceLength
    const reads: Array<() => Promise<void>> = []
    const bad = this.walkChunk(first, count, sizes, (kind, file, inFile, bufOff, n) => {
      if (kind === 'zeros') buf.fill(0, bufOff, bufOff + n)
      else if (kind === 'data') {
        reads.push(() =>
          this.allBad(bad, first, start + bufOff, n)
            ? Promise.resolve()
            : this.segment(file, inFile, buf, bufOff, n, false).catch(() => {
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

  async close(): Promise<void> {
    this.closed = true
    await Promise.allSettled([...this.opening.values()])
    const idle: Promise<void>[] = []
    for (const h of this.handles.values()) {
      h.retired = true
      if (h.refs === 0) idle.push(closeFd(h.fd))
    }
    this.handles.clear()
    await Promise.all(idle)
  }
}
