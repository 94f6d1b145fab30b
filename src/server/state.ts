// bt serve's own state: the torrent list with each torrent's settings, and the global settings, in
// $XDG_DATA_HOME/bt/serve/ beside the engine's resume state. Written atomically (temp file + rename), so a kill -9
// leaves either the old or the new file, never a torn one. Metainfo is kept as .torrent files, one per info hash.

import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { stateDir } from '../storage/resume.js'

/** One torrent as the daemon remembers it across restarts. */
export interface TorrentRecord {
  /** Transmission's small integer id; stable within this state directory. */
  id: number
  infoHash: string
  name: string
  /** The magnet link it was added by (kept until metadata arrives; then the .torrent is saved). */
  magnet?: string
  downloadDir: string
  paused: boolean
  /** Selected file indices; absent = all. */
  files?: number[]
  /** Transmission file priorities per file index (-1 low, 0 normal, 1 high); absent = all normal. */
  priorities?: number[]
  /** Every file's path after torrent-rename-path (absent = the metainfo's own paths). */
  paths?: string[][]
  /** Bytes per second; 0 = no per-torrent limit. */
  downloadLimit: number
  uploadLimit: number
  labels: string[]
  /** Transmission's seed ratio mode: 0 global, 1 this torrent's limit, 2 unlimited. */
  seedRatioMode: number
  seedRatioLimit: number
  seedIdleMode: number
  seedIdleLimit: number
  queuePosition: number
  /** Seconds since the epoch. */
  addedDate: number
  doneDate: number
  /** Totals of earlier runs; the live torrent's counters are added on top. */
  downloadedEver: number
  uploadedEver: number
  secondsDownloading: number
  secondsSeeding: number
  /** Stopped because its seed limit was reached (Transmission's isFinished). */
  finished: boolean
  error?: string
}

export interface Settings {
  downloadDir: string
  /** Bytes per second; 0 = unlimited. */
  downloadLimit: number
  uploadLimit: number
  seedRatioLimit: number
  seedRatioLimited: boolean
  idleSeedingLimit: number
  idleSeedingLimitEnabled: boolean
  startAddedTorrents: boolean
  peerLimitPerTorrent: number
}

export interface SavedState {
  version: 1
  nextId: number
  settings: Settings
  torrents: TorrentRecord[]
  cumulative: { downloadedBytes: number; uploadedBytes: number; secondsActive: number; sessionCount: number; filesAdded: number }
}

export function serveStateDir(base = stateDir()): string {
  return join(base, 'serve')
}

export class StateStore {
  readonly file: string
  readonly torrentDir: string
  private writing: Promise<void> = Promise.resolve()

  constructor(readonly dir: string) {
    this.file = join(dir, 'state.json')
    this.torrentDir = join(dir, 'torrents')
  }

  async load(): Promise<SavedState | undefined> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch {
      return undefined
    }
    try {
      const s = JSON.parse(text) as SavedState
      if (s && s.version === 1 && Array.isArray(s.torrents) && typeof s.settings === 'object') return s
    } catch {}
    return undefined
  }

  /** Saves run one after another, so an older snapshot can never overwrite a newer one. */
  save(state: SavedState): Promise<void> {
    const text = JSON.stringify(state)
    this.writing = this.writing.catch(() => {}).then(() => this.atomicWrite(this.file, text))
    return this.writing
  }

  async saveTorrent(infoHash: string, bytes: Buffer): Promise<void> {
    await this.atomicWrite(join(this.torrentDir, `${infoHash}.torrent`), bytes)
  }

  async loadTorrent(infoHash: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.torrentDir, `${infoHash}.torrent`))
    } catch {
      return undefined
    }
  }

  async removeTorrent(infoHash: string): Promise<void> {
    await unlink(join(this.torrentDir, `${infoHash}.torrent`)).catch(() => {})
  }

  private async atomicWrite(file: string, data: string | Buffer): Promise<void> {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    await mkdir(join(file, '..'), { recursive: true })
    try {
      await writeFile(tmp, data)
      await rename(tmp, file)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
  }
}
