// Resume state: which pieces of a torrent are known to be on disk in one download directory, with each file's size
// and mtime at the time, so a restart trusts only files nobody touched since. One small JSON file per torrent + dir.

import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import type { Metainfo } from '../metainfo/metainfo.js'
import { ioError } from './file-storage.js'

export interface ResumeState {
  /** Per piece: 1 = complete on disk when saved. */
  have: Uint8Array
  /** File indices whose size or mtime differ from what was saved, or that are missing. */
  changedFiles: number[]
}

/** $XDG_DATA_HOME/bt, else ~/.local/share/bt. Not created here. */
export function stateDir(): string {
  const xdg = process.env.XDG_DATA_HOME
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share')
  return join(base, 'bt')
}

const VERSION = 1

interface SavedFile {
  /** Byte size, or -1 when the file did not exist. */
  size: number
  /** mtime in nanoseconds since the epoch, as a decimal string (bigint precision). */
  mtime: string
}

interface SavedState {
  version: number
  infoHash: string
  dir: string
  pieceCount: number
  /** BitTorrent bitfield (high bit first), base64. */
  have: string
  /** One per m.files entry; null for pad and zero-length files (they hold no piece data). */
  files: Array<SavedFile | null>
}

/** Files that can hold piece data: everything but pad files and empty files. */
function holdsData(m: Metainfo, i: number): boolean {
  return !m.files[i].padding && m.files[i].length > 0
}

async function fileStamp(path: string): Promise<SavedFile> {
  try {
    const st = await stat(path, { bigint: true })
    if (!st.isFile()) return { size: -1, mtime: '0' }
    return { size: Number(st.size), mtime: st.mtimeNs.toString() }
  } catch {
    return { size: -1, mtime: '0' }
  }
}

/** Stamps of the data-holding files, a bounded number of stats at a time. */
async function stamps(m: Metainfo, dir: string): Promise<Array<SavedFile | null>> {
  const out: Array<SavedFile | null> = m.files.map(() => null)
  let next = 0
  const worker = async () => {
    while (next < m.files.length) {
      const i = next++
      if (holdsData(m, i)) out[i] = await fileStamp(join(dir, ...m.files[i].path))
    }
  }
  await Promise.all(Array.from({ length: Math.min(32, m.files.length) }, worker))
  return out
}

function packBits(have: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.ceil(have.length / 8))
  for (let i = 0; i < have.length; i++) if (have[i]) out[i >> 3] |= 0x80 >> (i & 7)
  return out
}

function unpackBits(bits: Buffer, count: number): Uint8Array | undefined {
  if (bits.length !== Math.ceil(count / 8)) return undefined
  const out = new Uint8Array(count)
  for (let i = 0; i < count; i++) out[i] = (bits[i >> 3] >> (7 - (i & 7))) & 1
  return out
}

function isStamp(v: unknown): v is SavedFile {
  const f = v as SavedFile
  return typeof f === 'object' && f !== null && Number.isInteger(f.size) && typeof f.mtime === 'string' && /^\d+$/.test(f.mtime)
}

export class ResumeStore {
  readonly dir: string
  private dirMade = false

  constructor(dir?: string) {
    this.dir = dir ?? join(stateDir(), 'resume')
  }

  /** The resume file for this torrent in this download directory. */
  fileFor(m: Metainfo, downloadDir: string): string {
    const dirHash = createHash('sha1').update(resolve(downloadDir)).digest('hex').slice(0, 16)
    return join(this.dir, `${m.infoHash}-${dirHash}.resume`)
  }

  async load(m: Metainfo, downloadDir: string): Promise<ResumeState | undefined> {
    const dir = resolve(downloadDir)
    let saved: SavedState
    try {
      saved = JSON.parse(await readFile(this.fileFor(m, dir), 'utf8'))
    } catch {
      return undefined // absent, unreadable or torn: as if never saved
    }
    if (
      typeof saved !== 'object' || saved === null ||
      saved.version !== VERSION ||
      saved.infoHash !== m.infoHash ||
      saved.dir !== dir ||
      saved.pieceCount !== m.pieceCount ||
      typeof saved.have !== 'string' ||
      !Array.isArray(saved.files) ||
      saved.files.length !== m.files.length
    ) {
      return undefined
    }
    const have = unpackBits(Buffer.from(saved.have, 'base64'), m.pieceCount)
    if (!have) return undefined
    for (let i = 0; i < m.files.length; i++) {
      if (holdsData(m, i) && !isStamp(saved.files[i])) return undefined
    }
    const now = await stamps(m, dir)
    const changedFiles: number[] = []
    for (let i = 0; i < m.files.length; i++) {
      const a = saved.files[i]
      const b = now[i]
      if (!a || !b) continue
      if (b.size < 0 || a.size !== b.size || a.mtime !== b.mtime) changedFiles.push(i)
    }
    return { have, changedFiles }
  }

  async save(m: Metainfo, downloadDir: string, have: Uint8Array): Promise<void> {
    if (have.length !== m.pieceCount) throw new RangeError(`have has ${have.length} entries, the torrent ${m.pieceCount} pieces`)
    const dir = resolve(downloadDir)
    // Stamps are taken after the caller's writes of every piece in `have` completed, so they cover that data;
    // anything written later changes an mtime and gets re-checked.
    const state: SavedState = {
      version: VERSION,
      infoHash: m.infoHash,
      dir,
      pieceCount: m.pieceCount,
      have: packBits(have).toString('base64'),
      files: await stamps(m, dir),
    }
    const file = this.fileFor(m, dir)
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      // The directory is made once, not per save (a thousand torrents saved every few seconds); made again if it went.
      if (!this.dirMade) await mkdir(this.dir, { recursive: true })
      this.dirMade = true
      const text = JSON.stringify(state)
      await writeFile(tmp, text).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
        await mkdir(this.dir, { recursive: true })
        await writeFile(tmp, text)
      })
      await rename(tmp, file)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw ioError(file, err)
    }
  }

  async remove(m: Metainfo, downloadDir: string): Promise<void> {
    const file = this.fileFor(m, downloadDir)
    try {
      await unlink(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(file, err)
    }
  }
}
