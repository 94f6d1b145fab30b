// A stand-in for a swarm-backed torrent: real files and a real .torrent, but pieces become available only when the
// test says so. It records priority wishes, and refuses reads of pieces that are not available (a Reader bug).
import { mkdirSync, writeFileSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createHash } from 'node:crypto'
import { BtError, ExitCode } from '../../src/errors.js'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent, type Metainfo } from '../../src/metainfo/metainfo.js'
import { Priority, type PriorityHandle } from '../../src/session/priority.js'
import type { MountedTorrent } from '../../src/fs/provider.js'
import { seededBytes } from '../helpers/tmp.js'

type Ranges = ReadonlyArray<{ first: number; last: number; priority: Priority }>

export class ScriptedTorrent implements MountedTorrent {
  readonly metainfo: Metainfo
  readonly name: string
  readonly available: Uint8Array
  /** Wishes of every live handle. */
  readonly wishes = new Map<object, Ranges>()
  handlesCreated = 0
  handlesReleased = 0
  readAtCalls = 0
  /** A readAt of a piece that was not available: the Reader read too early. */
  badReads = 0
  /** File descriptors handed out by openForRead, and how many of them are still held. */
  leasesOpened = 0
  leasesHeld = 0
  /** Where file i's own bytes are (openForRead); unset: the torrent offers no direct reads. */
  filePath: ((i: number) => string) | undefined
  private readonly blob: string
  private fh: Promise<FileHandle> | undefined
  private readonly waiters = new Map<number, Set<() => void>>()
  private readonly killers = new Set<(err: unknown) => void>()
  private destroyed: BtError | undefined

  constructor(metainfo: Metainfo, blobPath: string) {
    this.metainfo = metainfo
    this.name = metainfo.name
    this.blob = blobPath
    this.available = new Uint8Array(metainfo.pieceCount)
  }

  makeAvailable(...pieces: number[]): void {
    for (const p of pieces) {
      this.available[p] = 1
      const set = this.waiters.get(p)
      this.waiters.delete(p)
      if (set) for (const fn of set) fn()
    }
  }

  makeAllAvailable(): void {
    for (let p = 0; p < this.metainfo.pieceCount; p++) if (!this.available[p]) this.makeAvailable(p)
  }

  makeUnavailable(...pieces: number[]): void {
    for (const p of pieces) this.available[p] = 0
  }

  /** The combined wish for piece i over live handles (highest wins). */
  priority(i: number): Priority {
    let best: Priority = Priority.none
    for (const ranges of this.wishes.values()) for (const r of ranges) if (i >= r.first && i <= r.last && r.priority > best) best = r.priority
    return best
  }

  /** Pieces wished at exactly `priority`. */
  piecesAt(priority: Priority): number[] {
    const out: number[] = []
    for (let i = 0; i < this.metainfo.pieceCount; i++) if (this.priority(i) === priority) out.push(i)
    return out
  }

  hasPiece(index: number): boolean {
    return this.available[index] === 1
  }

  waitPiece(index: number, signal?: AbortSignal): Promise<void> {
    if (this.destroyed) return Promise.reject(this.destroyed)
    if (this.available[index]) return Promise.resolve()
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(index)
      if (!set) this.waiters.set(index, (set = new Set()))
      const done = () => {
        cleanup()
        resolve()
      }
      const kill = (err: unknown) => {
        cleanup()
        reject(err)
      }
      const onAbort = () => kill(signal!.reason)
      const cleanup = () => {
        set!.delete(done)
        this.killers.delete(kill)
        signal?.removeEventListener('abort', onAbort)
      }
      set.add(done)
      this.killers.add(kill)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  async readAt(buf: Buffer, position: number): Promise<number> {
    this.readAtCalls++
    if (this.destroyed) throw this.destroyed
    const pl = this.metainfo.pieceLength
    const n = Math.min(buf.length, this.metainfo.length - position)
    for (let p = Math.floor(position / pl); p <= Math.floor((position + n - 1) / pl); p++) {
      if (!this.available[p]) {
        this.badReads++
        throw new Error(`readAt of piece ${p}, which is not available`)
      }
    }
    this.fh ??= open(this.blob, 'r')
    const { bytesRead } = await (await this.fh).read(buf, 0, n, position)
    return bytesRead
  }

  openForRead?(i: number): Promise<{ fd: number; release(): void }> {
    if (!this.filePath) return Promise.reject(new Error('no direct reads'))
    return open(this.filePath(i), 'r').then((fh) => {
      this.leasesOpened++
      this.leasesHeld++
      let held = true
      return {
        fd: fh.fd,
        release: () => {
          if (!held) return
          held = false
          this.leasesHeld--
          void fh.close()
        },
      }
    })
  }

  createPriorityHandle(): PriorityHandle {
    this.handlesCreated++
    const key = {}
    let released = false
    return {
      set: (ranges) => {
        if (released) throw new Error('set() after release()')
        this.wishes.set(key, ranges.slice())
      },
      release: () => {
        if (released) return
        released = true
        this.handlesReleased++
        this.wishes.delete(key)
      },
    }
  }

  destroy(): void {
    this.destroyed ??= new BtError(`${this.name}: torrent removed`, ExitCode.io)
    for (const kill of [...this.killers]) kill(this.destroyed)
    this.fh?.then((fh) => fh.close()).catch(() => {})
  }
}

export interface Fixture {
  torrent: ScriptedTorrent
  /** The .torrent file bytes. */
  torrentFile: Buffer
  /** Directory the torrent was made from (its data, as a download directory holds it). */
  dataDir: string
  /** Relative path (below the torrent name for multi-file) → contents. */
  files: Map<string, Buffer>
}

/**
 * Make files (deterministic contents), a torrent of them and a ScriptedTorrent over them. `files` maps relative
 * paths to lengths; a single entry named like `name` makes a single-file torrent.
 */
export async function makeFixture(dir: string, name: string, files: Record<string, number>, pieceLength: number, opts: { single?: boolean; seed?: number; creationDate?: Date } = {}): Promise<Fixture> {
  const dataDir = join(dir, `data-${name}`)
  const contents = new Map<string, Buffer>()
  let seed = opts.seed ?? 7
  const root = opts.single ? join(dataDir, name) : join(dataDir, name)
  for (const [rel, length] of Object.entries(files)) {
    const p = opts.single ? root : join(root, rel)
    mkdirSync(dirname(p), { recursive: true })
    const data = length > 0 ? seededBytes(length, seed++) : Buffer.alloc(0)
    writeFileSync(p, data)
    contents.set(rel, data)
  }
  const torrentFile = await createTorrent(root, { pieceLength, creationDate: opts.creationDate ?? new Date('2024-05-06T07:08:09Z') })
  const metainfo = parseTorrent(torrentFile)
  // The torrent's concatenated data, in the torrent's file order.
  const blob = join(dir, `blob-${name}`)
  const parts = metainfo.files.map((f) => contents.get(opts.single ? name : f.path.slice(1).join('/'))!)
  writeFileSync(blob, Buffer.concat(parts))
  const torrent = new ScriptedTorrent(metainfo, blob)
  torrent.filePath = (i) => join(dataDir, ...metainfo.files[i].path)
  return { torrent, torrentFile, dataDir, files: contents }
}

export function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex')
}
