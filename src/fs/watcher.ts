// Keeps torrentfs in step with a directory of .torrent and .magnet files: a file appearing adds its torrent, a file
// disappearing removes it, a file rewritten is swapped. inotify (fs.watch) makes it prompt; a periodic rescan makes
// it reliable when events are missed.

import { watch, type FSWatcher } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { errorMessage } from '../errors.js'
import type { MetainfoKind, MountedTorrent, TorrentProvider } from './provider.js'

/** What the watcher shows torrents in (TorrentFS). */
export interface TorrentTarget {
  add(t: MountedTorrent): string
  remove(t: MountedTorrent): void
}

export interface MetainfoWatcherOptions {
  /** Rescan period in ms, as a safety net under inotify (default 2000). */
  intervalMs?: number
  log?: (line: string) => void
  /** A metainfo file that cannot be added (bad torrent, duplicate…). */
  onError?: (path: string, err: unknown) => void
}

interface Entry {
  /** size, mtime and inode: a changed file is a different torrent. */
  sig: string
  kind: MetainfoKind
  adding: AbortController
  torrent?: MountedTorrent
}

// A file this fresh that fails to parse is probably still being written: retry quietly instead of reporting it.
const FRESH_MS = 2000
const DEBOUNCE_MS = 50

export function metainfoKind(name: string): MetainfoKind | undefined {
  if (name.startsWith('.')) return undefined
  const lower = name.toLowerCase()
  if (lower.endsWith('.torrent')) return 'torrent'
  if (lower.endsWith('.magnet')) return 'magnet'
  return undefined
}

export class MetainfoWatcher {
  readonly dir: string
  private readonly provider: TorrentProvider
  private readonly target: TorrentTarget
  private readonly intervalMs: number
  private readonly log: (line: string) => void
  private readonly onError: (path: string, err: unknown) => void
  private readonly entries = new Map<string, Entry>()
  private readonly pending = new Set<Promise<void>>()
  private watcher: FSWatcher | undefined
  private timer: NodeJS.Timeout | undefined
  private debounce: NodeJS.Timeout | undefined
  private scanning: Promise<void> | undefined
  private rescan = false
  private stopped = false
  private dirError = ''

  constructor(dir: string, provider: TorrentProvider, target: TorrentTarget, opts: MetainfoWatcherOptions = {}) {
    this.dir = dir
    this.provider = provider
    this.target = target
    this.intervalMs = opts.intervalMs ?? 2000
    this.log = opts.log ?? (() => {})
    this.onError = opts.onError ?? (() => {})
  }

  /** Scan once (starting every add), then keep watching. */
  async start(): Promise<void> {
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => this.schedule())
      this.watcher.on('error', () => {}) // the periodic scan carries on
    } catch (err) {
      this.log(`torrentfs: cannot watch ${this.dir} (${errorMessage(err)}); rescanning every ${this.intervalMs} ms`)
    }
    this.timer = setInterval(() => this.requestScan(), this.intervalMs)
    this.timer.unref()
    await this.requestScan()
  }

  /** Resolves when no scan or add is under way (for tests and for orderly startup). */
  async idle(): Promise<void> {
    while (this.scanning || this.pending.size) {
      await this.scanning
      await Promise.all([...this.pending])
    }
  }

  /** Stop watching and remove every torrent this watcher added. */
  async stop(): Promise<void> {
    this.stopped = true
    this.watcher?.close()
    clearInterval(this.timer)
    clearTimeout(this.debounce)
    await this.scanning
    for (const [name, e] of [...this.entries]) this.drop(name, e)
    await Promise.all([...this.pending])
  }

  private schedule(): void {
    if (this.stopped) return
    clearTimeout(this.debounce)
    this.debounce = setTimeout(() => void this.requestScan(), DEBOUNCE_MS)
  }

  private requestScan(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    if (this.scanning) {
      this.rescan = true
      return this.scanning
    }
    this.scanning = (async () => {
      try {
        do {
          this.rescan = false
          await this.scan()
        } while (this.rescan && !this.stopped)
      } finally {
        this.scanning = undefined
      }
    })()
    return this.scanning
  }

  private async scan(): Promise<void> {
    let names: string[]
    try {
      names = await readdir(this.dir)
      this.dirError = ''
    } catch (err) {
      const msg = errorMessage(err)
      if (msg !== this.dirError) this.onError(this.dir, err)
      this.dirError = msg
      names = []
    }
    const seen = new Set<string>()
    for (const name of names) {
      const kind = metainfoKind(name)
      if (!kind || this.stopped) continue
      const path = join(this.dir, name)
      let st
      try {
        st = await stat(path)
      } catch {
        continue // gone between readdir and stat
      }
      if (!st.isFile()) continue
      seen.add(name)
      const sig = `${st.size}:${st.mtimeMs}:${st.ino}`
      const old = this.entries.get(name)
      if (old?.sig === sig) continue
      if (old) this.drop(name, old)
      this.startAdd(name, path, kind, sig, st.mtimeMs)
    }
    for (const [name, e] of [...this.entries]) if (!seen.has(name)) this.drop(name, e)
  }

  private startAdd(name: string, path: string, kind: MetainfoKind, sig: string, mtimeMs: number): void {
    const entry: Entry = { sig, kind, adding: new AbortController() }
    this.entries.set(name, entry)
    const p = this.provider
      .add(path, kind, entry.adding.signal)
      .then(
        (t) => {
          if (this.entries.get(name) !== entry || this.stopped) {
            // Removed or replaced while its metadata was coming.
            return this.provider.remove(t)
          }
          // Shown first: if the target refuses it (the same torrent as another file), this entry never owns it.
          this.target.add(t)
          entry.torrent = t
          this.log(`torrentfs: added ${name}`)
        },
        (err) => {
          if (entry.adding.signal.aborted) return
          if (Date.now() - mtimeMs < FRESH_MS) {
            // Try again once the writer is done: forget the entry so the next scan sees it as new.
            if (this.entries.get(name) === entry) this.entries.delete(name)
            setTimeout(() => void this.requestScan(), 500).unref()
            return
          }
          this.onError(path, err)
        },
      )
      .catch((err) => this.onError(path, err))
      .finally(() => this.pending.delete(p))
    this.pending.add(p)
  }

  private drop(name: string, e: Entry): void {
    if (this.entries.get(name) === e) this.entries.delete(name)
    e.adding.abort()
    const t = e.torrent
    if (!t) return
    e.torrent = undefined
    this.target.remove(t)
    this.log(`torrentfs: removed ${name}`)
    const p = this.provider
      .remove(t)
      .catch((err) => this.onError(join(this.dir, name), err))
      .finally(() => this.pending.delete(p))
    this.pending.add(p)
  }
}
