// The daemon behind bt serve: owns the torrent list, each torrent's settings and the global settings, drives the
// session Client (a paused torrent has no live Torrent; starting one adds it again, and resume state makes that
// cheap), persists everything through StateStore, and emits events the HTTP layer turns into SSE.

import { EventEmitter } from 'node:events'
import { mkdir, unlink } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import { errorMessage } from '../errors.js'
import { parseMagnet } from '../metainfo/magnet.js'
import { parseTorrent, torrentFileFromInfo, type Metainfo } from '../metainfo/metainfo.js'
import type { PeerAddress } from '../discovery/peer-address.js'
import type { Client } from '../session/client.js'
import { Priority } from '../session/priority.js'
import type { Torrent, TorrentStats } from '../session/torrent.js'
import { ApiError, invalid, notFound } from './errors.js'
import type { AddSource } from './fetch-torrent.js'
import { Entry } from './entry.js'
import { StateStore, type SavedState, type Settings, type TorrentRecord } from './state.js'
import { highPriorityRanges, moveTorrentData, removeEmptyDirs, renameOnDisk, renamePlan, withPaths } from './relocate.js'

export { Entry, type Status } from './entry.js'

export interface AddOptions {
  downloadDir?: string
  paused?: boolean
  files?: number[]
  downloadLimit?: number
  uploadLimit?: number
  labels?: string[]
}

export interface DaemonOptions {
  client: Client
  /** Where state.json and torrents/ live ($XDG_DATA_HOME/bt/serve). */
  stateDir: string
  /** Default download directory (the saved setting wins once there is one). */
  downloadDir: string
  /** Peers every torrent also connects to (--peer). */
  peers?: PeerAddress[]
  onWarning?: (message: string) => void
  /** Failures to save state or metainfo: always worth a line. */
  onError?: (message: string) => void
  /** How often the byte counters are folded into the records and saved if they moved (tests shorten it). */
  saveEveryMs?: number
}

const SAVE_EVERY_MS = 10_000
const DEFAULT_SETTINGS = (downloadDir: string): Settings => ({
  downloadDir,
  downloadLimit: 0,
  uploadLimit: 0,
  seedRatioLimit: 2,
  seedRatioLimited: false,
  idleSeedingLimit: 30,
  idleSeedingLimitEnabled: false,
  startAddedTorrents: true,
  peerLimitPerTorrent: 80,
})

export class Daemon extends EventEmitter {
  readonly client: Client
  readonly store: StateStore
  readonly entries = new Map<string, Entry>()
  settings: Settings
  private nextId = 1
  private cumulative: SavedState['cumulative'] = { downloadedBytes: 0, uploadedBytes: 0, secondsActive: 0, sessionCount: 0, filesAdded: 0 }
  readonly startedAt = Date.now()
  private timer?: NodeJS.Timeout
  private lastSave = Date.now()
  private dirty = false
  private saving?: Promise<void>
  private nextSave?: Promise<void>
  private closed = false
  /** Ids of torrents removed lately, for Transmission's `recently-active`. */
  readonly recentlyRemoved: Array<{ id: number; at: number }> = []

  private constructor(private readonly opts: DaemonOptions) {
    super()
    this.setMaxListeners(0) // one set of listeners per SSE client
    this.client = opts.client
    this.store = new StateStore(opts.stateDir)
    this.settings = DEFAULT_SETTINGS(resolve(opts.downloadDir))
  }

  /** Load saved state and start every torrent that was not paused. */
  static async open(opts: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(opts)
    const saved = await d.store.load()
    if (saved) {
      d.settings = { ...d.settings, ...saved.settings }
      d.nextId = saved.nextId
      d.cumulative = { ...d.cumulative, ...saved.cumulative }
      for (const rec of saved.torrents) {
        const e = new Entry(rec)
        const bytes = await d.store.loadTorrent(rec.infoHash)
        if (bytes) {
          try {
            e.metainfo = withPaths(parseTorrent(bytes, `${rec.infoHash}.torrent`), rec.paths)
          } catch (err) {
            opts.onError?.(`${rec.name}: saved metainfo unreadable (${errorMessage(err)}); fetching it again`)
          }
        }
        if (!e.metainfo && !rec.magnet) {
          opts.onError?.(`${rec.name}: no metainfo and no magnet link saved; dropped`)
          continue
        }
        d.entries.set(rec.infoHash, e)
        d.nextId = Math.max(d.nextId, rec.id + 1)
      }
    }
    d.cumulative.sessionCount++
    d.client.setLimits({ download: d.settings.downloadLimit, upload: d.settings.uploadLimit })
    await mkdir(d.settings.downloadDir, { recursive: true }).catch(() => {})
    for (const e of d.entries.values()) if (!e.record.paused && !e.record.error) d.launch(e)
    // The first save must work: a daemon that cannot keep its state should say so now, not lose it later.
    await d.store.save(d.snapshot())
    d.timer = setInterval(() => d.tick(), 1000)
    d.timer.unref()
    return d
  }

  // --- queries -------------------------------------------------------------------------------------------------

  list(): Entry[] {
    return [...this.entries.values()].sort((a, b) => a.record.queuePosition - b.record.queuePosition || a.id - b.id)
  }

  /** By info hash (hex, any case) or Transmission id. */
  find(ref: string | number): Entry | undefined {
    if (typeof ref === 'number') {
      for (const e of this.entries.values()) if (e.id === ref) return e
      return undefined
    }
    return this.entries.get(ref.toLowerCase())
  }

  get(hash: string): Entry {
    if (!/^[0-9a-fA-F]{40}$/.test(hash)) throw invalid(`"${hash.slice(0, 64)}" is not an info hash (40 hex digits)`)
    const e = this.entries.get(hash.toLowerCase())
    if (!e) throw notFound(`no torrent ${hash.toLowerCase()}`)
    return e
  }

  totals(e: Entry): { downloaded: number; uploaded: number } {
    const t = e.torrent
    return {
      downloaded: e.record.downloadedEver + (t ? t.down.total - e.folded.down : 0),
      uploaded: e.record.uploadedEver + (t ? t.up.total - e.folded.up : 0),
    }
  }

  /** Torrent counts and total rates now: what the REST stats and Transmission's session-stats both report. */
  activity(): { torrents: number; active: number; stopped: number; downloadRate: number; uploadRate: number } {
    let downloadRate = 0
    let uploadRate = 0
    let active = 0
    let stopped = 0
    for (const e of this.entries.values()) {
      const s = e.stats()
      downloadRate += s?.downloadRate ?? 0
      uploadRate += s?.uploadRate ?? 0
      if (e.status === 'stopped') stopped++
      else if (e.status !== 'error') active++
    }
    return { torrents: this.entries.size, active, stopped, downloadRate: Math.round(downloadRate), uploadRate: Math.round(uploadRate) }
  }

  sessionTotals(): SavedState['cumulative'] & { current: { downloadedBytes: number; uploadedBytes: number; secondsActive: number } } {
    let down = 0
    let up = 0
    for (const e of this.entries.values()) {
      const s = e.stats()
      if (s) {
        down += s.downloaded
        up += s.uploaded
      }
    }
    return { ...this.cumulative, current: { downloadedBytes: down, uploadedBytes: up, secondsActive: Math.floor((Date.now() - this.startedAt) / 1000) } }
  }

  // --- changes -------------------------------------------------------------------------------------------------

  async add(src: AddSource, o: AddOptions = {}): Promise<{ entry: Entry; duplicate: boolean }> {
    this.assertOpen()
    const infoHash = src.kind === 'torrent' ? src.metainfo.infoHash : src.magnet.infoHash
    const existing = this.entries.get(infoHash)
    if (existing) {
      // A magnet we are still fetching metadata for gets the metainfo when someone uploads the .torrent.
      if (src.kind === 'torrent' && !existing.metainfo) await this.adoptMetainfo(existing, src.metainfo, src.bytes)
      return { entry: existing, duplicate: true }
    }
    const dir = o.downloadDir !== undefined ? checkDir(o.downloadDir) : this.settings.downloadDir
    if (o.files) checkFiles(o.files, src.kind === 'torrent' ? src.metainfo.files.length : undefined)
    const now = Math.floor(Date.now() / 1000)
    const rec: TorrentRecord = {
      id: this.nextId++,
      infoHash,
      name: src.kind === 'torrent' ? src.metainfo.name : src.magnet.name ?? infoHash,
      magnet: src.kind === 'magnet' ? src.uri : undefined,
      downloadDir: dir,
      paused: o.paused ?? !this.settings.startAddedTorrents,
      files: o.files ?? (src.kind === 'magnet' ? src.magnet.select : undefined),
      downloadLimit: checkRate(o.downloadLimit ?? 0, 'downloadLimit'),
      uploadLimit: checkRate(o.uploadLimit ?? 0, 'uploadLimit'),
      labels: o.labels ? checkLabels(o.labels) : [],
      seedRatioMode: 0,
      seedRatioLimit: this.settings.seedRatioLimit,
      seedIdleMode: 0,
      seedIdleLimit: this.settings.idleSeedingLimit,
      queuePosition: this.entries.size,
      addedDate: now,
      doneDate: 0,
      downloadedEver: 0,
      uploadedEver: 0,
      secondsDownloading: 0,
      secondsSeeding: 0,
      finished: false,
    }
    try {
      await mkdir(dir, { recursive: true })
    } catch (err) {
      throw new ApiError('invalid', `download directory ${dir}: ${errorMessage(err)}`)
    }
    const e = new Entry(rec)
    if (src.kind === 'torrent') {
      e.metainfo = src.metainfo
      await this.store.saveTorrent(infoHash, src.bytes)
    }
    this.entries.set(infoHash, e)
    this.cumulative.filesAdded += e.metainfo?.files.length ?? 0
    // Launched first: the peers are dialled while the state is written (a client that adds a magnet and streams it
    // at once waits for the metadata, not for our disk). Still saved before answering, so a torrent the client was
    // told about survives a kill -9 right after.
    if (!rec.paused) this.launch(e)
    await this.save()
    this.emit('added', e)
    return { entry: e, duplicate: false }
  }

  start(e: Entry): Promise<void> {
    this.assertOpen()
    return this.serial(e, () => this.startNow(e))
  }

  private async startNow(e: Entry): Promise<void> {
    if (this.entries.get(e.infoHash) !== e) throw notFound(`${e.record.name} was removed`)
    if (e.torrent && !e.record.paused && !e.record.error && e.torrent.state !== 'stopped') return
    await this.halt(e)
    e.record.paused = false
    e.record.finished = false
    e.record.error = undefined
    this.launch(e)
    await this.save()
    this.emit('changed', e)
  }

  stop(e: Entry): Promise<void> {
    this.assertOpen()
    return this.serial(e, () => this.stopNow(e))
  }

  private async stopNow(e: Entry): Promise<void> {
    if (this.entries.get(e.infoHash) !== e) return
    e.record.paused = true
    await this.halt(e)
    await this.save()
    this.emit('changed', e)
  }

  /** Hash-check all data again; the torrent then goes on as it was (a paused one is checked, then stays paused). */
  verify(e: Entry): Promise<void> {
    this.assertOpen()
    return this.serial(e, () => this.verifyNow(e))
  }

  private async verifyNow(e: Entry): Promise<void> {
    if (this.entries.get(e.infoHash) !== e) throw notFound(`${e.record.name} was removed`)
    if (!e.metainfo) throw new ApiError('conflict', `${e.record.name}: no metadata yet, nothing to verify`)
    const wasPaused = e.record.paused
    await this.halt(e)
    e.record.error = undefined
    const t = this.launch(e, true)
    this.emit('changed', e)
    if (wasPaused) {
      const pause = async () => {
        if (e.torrent === t && e.record.paused) await this.halt(e)
        this.emit('changed', e)
      }
      t.once('ready', () => void pause())
      t.once('error', () => void pause())
    }
  }

  remove(e: Entry, deleteData = false): Promise<void> {
    this.assertOpen()
    return this.serial(e, () => this.removeNow(e, deleteData))
  }

  private async removeNow(e: Entry, deleteData: boolean): Promise<void> {
    if (this.entries.get(e.infoHash) !== e) return // removed meanwhile
    this.entries.delete(e.infoHash)
    this.recentlyRemoved.push({ id: e.id, at: Date.now() })
    if (this.recentlyRemoved.length > 1000) this.recentlyRemoved.splice(0, this.recentlyRemoved.length - 1000)
    await this.halt(e)
    await this.store.removeTorrent(e.infoHash)
    await this.save()
    if (e.metainfo) {
      await this.client.resume.remove(e.metainfo, e.record.downloadDir).catch(() => {})
      if (deleteData) await deleteTorrentData(e.metainfo, e.record.downloadDir)
    }
    this.emit('removed', e)
  }

  setFiles(e: Entry, files: number[] | undefined): void {
    if (files) checkFiles(files, e.metainfo?.files.length)
    let sel = files ? [...new Set(files)].sort((a, b) => a - b) : undefined
    if (sel && e.metainfo && sel.length === e.metainfo.files.length) sel = undefined // every file: no selection
    e.record.files = sel
    e.torrent?.select(e.record.files)
    this.applyPriorities(e)
    this.changed(e)
  }

  /** Transmission's priority-high/normal/low for some files (-1, 0, 1); high files are fetched first. */
  setPriorities(e: Entry, files: number[], priority: -1 | 0 | 1): void {
    const count = e.metainfo?.files.length
    if (count === undefined) throw new ApiError('conflict', `${e.record.name}: no metadata yet, no files to prioritise`)
    checkFiles(files, count)
    const p = e.record.priorities ?? new Array<number>(count).fill(0)
    for (const i of files) p[i] = priority
    e.record.priorities = p.every((x) => x === 0) ? undefined : p
    this.applyPriorities(e)
    this.changed(e)
  }

  /** Give the live torrent's picker the high-priority files' pieces (replacing what it had). */
  private applyPriorities(e: Entry): void {
    const t = e.torrent
    if (!t?.picker || !e.metainfo) return
    const ranges = highPriorityRanges(e.metainfo, e.record.priorities, (i) => e.selected(i))
    // No high-priority file and no wish to undo: no handle (a handle's change refills every peer's pipeline, and in
    // the ready event that would come before a waiting stream has marked its piece).
    if (ranges.length === 0 && e.priorityHandle?.torrent !== t) return
    if (e.priorityHandle?.torrent !== t) e.priorityHandle = { torrent: t, handle: t.createPriorityHandle() }
    e.priorityHandle.handle.set(ranges.map((r) => ({ ...r, priority: Priority.high })))
  }

  /**
   * Transmission's torrent-set-location: the torrent's data now lives in `dir`. With `move` the files go there
   * (their verified pieces stay verified); without, the data is looked for there (checked from scratch).
   */
  setLocation(e: Entry, dir: string, move: boolean): Promise<void> {
    this.assertOpen()
    const to = checkDir(dir)
    return this.serial(e, async () => {
      if (this.entries.get(e.infoHash) !== e) throw notFound(`${e.record.name} was removed`)
      const from = e.record.downloadDir
      if (to === from) return
      const wasLive = e.torrent !== undefined
      await this.halt(e)
      try {
        if (move && e.metainfo) {
          const known = await this.client.resume.load(e.metainfo, from)
          await mkdir(to, { recursive: true })
          await moveTorrentData(e.metainfo, from, to)
          // What was verified there is verified here: the same bytes, renamed (stamps are taken anew).
          if (known && known.changedFiles.length === 0) await this.client.resume.save(e.metainfo, to, known.have).catch(() => {})
          await this.client.resume.remove(e.metainfo, from).catch(() => {})
        } else await mkdir(to, { recursive: true })
        e.record.downloadDir = to
      } finally {
        if (wasLive) this.launch(e)
        await this.save()
        this.emit('changed', e)
      }
    })
  }

  /** Transmission's torrent-rename-path: a file or folder of the torrent (`path` as torrent-get lists it) gets `name`. */
  renamePath(e: Entry, path: unknown, name: unknown): Promise<{ path: string; name: string }> {
    this.assertOpen()
    let out!: { path: string; name: string }
    return this.serial(e, async () => {
      if (this.entries.get(e.infoHash) !== e) throw notFound(`${e.record.name} was removed`)
      const m = e.metainfo
      if (!m) throw new ApiError('conflict', `${e.record.name}: no metadata yet, nothing to rename`)
      const plan = renamePlan(m.files.map((f) => f.path), path, name)
      const wasLive = e.torrent !== undefined
      await this.halt(e)
      try {
        await renameOnDisk(e.record.downloadDir, plan.from, plan.to)
        await removeEmptyDirs([plan.from], e.record.downloadDir)
        e.record.paths = plan.paths
        e.metainfo = withPaths(m, plan.paths)
        e.record.name = e.metainfo.name
        out = { path: plan.from.join('/'), name: plan.to[plan.to.length - 1] }
      } finally {
        if (wasLive) this.launch(e)
        await this.save()
        this.emit('changed', e)
      }
    }).then(() => out)
  }

  setLimits(e: Entry, l: { download?: number; upload?: number }): void {
    if (l.download !== undefined) e.record.downloadLimit = checkRate(l.download, 'downloadLimit')
    if (l.upload !== undefined) e.record.uploadLimit = checkRate(l.upload, 'uploadLimit')
    e.torrent?.setLimits({ download: e.record.downloadLimit, upload: e.record.uploadLimit })
    this.changed(e)
  }

  setLabels(e: Entry, labels: string[]): void {
    e.record.labels = checkLabels(labels)
    this.changed(e)
  }

  setSeedLimits(e: Entry, s: { ratioMode?: number; ratioLimit?: number; idleMode?: number; idleLimit?: number }): void {
    const mode = (v: number | undefined, what: string) => {
      if (v === undefined) return undefined
      if (v !== 0 && v !== 1 && v !== 2) throw invalid(`${what} must be 0, 1 or 2`)
      return v
    }
    const nonNeg = (v: number | undefined, what: string) => {
      if (v === undefined) return undefined
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`${what} must be a number ≥ 0`)
      return v
    }
    e.record.seedRatioMode = mode(s.ratioMode, 'seedRatioMode') ?? e.record.seedRatioMode
    e.record.seedRatioLimit = nonNeg(s.ratioLimit, 'seedRatioLimit') ?? e.record.seedRatioLimit
    e.record.seedIdleMode = mode(s.idleMode, 'seedIdleMode') ?? e.record.seedIdleMode
    e.record.seedIdleLimit = nonNeg(s.idleLimit, 'seedIdleLimit') ?? e.record.seedIdleLimit
    this.changed(e)
  }

  /** Move in the queue: to an absolute position (clamped). Positions stay 0…n-1. */
  moveInQueue(e: Entry, position: number): void {
    const order = this.list().filter((x) => x !== e)
    const pos = Math.max(0, Math.min(order.length, Math.floor(position)))
    order.splice(pos, 0, e)
    order.forEach((x, i) => (x.record.queuePosition = i))
    this.changed(e)
  }

  setSettings(s: Partial<Settings>): void {
    const next = { ...this.settings }
    if (s.downloadDir !== undefined) next.downloadDir = checkDir(s.downloadDir)
    if (s.downloadLimit !== undefined) next.downloadLimit = checkRate(s.downloadLimit, 'downloadLimit')
    if (s.uploadLimit !== undefined) next.uploadLimit = checkRate(s.uploadLimit, 'uploadLimit')
    if (s.seedRatioLimit !== undefined) {
      if (typeof s.seedRatioLimit !== 'number' || !(s.seedRatioLimit >= 0)) throw invalid('seedRatioLimit must be a number ≥ 0')
      next.seedRatioLimit = s.seedRatioLimit
    }
    for (const k of ['seedRatioLimited', 'idleSeedingLimitEnabled', 'startAddedTorrents'] as const) {
      if (s[k] !== undefined) {
        if (typeof s[k] !== 'boolean') throw invalid(`${k} must be true or false`)
        next[k] = s[k]!
      }
    }
    for (const k of ['idleSeedingLimit', 'peerLimitPerTorrent'] as const) {
      if (s[k] !== undefined) {
        if (!Number.isInteger(s[k]) || s[k]! < 0) throw invalid(`${k} must be an integer ≥ 0`)
        next[k] = s[k]!
      }
    }
    this.settings = next
    this.client.setLimits({ download: next.downloadLimit, upload: next.uploadLimit })
    for (const e of this.entries.values()) e.seen.torrent = undefined // seed limits may now be reached
    this.dirty = true
    void this.save()
    this.emit('settings', next)
  }

  /**
   * The live Torrent of `e` once its pieces can be read (metadata known, existing data checked), waiting at most
   * `timeoutMs` for a magnet's metadata.
   */
  async readable(e: Entry, timeoutMs: number, signal?: AbortSignal): Promise<Torrent> {
    const t = e.torrent
    if (!t || e.record.paused || t.state === 'stopped' || t.state === 'error') {
      throw new ApiError('conflict', `${e.record.name} is ${e.record.error ? 'in error' : 'stopped'}: start it to stream`)
    }
    if (t.picker) return t
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer)
        t.off('ready', onReady)
        t.off('stopped', onStopped)
        signal?.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve()
      }
      const onReady = () => done()
      const onStopped = () => done(new ApiError('conflict', `${e.record.name} was stopped`))
      const onAbort = () => done(new ApiError('unavailable', 'request closed'))
      const timer = setTimeout(() => done(new ApiError('unavailable', `${e.record.name}: ${t.metainfo ? 'still checking existing data' : 'no metadata yet'} after ${Math.round(timeoutMs / 1000)} s; try again`)), timeoutMs)
      t.once('ready', onReady)
      t.once('stopped', onStopped)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    return t
  }

  /** Stop everything, fold counters and save. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    const now = Date.now()
    for (const e of this.entries.values()) {
      this.fold(e)
      e.syncClock(now)
    }
    await this.client.destroy()
    this.cumulative.secondsActive += Math.floor((Date.now() - this.startedAt) / 1000)
    await this.save(true)
  }

  // --- internals -----------------------------------------------------------------------------------------------

  private serial(e: Entry, fn: () => Promise<void>): Promise<void> {
    const next = e.ops.catch(() => {}).then(fn)
    e.ops = next
    return next
  }

  private assertOpen(): void {
    if (this.closed) throw new ApiError('unavailable', 'the daemon is shutting down')
  }

  private changed(e: Entry): void {
    e.seen.torrent = undefined // its limits may have changed: the next tick looks at it again
    this.dirty = true
    void this.save()
    this.emit('changed', e)
  }

  private launch(e: Entry, verify = false): Torrent {
    const rec = e.record
    const common = { dir: rec.downloadDir, seed: true, verify, peers: this.opts.peers, select: rec.files, name: rec.name }
    let t: Torrent
    if (e.metainfo) t = this.client.add(e.metainfo, common)
    else {
      const link = parseMagnet(rec.magnet!)
      t = this.client.add(link, { ...common, name: link.name ?? rec.name })
    }
    e.torrent = t
    this.syncClock(e)
    e.folded = { down: 0, up: 0 }
    e.checked = 0
    e.seedingSince = 0
    t.setLimits({ download: rec.downloadLimit, upload: rec.uploadLimit })
    t.on('warning', (m: string) => this.opts.onWarning?.(`${rec.name}: ${m}`))
    t.on('checking', (done: number, total: number) => (e.checked = total > 0 ? done / total : 0))
    t.on('metadata', (m: Metainfo) => {
      if (e.torrent !== t) return
      void this.adoptMetainfo(e, m)
    })
    t.on('state', () => {
      if (e.torrent !== t) return
      this.syncClock(e)
      this.emit('changed', e)
    })
    t.once('ready', () => {
      if (e.torrent === t) this.applyPriorities(e)
    })
    t.on('done', () => {
      if (e.torrent !== t) return
      if (!rec.doneDate) rec.doneDate = Math.floor(Date.now() / 1000)
      this.dirty = true
      this.emit('done', e)
    })
    t.on('error', (err: unknown) => {
      if (e.torrent !== t) return
      rec.error = errorMessage(err)
      this.syncClock(e)
      this.dirty = true
      void this.save()
      this.emit('torrent-error', e, rec.error)
    })
    return t
  }

  private async adoptMetainfo(e: Entry, m: Metainfo, bytes?: Buffer): Promise<void> {
    e.metainfo = m
    e.record.name = m.name
    if (e.record.files) {
      e.record.files = e.record.files.filter((i) => i < m.files.length)
      if (e.record.files.length === 0) e.record.files = undefined
    }
    this.cumulative.filesAdded += m.files.length
    try {
      await this.store.saveTorrent(m.infoHash, bytes ?? torrentFileFromInfo(m.infoBuffer, { announce: m.announce, urlList: m.urlList }))
    } catch (err) {
      this.opts.onError?.(`${m.name}: could not save its metainfo: ${errorMessage(err)}`)
    }
    this.changed(e)
  }

  /** Stop the live torrent (if any), keeping its counters. */
  private async halt(e: Entry): Promise<void> {
    const t = e.torrent
    if (!t) return
    this.fold(e)
    e.torrent = undefined
    this.syncClock(e)
    await this.client.remove(t)
  }

  /** Add the live torrent's new byte counts to the record; true if there were any. */
  private fold(e: Entry): boolean {
    const t = e.torrent
    if (!t || (t.down.total === e.folded.down && t.up.total === e.folded.up)) return false
    e.record.downloadedEver += t.down.total - e.folded.down
    e.record.uploadedEver += t.up.total - e.folded.up
    this.cumulative.downloadedBytes += t.down.total - e.folded.down
    this.cumulative.uploadedBytes += t.up.total - e.folded.up
    e.folded = { down: t.down.total, up: t.up.total }
    return true
  }

  /**
   * Once a second. A torrent whose engine numbers did not move since the last tick costs a few comparisons here: no
   * stats object, no progress string, no record change (bench/scale.js: the per-torrent work of this tick was most
   * of an idle daemon's CPU at 1,000 torrents). The state is saved every SAVE_EVERY_MS only if something changed.
   */
  private tick(): void {
    const now = Date.now()
    const idleLimit = this.settings.idleSeedingLimitEnabled
    for (const e of this.entries.values()) {
      if (!e.clockCurrent()) this.syncClock(e, now)
      const t = e.torrent
      if (!t || e.record.paused) continue
      const seeding = e.status === 'seeding'
      if (!this.moved(e, t)) {
        // Nothing moved: only the clock-driven idle seed limit can be due.
        if (seeding && (idleLimit || e.record.seedIdleMode === 1)) this.enforceSeedLimit(e, undefined, now)
        continue
      }
      const s = t.stats()
      if (seeding) this.enforceSeedLimit(e, s, now)
      e.moving = s.downloadRate > 0 || s.uploadRate > 0
      // Only torrents whose numbers moved: a thousand idle torrents send nothing.
      const sig = `${s.have}/${s.wanted}/${Math.round(s.downloadRate)}/${Math.round(s.uploadRate)}/${s.peers}/${s.state}`
      if (sig !== e.lastProgress) {
        e.lastProgress = sig
        this.emit('progress', e)
      }
    }
    if (now - this.lastSave >= (this.opts.saveEveryMs ?? SAVE_EVERY_MS)) {
      this.lastSave = now
      for (const e of this.entries.values()) if (this.fold(e)) this.dirty = true
      if (this.dirty) void this.save()
    }
  }

  /** Did the torrent's numbers change since the last tick looked (or is its rate still decaying)? Records them. */
  private moved(e: Entry, t: Torrent): boolean {
    const v = e.seen
    const have = t.picker?.haveCount ?? -1
    if (!e.moving && v.torrent === t && v.state === t.state && v.have === have && v.down === t.down.total && v.up === t.up.total && v.peers === t.peers.size) return false
    v.torrent = t
    v.state = t.state
    v.have = have
    v.down = t.down.total
    v.up = t.up.total
    v.peers = t.peers.size
    return true
  }

  private syncClock(e: Entry, now = Date.now()): void {
    if (e.syncClock(now)) this.dirty = true
  }

  /** Transmission's seed limits: stop (and mark finished) at the ratio, or after the idle minutes without upload. */
  private enforceSeedLimit(e: Entry, s: TorrentStats | undefined, now: number): void {
    const r = e.record
    // Called with stats only when the numbers moved; without, the torrent uploaded nothing since the last look.
    if ((s?.uploadRate ?? 0) > 0 || !e.seedingSince) e.seedingSince = now
    const ratio = r.seedRatioMode === 1 ? r.seedRatioLimit : r.seedRatioMode === 0 && this.settings.seedRatioLimited ? this.settings.seedRatioLimit : undefined
    const idle = r.seedIdleMode === 1 ? r.seedIdleLimit : r.seedIdleMode === 0 && this.settings.idleSeedingLimitEnabled ? this.settings.idleSeedingLimit : undefined
    let reached = false
    if (ratio !== undefined) {
      const tot = this.totals(e)
      const base = tot.downloaded > 0 ? tot.downloaded : s?.wanted ?? 0
      reached = base > 0 && tot.uploaded / base >= ratio
    }
    if (idle !== undefined && now - e.seedingSince >= idle * 60_000) reached = true
    if (!reached) return
    r.finished = true
    void this.stop(e)
  }

  private snapshot(): SavedState {
    return {
      version: 1,
      nextId: this.nextId,
      settings: this.settings,
      torrents: [...this.entries.values()].map((e) => e.record),
      cumulative: this.cumulative,
    }
  }

  /**
   * Save the state. Saves that ask while one is being written share the next one, which snapshots the state when it
   * starts: every caller's change is on disk when its promise resolves, and a burst of adds writes twice, not n times.
   */
  private save(force = false): Promise<void> {
    if (this.closed && !force) return Promise.resolve()
    if (this.nextSave) return this.nextSave
    if (this.saving) {
      this.nextSave = this.saving.then(() => {
        this.nextSave = undefined
        return this.save(force)
      })
      return this.nextSave
    }
    this.lastSave = Date.now()
    this.dirty = false
    this.saving = this.store.save(this.snapshot()).then(
      () => {
        this.saving = undefined
      },
      (err) => {
        this.saving = undefined
        this.opts.onError?.(`could not save state: ${errorMessage(err)}`)
      },
    )
    return this.saving
  }
}

function checkDir(d: unknown): string {
  if (typeof d !== 'string' || d.length === 0 || d.length > 4096 || d.includes('\0')) throw invalid('downloadDir must be a path')
  if (!isAbsolute(d)) throw invalid(`downloadDir must be an absolute path, not "${d.slice(0, 100)}"`)
  return resolve(d)
}

function checkRate(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 2 ** 40) throw invalid(`${what} must be bytes per second (a number ≥ 0; 0 = unlimited)`)
  return Math.floor(v)
}

function checkLabels(v: unknown): string[] {
  if (!Array.isArray(v) || v.length > 100 || v.some((l) => typeof l !== 'string' || l.length === 0 || l.length > 200 || /[,\0\n]/.test(l))) {
    throw invalid('labels must be a list of up to 100 non-empty strings without commas')
  }
  return [...new Set(v as string[])]
}

function checkFiles(files: unknown, count: number | undefined): void {
  if (!Array.isArray(files) || files.some((i) => !Number.isInteger(i) || i < 0 || (count !== undefined && i >= count))) {
    throw invalid(`files must be a list of file indices${count !== undefined ? ` (0…${count - 1})` : ''}`)
  }
}

/** Delete the torrent's files (only those it names) and the directories it made, once empty. */
async function deleteTorrentData(m: Metainfo, dir: string): Promise<void> {
  for (const f of m.files) if (!f.padding) await unlink(join(dir, ...f.path)).catch(() => {})
  await removeEmptyDirs(m.files.map((f) => f.path), dir)
}
