// Piece storage over the files of a torrent: maps piece ranges onto files (BEP 47 pad files read as zeros and are
// never written), creates sparse files on demand, and keeps an LRU of open descriptors. The hash check of data on
// disk is verify.ts, over the narrow read interface below (fileAt, readFile, openForRead).

import { close as fsClose, constants as C, fstat, ftruncate, open as fsOpen, read as fsRead, write as fsWrite } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { BtError, ExitCode, fromSystemError } from '../errors.js'
import { pieceSize, type Metainfo } from '../metainfo/metainfo.js'

export interface FileStorageOptions {
  /** Per m.files index; default all true. */
  selected?: boolean[]
  /** Most descriptors kept open at once (default 128). */
  maxOpenFiles?: number
}

/** A descriptor lent out by openForRead; the file stays open until `release`. */
export interface FileLease {
  readonly fd: number
  release(): void
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
  fileAt(pos: number): number {
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

  /** Read `n` bytes of file i at `inFile` into buf[off..]: a BtError if the file is missing or short. */
  readFile(i: number, inFile: number, buf: Buffer, off: number, n: number): Promise<void> {
    return this.segment(i, inFile, buf, off, n, false)
  }

  /** File i open for reading, for a hash worker that reads the descriptor itself. */
  async openForRead(i: number): Promise<FileLease> {
    const h = await this.acquire(i, false)
    let held = true
    return {
      fd: h.fd,
      release: () => {
        if (held) this.release(h)
        held = false
      },
    }
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
