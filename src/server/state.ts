// bt serve's own state: the torrent list with each torrent's settings, and the global settings, in
// $XDG_DATA_HOME/bt/serve/ beside the engine's resume state. Metainfo is kept as .torrent files, one per info hash.
// state.json is a whole snapshot written atomically (temp file + rename); changes after it are appended to state.log,
// one JSON line per changed torrent, so adding the thousandth torrent appends one line instead of rewriting all
// thousand (bench/scale.js: adds over REST were O(N²) in bytes written). The log is folded into a new snapshot once
// it outgrows the snapshot. A kill -9 leaves the old or the new snapshot and at worst a torn last log line (dropped).

import { appendFile, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
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

/** What the files on disk hold now, as the strings last written: the next save appends only what differs. */
interface Written {
  /** Everything but the torrents (version, nextId, settings, cumulative). */
  head: string
  /** info hash -> the record's JSON. */
  records: Map<string, string>
  /** Generation of the snapshot; the log's first line names the generation it follows. */
  gen: string
  snapshotBytes: number
  logBytes: number
}

/** Log lines: the head changed, a torrent added or changed, a torrent removed. */
type LogLine = { gen: string } | { head: Omit<SavedState, 'torrents'> } | { torrent: TorrentRecord } | { removed: string }

/** The log is folded into a snapshot once it is larger than the snapshot and than this. */
const LOG_FOLD_MIN = 64 * 1024

export class StateStore {
  readonly file: string
  readonly log: string
  readonly torrentDir: string
  private writing: Promise<void> = Promise.resolve()
  private written?: Written
  private dirMade = false

  constructor(readonly dir: string) {
    this.file = join(dir, 'state.json')
    this.log = join(dir, 'state.log')
    this.torrentDir = join(dir, 'torrents')
  }

  async load(): Promise<SavedState | undefined> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch {
      return undefined
    }
    let s: SavedState & { gen?: string }
    try {
      s = JSON.parse(text)
      if (!s || s.version !== 1 || !Array.isArray(s.torrents) || typeof s.settings !== 'object') return undefined
    } catch {
      return undefined
    }
    const logText = await readFile(this.log, 'utf8').catch(() => '')
    return replay(s, logText)
  }

  /**
   * Saves run one after another, so an older state can never overwrite a newer one. Each is the state at the call
   * (serialized now); what reaches disk is only what differs from the last save, unless the log is due a fold.
   */
  save(state: SavedState): Promise<void> {
    const { torrents, ...rest } = state
    const head = JSON.stringify(rest)
    const records = new Map<string, string>()
    for (const r of torrents) records.set(r.infoHash, JSON.stringify(r))
    this.writing = this.writing.catch(() => {}).then(() => this.write(head, records))
    return this.writing
  }

  private async write(head: string, records: Map<string, string>): Promise<void> {
    const w = this.written
    if (w && w.logBytes <= Math.max(w.snapshotBytes, LOG_FOLD_MIN)) {
      const lines: string[] = []
      if (head !== w.head) lines.push(`{"head":${head}}`)
      for (const hash of w.records.keys()) if (!records.has(hash)) lines.push(JSON.stringify({ removed: hash }))
      for (const [hash, json] of records) if (w.records.get(hash) !== json) lines.push(`{"torrent":${json}}`)
      // Removals first: a torrent removed and added again since the last save is one changed line.
      if (lines.length === 0) return
      const text = lines.join('\n') + '\n'
      this.written = undefined // until the append is known to have landed whole
      await appendFile(this.log, text)
      w.head = head
      w.records = records
      w.logBytes += Buffer.byteLength(text)
      this.written = w
      return
    }
    // A new snapshot with a new generation; then a new log that names it. A crash between the two leaves a log
    // naming the old generation, which load() ignores: the snapshot already holds everything. Random, not counted:
    // a restarted daemon's first snapshot must not share a generation with the log of the one before.
    const gen = randomBytes(8).toString('hex')
    const parts = [...records.values()]
    const text = `${head.slice(0, -1)},"gen":"${gen}","torrents":[${parts.join(',')}]}`
    this.written = undefined
    await this.atomicWrite(this.file, text)
    const first = JSON.stringify({ gen }) + '\n'
    await this.atomicWrite(this.log, first)
    this.written = { head, records, gen, snapshotBytes: Buffer.byteLength(text), logBytes: first.length }
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
    if (!this.dirMade) {
      await mkdir(this.dir, { recursive: true })
      await mkdir(this.torrentDir, { recursive: true })
      this.dirMade = true
    }
    try {
      await writeFile(tmp, data)
      await rename(tmp, file)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
  }
}

/**
 * The snapshot with the log's changes applied in order. A log that follows another generation is ignored (written
 * before the snapshot); a line that does not parse ends the log (a torn last append).
 */
export function replay(snapshot: SavedState & { gen?: string }, logText: string): SavedState {
  const { gen, torrents, ...head } = snapshot
  let state: Omit<SavedState, 'torrents'> = head
  const byHash = new Map<string, TorrentRecord>()
  for (const r of torrents) byHash.set(r.infoHash, r)
  const lines = logText.split('\n')
  let first = true
  for (const line of lines) {
    if (!line) continue
    let l: LogLine
    try {
      l = JSON.parse(line)
    } catch {
      break
    }
    if (first) {
      first = false
      if (!('gen' in l) || l.gen !== gen) break
      continue
    }
    if ('head' in l && l.head && typeof l.head === 'object') state = { ...l.head, version: 1 }
    // A changed torrent keeps its place; one added (or removed and added again) goes last.
    else if ('torrent' in l && l.torrent && typeof l.torrent.infoHash === 'string') byHash.set(l.torrent.infoHash, l.torrent)
    else if ('removed' in l && typeof l.removed === 'string') byHash.delete(l.removed)
  }
  return { ...state, torrents: [...byHash.values()] }
}
