// `bt create`: make a v1 torrent of a file or directory. File order and info-dict contents match mktorrent, so the
// same files and piece length give the same info hash.

import { close as fsClose, open as fsOpen } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { basename, join, resolve } from 'node:path'
import bencode from 'bencode'
import { BtError, ExitCode, fromSystemError } from '../errors.js'
import { HashPool } from '../hash/pool.js'

export interface CreateOptions {
  name?: string
  /** Bytes (a power of two), or 'auto'. */
  pieceLength?: number | 'auto'
  /** Tracker tiers: each inner list is one tier. */
  trackers?: string[][]
  webSeeds?: string[]
  private?: boolean
  comment?: string
  createdBy?: string
  /** undefined: now; null: leave out. */
  creationDate?: Date | null
  source?: string
  onProgress?: (hashed: number, total: number) => void
  signal?: AbortSignal
}

interface InputFile {
  abs: string
  rel: string[]
  length: number
}

/** Piece length for `auto`: about 1500 pieces, a power of two between 16 KiB and 16 MiB. */
export function autoPieceLength(total: number): number {
  let len = 16 * 1024
  while (len < 16 * 1024 * 1024 && total / len > 1500) len *= 2
  return len
}

async function walk(root: string, rel: string[], out: InputFile[]): Promise<void> {
  const dir = join(root, ...rel)
  for (const name of await readdir(dir)) {
    const abs = join(dir, name)
    const st = await stat(abs) // follows symlinks, as mktorrent does
    if (st.isDirectory()) await walk(root, [...rel, name], out)
    else if (st.isFile()) out.push({ abs, rel: [...rel, name], length: st.size })
  }
}

async function collect(path: string): Promise<{ files: InputFile[]; single: boolean }> {
  let st
  try {
    st = await stat(path)
  } catch (err) {
    throw fromSystemError(err, path, ExitCode.usage)
  }
  if (st.isFile()) return { files: [{ abs: path, rel: [basename(path)], length: st.size }], single: true }
  if (!st.isDirectory()) throw new BtError(`${path}: not a regular file or directory`, ExitCode.usage)
  const files: InputFile[] = []
  await walk(path, [], files)
  // mktorrent keeps files in strcmp order of their relative paths.
  const key = (f: InputFile) => Buffer.from(f.rel.join('/'))
  files.sort((a, b) => Buffer.compare(key(a), key(b)))
  return { files, single: false }
}

// Bytes per job handed to a hash worker: large enough that posting jobs costs nothing, small enough for progress
// and for the last jobs to spread over all workers.
const POOL_JOB_BYTES = 32 * 1024 * 1024
/** Below this, booting workers costs more than they save. */
const POOL_MIN_BYTES = 64 * 1024 * 1024

function openFd(path: string): Promise<number> {
  return new Promise((res, rej) => fsOpen(path, 'r', (err, fd) => (err ? rej(err) : res(fd))))
}

/**
 * Hash on the worker pool: each worker reads its run of pieces straight from the files and hashes it, so every
 * core hashes (mktorrent uses threads too). Each file is opened once, by the first job that needs it, and closed
 * when the last job using it settles; a few jobs in flight at once keep descriptors bounded.
 */
async function hashFilesOnPool(pool: HashPool, files: InputFile[], pieceLength: number, total: number, opts: CreateOptions): Promise<Buffer> {
  const pieceCount = Math.ceil(total / pieceLength)
  const out = Buffer.alloc(pieceCount * 20)
  const perJob = Math.max(1, Math.floor(POOL_JOB_BYTES / pieceLength))
  const offsets: number[] = []
  let acc = 0
  for (const f of files) {
    offsets.push(acc)
    acc += f.length
  }
  // Open descriptors by file index, with the number of jobs in flight that use each.
  const open = new Map<number, { fd: Promise<number>; users: number }>()
  let fileCursor = 0 // first file a job not yet planned may touch: files before it are done with once idle
  const closeIfDone = (i: number) => {
    const e = open.get(i)
    if (!e || e.users > 0 || i >= fileCursor) return
    open.delete(i)
    void e.fd.then((fd) => fsClose(fd, () => {}), () => {})
  }
  const release = (i: number) => {
    open.get(i)!.users--
    closeIfDone(i)
  }
  const acquire = (i: number): Promise<number> => {
    let e = open.get(i)
    if (!e) {
      e = { fd: openFd(files[i].abs), users: 0 }
      open.set(i, e)
    }
    e.users++
    return e.fd
  }
  let hashed = 0
  const runJob = async (first: number, count: number): Promise<void> => {
    const start = first * pieceLength
    const end = Math.min(total, (first + count) * pieceLength)
    while (fileCursor < files.length && offsets[fileCursor] + files[fileCursor].length <= start) {
      fileCursor++
      closeIfDone(fileCursor - 1)
    }
    const used: number[] = []
    const segs: number[] = []
    let at = fileCursor
    try {
      for (let i = fileCursor; i < files.length && offsets[i] < end; i++) {
        at = i
        const f = files[i]
        const from = Math.max(start, offsets[i])
        const to = Math.min(end, offsets[i] + f.length)
        if (to <= from) continue
        used.push(i)
        segs.push(await acquire(i), from - offsets[i], to - from)
      }
      const lastLen = end - (first + count - 1) * pieceLength
      const digests = await pool.digests({ segs: Float64Array.from(segs), count, pieceLength, lastLen })
      digests.copy(out, first * 20)
    } catch (err) {
      throw fromSystemError(err, files[at]?.abs ?? 'input', ExitCode.io)
    } finally {
      for (const i of used) release(i)
    }
    hashed += end - start
    opts.onProgress?.(hashed, total)
  }
  const inFlight = new Set<Promise<void>>()
  let failure: unknown
  try {
    for (let nextPiece = 0; nextPiece < pieceCount && failure === undefined; ) {
      if (opts.signal?.aborted) throw new BtError('interrupted', ExitCode.interrupted)
      const first = nextPiece
      const count = Math.min(perJob, pieceCount - first)
      nextPiece += count
      const job = runJob(first, count).catch((err) => (failure ??= err)).finally(() => inFlight.delete(job))
      inFlight.add(job)
      if (inFlight.size >= pool.size * 2) await Promise.race(inFlight)
    }
  } finally {
    await Promise.all(inFlight)
    fileCursor = files.length
    for (const i of [...open.keys()]) closeIfDone(i)
  }
  if (failure !== undefined) throw failure
  return out
}

/** Hash the concatenation of `files` in pieces; reads overlap hashing (reads run on libuv's pool). */
async function hashFiles(files: InputFile[], pieceLength: number, total: number, opts: CreateOptions): Promise<Buffer> {
  const pieceCount = Math.ceil(total / pieceLength)
  const out = Buffer.alloc(pieceCount * 20)
  // Chunk: whole pieces, about 8 MiB, so hashing a chunk never waits for a piece split across reads.
  const perChunk = Math.max(1, Math.floor((8 * 1024 * 1024) / pieceLength))
  const chunkSize = perChunk * pieceLength
  const bufs = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)]
  let fileIdx = 0
  let fh: Awaited<ReturnType<typeof open>> | undefined
  let filePos = 0

  // Fill `buf` from the file list; returns bytes read (less than chunkSize only at the end).
  const fill = async (buf: Buffer): Promise<number> => {
    let n = 0
    while (n < buf.length && fileIdx < files.length) {
      if (!fh) {
        fh = await open(files[fileIdx].abs, 'r')
        filePos = 0
      }
      const want = Math.min(buf.length - n, files[fileIdx].length - filePos)
      const { bytesRead } = want > 0 ? await fh.read(buf, n, want, filePos) : { bytesRead: 0 }
      if (want > 0 && bytesRead === 0) throw new BtError(`${files[fileIdx].abs}: file shrank while hashing`, ExitCode.io)
      n += bytesRead
      filePos += bytesRead
      if (filePos >= files[fileIdx].length) {
        await fh.close()
        fh = undefined
        fileIdx++
      }
    }
    return n
  }

  try {
    let piece = 0
    let hashed = 0
    let cur = 0
    let pending = fill(bufs[0])
    while (true) {
      const n = await pending
      if (n === 0) break
      if (opts.signal?.aborted) throw new BtError('interrupted', ExitCode.interrupted)
      const buf = bufs[cur]
      cur ^= 1
      pending = n === chunkSize ? fill(bufs[cur]) : Promise.resolve(0)
      for (let off = 0; off < n; off += pieceLength) {
        createHash('sha1').update(buf.subarray(off, Math.min(n, off + pieceLength))).digest().copy(out, piece * 20)
        piece++
      }
      hashed += n
      opts.onProgress?.(hashed, total)
    }
    if (piece !== pieceCount) throw new BtError('files changed while hashing', ExitCode.io)
    return out
  } finally {
    await fh?.close()
  }
}

/** Make a torrent; returns the bencoded .torrent file. */
export async function createTorrent(path: string, opts: CreateOptions = {}): Promise<Buffer> {
  const root = resolve(path)
  const { files, single } = await collect(root)
  const total = files.reduce((s, f) => s + f.length, 0)
  const pool = total >= POOL_MIN_BYTES ? HashPool.shared() : undefined
  pool?.warm() // the workers boot while the options are checked and the first files opened
  if (files.length === 0) throw new BtError(`${path}: no files to put in a torrent`, ExitCode.usage)
  if (total === 0) throw new BtError(`${path}: all files are empty; a torrent needs at least one byte`, ExitCode.usage)
  const pieceLength = opts.pieceLength === undefined || opts.pieceLength === 'auto' ? autoPieceLength(total) : opts.pieceLength
  if (!Number.isInteger(pieceLength) || pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new BtError(`piece length must be a power of two of at least 16 KiB (got ${pieceLength})`, ExitCode.usage)
  }
  const name = opts.name ?? basename(root)
  const pieces = pool ? await hashFilesOnPool(pool, files, pieceLength, total, opts) : await hashFiles(files, pieceLength, total, opts)
  const info: Record<string, unknown> = { name, 'piece length': pieceLength, pieces }
  if (single) info.length = total
  else info.files = files.map((f) => ({ length: f.length, path: f.rel }))
  if (opts.private) info.private = 1
  if (opts.source) info.source = opts.source
  const torrent: Record<string, unknown> = { info }
  const tiers = (opts.trackers ?? []).filter((t) => t.length > 0)
  if (tiers.length > 0) torrent.announce = tiers[0][0]
  if (tiers.length > 1 || (tiers[0]?.length ?? 0) > 1) torrent['announce-list'] = tiers
  if (opts.webSeeds?.length) torrent['url-list'] = opts.webSeeds.length === 1 ? opts.webSeeds[0] : opts.webSeeds
  if (opts.comment) torrent.comment = opts.comment
  torrent['created by'] = opts.createdBy ?? 'bt'
  if (opts.creationDate !== null) torrent['creation date'] = Math.floor((opts.creationDate ?? new Date()).getTime() / 1000)
  return Buffer.from(bencode.encode(torrent))
}
