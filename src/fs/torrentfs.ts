// torrentfs: a read-only FUSE file system over torrents. Each open file handle owns one Reader, so the kernel's
// sequential reads grow that Reader's readahead; reads wait for missing pieces without a time limit and fail with
// EIO when the torrent goes away or the file system is unmounted.

import { read as fsRead } from 'node:fs'
import type FuseNative from 'fuse-native'
import { BtError, ExitCode, errorMessage } from '../errors.js'
import { Reader, DEFAULT_READAHEAD } from '../stream/reader.js'
import { loadFuse, lazyUnmount, prepareMountPoint, type Fuse } from './fuse.js'
import type { MountedTorrent } from './provider.js'
import type { FileLease } from '../storage/file-storage.js'
import { TorrentTree, type FileNode, type FsNode } from './tree.js'

export interface TorrentFSOptions {
  /** Largest readahead window per open file, bytes (default 64 MiB). */
  readahead?: number
  /** Diagnostics (verbose mode). */
  log?: (line: string) => void
  /** libfuse's own request trace on stderr. */
  debug?: boolean
}

interface OpenFile {
  path: string
  node: FileNode
  reader: Reader
  /**
   * The torrent file's own descriptor, when every piece of it was verified at open: reads then go straight from it
   * into fuse's buffer with one pread (no Reader, no piece waits, no priority bookkeeping), which halves the time a
   * warm read keeps the kernel waiting. Released only once no pread on it is in flight, so the descriptor number
   * cannot be reused for another file under a running read.
   */
  direct?: { lease: FileLease; inflight: number; dropped: boolean }
}

/** A read the kernel is waiting on (for the stall report). */
interface PendingRead {
  fd: number
  file: OpenFile
  pos: number
  len: number
  since: number
}

// errno values as fuse-native wants them (negative).
const ENOENT = -2
const EIO = -5
const EBADF = -9
const EACCES = -13
const ENOTDIR = -20
const EISDIR = -21
const EROFS = -30

const O_ACCMODE = 3
const O_TRUNC = 0o1000
const W_OK = 2
const X_OK = 1

const S_IFDIR = 0o040000
const S_IFREG = 0o100000

const MOUNT_TIMEOUT_MS = 15_000
// With a log (verbose), reads that have waited this long are listed every so often: a read that never ends shows
// up in the log with what it waits for, instead of as a silent hang.
const STALL_REPORT_MS = 5_000

export class TorrentFS {
  readonly mountDir: string
  readonly tree: TorrentTree
  private readonly readahead: number
  private readonly log: (line: string) => void
  private readonly logging: boolean
  private readonly debug: boolean
  private readonly mountTime = new Date()
  private readonly files = new Map<number, OpenFile>()
  private readonly pending = new Set<PendingRead>()
  private stallTimer: NodeJS.Timeout | undefined
  private nextFd = 1
  private fuse: Fuse | undefined
  private state: 'new' | 'mounting' | 'mounted' | 'unmounting' | 'unmounted' = 'new'
  private readonly uid = process.getuid?.() ?? 0
  private readonly gid = process.getgid?.() ?? 0

  constructor(mountDir: string, opts: TorrentFSOptions = {}) {
    this.mountDir = mountDir
    this.readahead = opts.readahead ?? DEFAULT_READAHEAD
    this.log = opts.log ?? (() => {})
    this.logging = opts.log !== undefined
    this.debug = opts.debug ?? false
    this.tree = new TorrentTree(this.mountTime)
  }

  get mounted(): boolean {
    return this.state === 'mounted'
  }

  /** Open file handles (each with its Reader). */
  get openFiles(): number {
    return this.files.size
  }

  /** Show a torrent; returns its root entry name. */
  add(t: MountedTorrent): string {
    const name = this.tree.add(t, t.metainfo.creationDate ?? this.mountTime)
    this.log(`torrentfs: showing ${name}`)
    return name
  }

  /** Hide a torrent and fail reads on its open files (they end with EIO). */
  remove(t: MountedTorrent): void {
    if (!this.tree.remove(t)) return
    for (const f of this.files.values()) if (f.node.torrent === t) this.closeFile(f)
    this.log(`torrentfs: removed ${t.name}`)
  }

  /** Mount at mountDir (clearing a dead mount left by a killed process first). */
  async mount(): Promise<void> {
    if (this.state !== 'new') throw new Error('torrentfs: mount() called twice')
    const Fuse = loadFuse()
    await prepareMountPoint(this.mountDir)
    this.state = 'mounting'
    const fuse = new Fuse(this.mountDir, this.operations(), {
      timeout: false, // a read waits as long as its piece takes; unmount ends the wait
      autoUnmount: true, // if this process dies, fusermount's helper unmounts
      fsname: 'torrentfs',
      subtype: 'torrentfs',
      debug: this.debug,
    })
    this.fuse = fuse
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('FUSE did not answer within 15 s')), MOUNT_TIMEOUT_MS)
        fuse.mount((err) => {
          clearTimeout(timer)
          if (err) reject(err)
          else resolve()
        })
      })
    } catch (err) {
      this.state = 'unmounted'
      const msg = errorMessage(err)
      if (/in use/i.test(msg)) throw new BtError(`${this.mountDir} is already in use as a mount point`, ExitCode.io)
      throw new BtError(`cannot mount at ${this.mountDir}: ${msg}`, ExitCode.io, { cause: err })
    }
    this.state = 'mounted'
    this.log(`torrentfs: mounted at ${this.mountDir}`)
    if (this.logging) {
      this.stallTimer = setInterval(() => this.reportStalls(STALL_REPORT_MS), STALL_REPORT_MS)
      this.stallTimer.unref()
    }
  }

  /** Fail every waiting read with EIO, then unmount (lazily, so open files do not block it). */
  async unmount(): Promise<void> {
    if (this.state !== 'mounted' && this.state !== 'mounting') return
    this.state = 'unmounting'
    clearInterval(this.stallTimer)
    for (const f of this.files.values()) this.closeFile(f)
    const fuse = this.fuse!
    const ok = await new Promise<boolean>((resolve) => fuse.unmount((err) => resolve(!err)))
    if (!ok && !(await lazyUnmount(this.mountDir))) {
      this.state = 'unmounted'
      throw new BtError(`could not unmount ${this.mountDir}; run: fusermount -uz ${this.mountDir}`, ExitCode.io)
    }
    this.state = 'unmounted'
    this.log(`torrentfs: unmounted ${this.mountDir}`)
  }

  /**
   * Log the reads that have waited at least `minMs`: file, handle, range, how long, and which of their pieces the
   * torrent does not have yet; then the torrent's own view (peers, pieces in flight). Returns how many it listed.
   */
  reportStalls(minMs = 0): number {
    const now = Date.now()
    const old = [...this.pending].filter((r) => now - r.since >= minMs)
    if (old.length === 0) return 0
    this.log(`torrentfs: ${old.length} of ${this.pending.size} reads waiting for ${minMs / 1000} s or more (${((now - this.mountTime.getTime()) / 1000).toFixed(1)} s after start)`)
    const torrents = new Set<FileNode['torrent']>()
    for (const r of old.slice(0, 64)) {
      const t = r.file.node.torrent
      torrents.add(t)
      const [first, last] = pieceSpan(r.file.node, r.pos, Math.max(1, Math.min(r.len, r.file.node.length - r.pos)))
      const missing: number[] = []
      for (let p = first; p <= last; p++) if (!t.hasPiece(p)) missing.push(p)
      this.log(`torrentfs:   ${r.file.path} fd ${r.fd} at ${r.pos} +${r.len}: ${((now - r.since) / 1000).toFixed(1)} s, pieces ${first}-${last}, missing ${missing.length ? missing.join(',') : 'none'}${r.file.reader.closed ? ' (reader closed)' : ''}`)
    }
    for (const t of torrents) if (t.describe) this.log(`torrentfs:   ${t.name}: ${t.describe()}`)
    return old.length
  }

  private statOf(node: FsNode): FuseNative.Stat {
    if (node.kind === 'dir') {
      return { mode: S_IFDIR | 0o555, size: 4096, nlink: 2, uid: this.uid, gid: this.gid, mtime: node.mtime, atime: node.mtime, ctime: node.mtime }
    }
    return {
      mode: S_IFREG | 0o444,
      size: node.length,
      nlink: 1,
      uid: this.uid,
      gid: this.gid,
      blksize: 128 * 1024,
      blocks: Math.ceil(node.length / 512),
      mtime: node.mtime,
      atime: node.mtime,
      ctime: node.mtime,
    }
  }

  /** Fail the file's waiting reads and let go of its direct descriptor (once no read uses it). */
  private closeFile(f: OpenFile): void {
    f.reader.close()
    const d = f.direct
    if (!d || d.dropped) return
    d.dropped = true
    if (d.inflight === 0) d.lease.release()
  }

  /** Whether every piece holding the file's bytes is verified (and so on disk: hasPiece is set after the write). */
  private static complete(node: FileNode): boolean {
    if (node.length === 0) return false
    const [first, last] = pieceSpan(node, 0, node.length)
    for (let p = first; p <= last; p++) if (!node.torrent.hasPiece(p)) return false
    return true
  }

  /** A descriptor for a complete file, or undefined (incomplete, padding, no support, open failed: use the Reader). */
  private async openDirect(node: FileNode): Promise<OpenFile['direct']> {
    const t = node.torrent
    if (!t.openForRead || !TorrentFS.complete(node)) return undefined
    const index = t.metainfo.files.findIndex((x) => x.offset === node.offset && x.length === node.length && !x.padding)
    if (index < 0) return undefined
    try {
      return { lease: await t.openForRead(index), inflight: 0, dropped: false }
    } catch (err) {
      this.log(`torrentfs: ${t.name}: cannot open file ${index} directly: ${errorMessage(err)}`)
      return undefined
    }
  }

  private readViaReader(f: OpenFile, fd: number, buf: Buffer, len: number, pos: number, cb: (code: number) => void): void {
    // Tracked for the stall report only, which runs only with a log.
    const entry: PendingRead | undefined = this.logging ? { fd, file: f, pos, len, since: Date.now() } : undefined
    if (entry) this.pending.add(entry)
    f.reader.read(len === buf.length ? buf : buf.subarray(0, len), pos).then(
      (n) => {
        if (entry) this.pending.delete(entry)
        cb(n)
      },
      (err) => {
        if (entry) this.pending.delete(entry)
        if (!f.reader.closed) this.log(`torrentfs: read of ${f.node.torrent.name} at ${pos} failed: ${errorMessage(err)}`)
        cb(EIO)
      },
    )
  }

  private allocFd(): number {
    // fuse-native treats 0 as "no handle"; the kernel's handle is 64-bit but fuse-native passes it as int32.
    for (;;) {
      const fd = this.nextFd
      this.nextFd = fd >= 0x7fffffff ? 1 : fd + 1
      if (!this.files.has(fd)) return fd
    }
  }

  private operations() {
    const readOnly = (...args: unknown[]) => (args[args.length - 1] as (code: number) => void)(EROFS)
    const ops = {
      getattr: (path: string, cb: (code: number, stat?: FuseNative.Stat) => void) => {
        const node = this.tree.lookup(path)
        if (!node) return cb(ENOENT)
        cb(0, this.statOf(node))
      },
      readdir: (path: string, cb: (code: number, names?: string[]) => void) => {
        const node = this.tree.lookup(path)
        if (!node) return cb(ENOENT)
        if (node.kind !== 'dir') return cb(ENOTDIR)
        cb(0, ['.', '..', ...node.children.keys()])
      },
      access: (path: string, mode: number, cb: (code: number) => void) => {
        const node = this.tree.lookup(path)
        if (!node) return cb(ENOENT)
        if (mode & W_OK) return cb(EROFS)
        if (mode & X_OK && node.kind === 'file') return cb(EACCES)
        cb(0)
      },
      statfs: (_path: string, cb: (code: number, statfs?: FuseNative.StatFs) => void) => {
        let bytes = 0
        for (const t of this.tree.torrents) bytes += t.metainfo.length
        const bsize = 4096
        const blocks = Math.min(Math.ceil(bytes / bsize), 0xffffffff)
        cb(0, { bsize, frsize: bsize, blocks, bfree: 0, bavail: 0, files: 0, ffree: 0, favail: 0, fsid: 0, flag: 1 /* ST_RDONLY */, namemax: 255 })
      },
      open: (path: string, flags: number, cb: (code: number, fd?: number) => void) => {
        if (this.state !== 'mounted') return cb(EIO)
        const node = this.tree.lookup(path)
        if (!node) return cb(ENOENT)
        if (node.kind === 'dir') return cb(EISDIR)
        if ((flags & O_ACCMODE) !== 0 || flags & O_TRUNC) return cb(EROFS)
        const reader = new Reader(node.torrent, { start: node.offset, end: node.offset + node.length, readahead: this.readahead })
        const fd = this.allocFd()
        const f: OpenFile = { path, node, reader }
        this.files.set(fd, f)
        this.openDirect(node).then((direct) => {
          if (direct && (reader.closed || this.files.get(fd) !== f)) direct.lease.release()
          else f.direct = direct
          cb(0, fd)
        }, () => cb(0, fd))
      },
      read: (_path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (code: number) => void) => {
        const f = this.files.get(fd)
        if (!f) return cb(EBADF)
        const d = f.direct
        if (!d || d.dropped || f.reader.closed) return this.readViaReader(f, fd, buf, len, pos, cb)
        const n = Math.min(len, f.node.length - pos)
        if (n <= 0) return cb(0)
        d.inflight++
        fsRead(d.lease.fd, buf, 0, n, pos, (err, got) => {
          d.inflight--
          if (d.dropped && d.inflight === 0) d.lease.release()
          // A short or failed pread (file truncated or replaced behind us) goes the checked way instead.
          if (err || got !== n) return this.readViaReader(f, fd, buf, len, pos, cb)
          cb(n)
        })
      },
      release: (_path: string, fd: number, cb: (code: number) => void) => {
        const f = this.files.get(fd)
        if (f) {
          this.closeFile(f)
          this.files.delete(fd)
        }
        cb(0)
      },
      write: readOnly,
      create: readOnly,
      truncate: readOnly,
      ftruncate: readOnly,
      utimens: readOnly,
      chown: readOnly,
      chmod: readOnly,
      mknod: readOnly,
      setxattr: readOnly,
      removexattr: readOnly,
      unlink: readOnly,
      rename: readOnly,
      link: readOnly,
      symlink: readOnly,
      mkdir: readOnly,
      rmdir: readOnly,
    }
    // A handler that throws would never answer, leaving a FUSE thread and the caller hung: answer EIO instead.
    for (const [name, fn] of Object.entries(ops) as Array<[string, (...args: unknown[]) => void]>) {
      ;(ops as Record<string, unknown>)[name] = (...args: unknown[]) => {
        try {
          fn(...args)
        } catch (err) {
          this.log(`torrentfs: ${name} failed: ${errorMessage(err)}`)
          ;(args[args.length - 1] as (code: number) => void)(EIO)
        }
      }
    }
    return ops
  }
}

/** The first and last piece holding `len` (≥ 1) bytes of the file from `pos`. */
function pieceSpan(node: FileNode, pos: number, len: number): [number, number] {
  const pl = node.torrent.metainfo.pieceLength
  const abs = node.offset + pos
  return [Math.floor(abs / pl), Math.floor((abs + len - 1) / pl)]
}
