// Persistence of the tracker's state: the core reports changes (TrackerJournal), this unit coalesces them (a peer
// that announces ten times in a second is written once) and hands a batch to a writer thread every `flushMs`. So
// SIGTERM (close() flushes) loses nothing and kill -9 loses at most the last flush window. At start, load() restores
// unexpired peers, completed counts and registrations before the tracker answers anyone.

import { Worker } from 'node:worker_threads'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, resolve, sep } from 'node:path'
import { BtError, ExitCode, errorMessage } from '../errors.js'
import { loadState, openDb, type StoreBatch } from './store-db.js'
import type { Peer, Registration, Swarm, Tracker, TrackerJournal } from './swarm.js'

export interface StoreOptions {
  /** Milliseconds between flushes (default 1000). */
  flushMs?: number
}

export class TrackerStore implements TrackerJournal {
  private dirtyPeers = new Set<Peer>()
  private removed: string[] = []
  private dirtySwarms = new Set<Swarm>()
  private regs = new Map<string, [string | null, string]>()
  private worker: Worker | undefined
  private timer: NodeJS.Timeout | undefined
  private seq = 0
  private waiting = new Map<number, (err?: string) => void>()
  private lastPrune = 0
  private dead = false
  /** The last write error, for /stats and logs; writing goes on with the next batch. */
  lastError: string | undefined

  constructor(private readonly tracker: Tracker, readonly path: string, private readonly opts: StoreOptions = {}) {}

  /** Reads the saved state into the tracker, then starts the writer thread and attaches as its journal. */
  open(): { peers: number; swarms: number; registrations: number } {
    try {
      makeDirs(dirname(resolve(this.path)))
    } catch (err) {
      throw new BtError(`${this.path}: cannot create its directory: ${errorMessage(err)}`, ExitCode.io)
    }
    let db
    try {
      db = openDb(this.path)
    } catch (err) {
      throw new BtError(`${this.path}: cannot open the tracker state: ${errorMessage(err)}`, ExitCode.io)
    }
    const t = this.tracker
    let peers = 0
    let registrations = 0
    try {
      loadState(db, t.toUnix(t.now() - t.peerTimeout), {
        peer: (ih, id, addr, seeder, last) => { t.restorePeer(ih, id, addr, seeder, last); peers++ },
        completed: (ih, n) => t.restoreCompleted(ih, n),
        registration: (ih, name, source) => {
          if (source === 'api') { t.registered.set(ih, { name, source }); registrations++ }
        },
      })
    } finally {
      db.close()
    }
    // Under tsx (tests) the worker is TypeScript too and needs the loader; built code runs the .js file as is.
    const workerUrl = new URL(`./store-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
    this.worker = import.meta.url.endsWith('.ts')
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(workerUrl.href)}))`, { eval: true, workerData: { path: this.path } })
      : new Worker(workerUrl, { workerData: { path: this.path } })
    this.worker.on('message', (m: { done: number; error?: string }) => {
      if (m.error) this.lastError = m.error
      const w = this.waiting.get(m.done)
      this.waiting.delete(m.done)
      w?.(m.error)
    })
    // A dead writer must not leave flush() waiting forever: answer every waiter with the error.
    const fail = (msg: string) => {
      this.lastError = msg
      this.dead = true
      for (const w of this.waiting.values()) w(msg)
      this.waiting.clear()
    }
    this.worker.on('error', (err) => fail(errorMessage(err)))
    this.worker.on('exit', (code) => fail(`state writer exited (code ${code})`))
    t.journal = this
    this.timer = setInterval(() => void this.flush(), this.opts.flushMs ?? 1000)
    this.timer.unref()
    return { peers, swarms: t.swarms.size, registrations }
  }

  peerChanged(p: Peer): void {
    this.dirtyPeers.add(p)
  }

  peerRemoved(ih: string, id: string): void {
    this.removed.push(ih + id)
  }

  swarmChanged(s: Swarm): void {
    this.dirtySwarms.add(s)
  }

  /** Records a registration made through the API (whitelist files are re-read at start and not stored). */
  registrationChanged(ih: string, reg: Registration | null): void {
    this.regs.set(ih, [reg ? reg.name : null, reg ? reg.source : 'api'])
  }

  /** Sends what changed since the last flush to the writer; resolves once it is committed. */
  flush(close = false): Promise<void> {
    const worker = this.worker
    if (!worker) return Promise.resolve()
    const t = this.tracker
    const b: StoreBatch = { ih: [], id: [], addr: [], seeder: [], last: [], removed: this.removed, swarms: [], registrations: [], pruneBefore: 0 }
    for (const p of this.dirtyPeers) {
      // A peer removed since it was marked is not in its swarm any more: its deletion is in `removed`.
      if (p.swarm.peers.get(p.id) !== p) continue
      b.ih.push(p.swarm.ih)
      b.id.push(p.id)
      b.addr.push(p.addr)
      b.seeder.push(p.seeder ? 1 : 0)
      b.last.push(t.toUnix(p.last))
    }
    for (const s of this.dirtySwarms) b.swarms.push([s.ih, s.completed])
    for (const [ih, [name, source]] of this.regs) b.registrations.push([ih, name, source])
    const nowUnix = Math.floor(Date.now() / 1000)
    if (nowUnix - this.lastPrune >= 60) {
      this.lastPrune = nowUnix
      b.pruneBefore = t.toUnix(t.now() - t.peerTimeout)
    }
    this.dirtyPeers = new Set()
    this.removed = []
    this.dirtySwarms = new Set()
    this.regs = new Map()
    const seq = ++this.seq
    const empty = b.ih.length + b.removed.length + b.swarms.length + b.registrations.length === 0 && b.pruneBefore === 0
    if (empty && !close) return Promise.resolve()
    if (this.dead) return close ? Promise.reject(new BtError(`saving tracker state: ${this.lastError}`, ExitCode.io)) : Promise.resolve()
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, (err) => (err && close ? reject(new BtError(`saving tracker state: ${err}`, ExitCode.io)) : resolve()))
      worker.postMessage({ seq, batch: b, close })
    })
  }

  /** Final flush, then the file is checkpointed and closed. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    if (!this.worker) return
    this.tracker.journal = undefined
    const w = this.worker
    try {
      await this.flush(true)
    } finally {
      this.worker = undefined
      await w.terminate()
    }
  }
}

/**
 * mkdir -p, one level at a time: node 20's `mkdirSync(p, { recursive: true })` never returns for a path under /proc.
 */
function makeDirs(dir: string): void {
  const parts = dir.split(sep)
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join(sep) || sep
    if (!existsSync(p)) mkdirSync(p)
  }
}
