// Searches of an SQLite index on worker threads, for bt serve: one better-sqlite3 call blocks its thread for the
// whole query, so on one thread 50 clients' searches ran one after another while the event loop (HTTP, XML, JSON)
// waited behind them. Each worker holds its own read-only connection (WAL: readers never block each other or the
// writer); the main thread keeps one connection for what is cheap (get, count, has) and for writes.

import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'
import { BtError } from '../errors.js'
import type { Query } from './query/types.js'
import type { RenderSpec, SearchJob, SearchReply } from './search-worker.js'
import { SqliteIndex } from './sqlite.js'
import type { IndexStore, SearchOptions, SearchResult, StoredTorrent, TorrentRecord, UpsertResult } from './types.js'

/** Searches queued on one worker before the pool prefers another (and the bound on what waits in memory). */
const MAX_QUEUED = 1000

/** A rendered page of results: its text, and how many results it holds. */
export interface RenderedPage {
  text: string
  count: number
}

interface Slot {
  worker: Worker
  pending: Map<number, { resolve: (r: any) => void; reject: (e: Error) => void }>
  dead: boolean
}

function workerUrl(): URL | undefined {
  // Compiled: the .js beside this file. From TypeScript sources (tests under tsx): the .ts (see spawn()).
  const ts = import.meta.url.endsWith('.ts')
  const url = new URL(ts ? './search-worker.ts' : './search-worker.js', import.meta.url)
  return existsSync(fileURLToPath(url)) ? url : undefined
}

/** A worker running `url`; a .ts one registers tsx first (a worker does not inherit the loader of `--import tsx`). */
function startWorker(url: URL, options: WorkerOptions): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options)
  const tsx = import.meta.resolve('tsx/esm/api')
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}) })`, { ...options, eval: true })
}

export class SearchPool implements IndexStore {
  readonly backend = 'sqlite' as const
  readonly location: string
  private readonly slots: Slot[] = []
  private nextId = 0
  private closed = false
  /** Searches answered by a worker thread (the others ran on this thread). */
  workerSearches = 0

  private constructor(private readonly main: SqliteIndex, private readonly url: URL | undefined, threads: number) {
    this.location = main.location
    if (url) for (let i = 0; i < threads; i++) this.slots.push(this.spawn())
  }

  /**
   * The index at `path` (opened and migrated on this thread first, so that errors are reported here) with `threads`
   * search workers (default: one per core, at most 4). Without a compiled worker it searches on this thread.
   */
  static open(path: string, options: { threads?: number } = {}): SearchPool {
    const main = SqliteIndex.open(path, { readonly: true })
    const threads = Math.max(0, Math.min(16, Math.floor(options.threads ?? Math.min(4, availableParallelism()))))
    return new SearchPool(main, threads > 0 ? workerUrl() : undefined, threads)
  }

  /** How many worker threads search (0: searches run on the calling thread). */
  get threads(): number {
    return this.slots.filter((s) => !s.dead).length
  }

  private spawn(): Slot {
    // A small young generation: a worker's garbage is a few result pages; the old space holds nothing for long.
    const worker = startWorker(this.url!, { workerData: { path: this.location }, resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 128 } })
    worker.unref()
    const slot: Slot = { worker, pending: new Map(), dead: false }
    worker.on('message', (r: SearchReply) => {
      const p = slot.pending.get(r.id)
      if (!p) return
      slot.pending.delete(r.id)
      if ('result' in r || 'page' in r) {
        this.workerSearches++
        p.resolve('result' in r ? r.result : r.page)
      }
      else p.reject(rebuild(r.error))
    })
    const fail = (err: Error) => {
      if (slot.dead) return
      slot.dead = true
      for (const p of slot.pending.values()) p.reject(err)
      slot.pending.clear()
      // Replaced, unless closing: one crashed worker must not leave bt serve searching on fewer cores for good.
      const i = this.slots.indexOf(slot)
      if (!this.closed && i >= 0) this.slots[i] = this.spawn()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`search worker exited (${code})`)))
    return slot
  }

  /** The least busy worker; none when there are none (or all of them are full). */
  private slot(): Slot | undefined {
    let best: Slot | undefined
    for (const s of this.slots) if (!s.dead && (!best || s.pending.size < best.pending.size)) best = s
    return !best || best.pending.size >= MAX_QUEUED || this.closed ? undefined : best
  }

  private send<T>(slot: Slot, job: Omit<SearchJob, 'id'>): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, ...job } satisfies SearchJob)
    })
  }

  async search(query: Query, options: SearchOptions = {}): Promise<SearchResult> {
    const slot = this.slot()
    return slot ? this.send<SearchResult>(slot, { query, options }) : this.main.search(query, options)
  }

  /**
   * Search and render the page in the worker: `render` names a function of the `renderers` object exported by a
   * module (a URL the worker imports), called as fn(items, ...args). Only the text crosses back: copying 100 result
   * objects between threads cost more than rendering them.
   */
  async searchRendered(query: Query, options: SearchOptions, render: RenderSpec): Promise<RenderedPage> {
    const slot = this.slot()
    if (slot) return this.send<RenderedPage>(slot, { query, options, render })
    const items = (await this.main.search(query, options)).items
    const mod = (await import(render.module)) as { renderers: Record<string, (items: StoredTorrent[], ...a: unknown[]) => string> }
    return { text: mod.renderers[render.name](items, ...render.args), count: items.length }
  }

  get(infoHash: string): Promise<StoredTorrent | undefined> {
    return this.main.get(infoHash)
  }

  count(): Promise<number> {
    return this.main.count()
  }

  has(infoHashes: readonly string[]): Promise<Set<string>> {
    return this.main.has(infoHashes)
  }

  upsert(records: readonly TorrentRecord[]): Promise<UpsertResult> {
    return this.main.upsert(records)
  }

  updateSwarm(infoHash: string, seeders: number, leechers: number): Promise<void> {
    return this.main.updateSwarm(infoHash, seeders, leechers)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all(this.slots.map(async (s) => {
      if (s.dead) return
      const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()))
      s.worker.postMessage('close')
      // A worker stuck in a long query is terminated after a moment rather than waited for.
      const timer = setTimeout(() => void s.worker.terminate(), 2000)
      await exited
      clearTimeout(timer)
    }))
    await this.main.close()
  }
}

/** An error from a worker as the same kind of error here (a BtError keeps its exit code; SQLite's its code). */
function rebuild(e: { message: string; code?: string; exitCode?: number; name: string }): Error {
  if (e.name === 'BtError' && e.exitCode !== undefined) return new BtError(e.message, e.exitCode)
  const err = new Error(e.message) as Error & { code?: string }
  if (e.code) err.code = e.code
  return err
}
