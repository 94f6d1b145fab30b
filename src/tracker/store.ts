// Persistence of the tracker's state: the core reports changes (TrackerJournal), this unit coalesces them (a peer
// that announces ten times in a second is written once), encodes them as binary records (store-log.ts) and hands
// the batch to a writer thread every `flushMs`, which appends it to the state file. So SIGTERM (close() flushes)
// loses nothing and kill -9 loses at most the last flush window. When the file has grown to several times the live
// state, it is rewritten as a snapshot, a few thousand swarms per tick so announces never wait long. At start,
// the file is replayed into the tracker before it answers anyone. A state file from an older bt (SQLite) is read
// once and rewritten in the new form.

import type { Worker } from 'node:worker_threads'
import { existsSync, mkdirSync, openSync, readSync, closeSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, resolve, sep } from 'node:path'
import { BtError, ExitCode, errorMessage } from '../errors.js'
import { MAGIC, RecordWriter, readLog, type LogSink } from './store-log.js'
import { loadState, openDb } from './store-db.js'
import { startThread } from './thread.js'
import type { Peer, Registration, Swarm, Tracker, TrackerJournal } from './swarm.js'
import { SLOT } from './slots.js'

export interface StoreOptions {
  /** Milliseconds between flushes (default 1000). */
  flushMs?: number
  /** The log is rewritten once it holds this many bytes and twice the last snapshot (default 16 MiB). */
  compactBytes?: number
}

/** Swarms written per tick while a snapshot is being taken. */
const SNAPSHOT_SWARMS_PER_TICK = 2000

export class TrackerStore implements TrackerJournal {
  private dirtyPeers = new Set<Peer>()
  private rec = new RecordWriter()
  private dirtySwarms = new Set<Swarm>()
  private worker: Worker | undefined
  private timer: NodeJS.Timeout | undefined
  private seq = 0
  private waiting = new Map<number, (err?: string) => void>()
  private dead = false
  /** Bytes in the file since the last snapshot, and the size of that snapshot. */
  private logBytes = 0
  private snapshotBytes = 0
  private snapshotting = false
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
    const t = this.tracker
    let validLength = 0
    const sink = {
      peer: (ih: string, id: string, addr: string, seeder: boolean, last: number) => t.restorePeer(ih, id, addr, seeder, last),
      removed: (ih: string, id: string) => t.restoreRemoved(ih, id),
      completed: (ih: string, n: number) => t.restoreCompleted(ih, n),
      registration: (ih: string, name: string | null) => {
        if (name === null) t.registered.delete(ih)
        else t.registered.set(ih, { name, source: 'api' })
      },
    }
    try {
      if (existsSync(this.path)) {
        if (isSqlite(this.path)) validLength = this.migrateSqlite(sink)
        else validLength = readLog(this.path, sink)
      }
    } catch (err) {
      throw new BtError(`${this.path}: cannot open the tracker state: ${errorMessage(err)}`, ExitCode.io)
    }
    t.finishRestore()
    this.logBytes = validLength
    this.snapshotBytes = validLength
    this.worker = startThread('store-worker', { path: this.path, validLength })
    this.worker.on('message', (m: { done: number; error?: string; bytes?: number }) => {
      if (m.error) this.lastError = m.error
      if (m.bytes !== undefined) this.snapshotBytes = m.bytes
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
    return { peers: t.stats().peers, swarms: t.swarms.size, registrations: t.registered.size }
  }

  /** Reads an SQLite state of an older bt into the tracker, then replaces the file by a snapshot of it. */
  private migrateSqlite(sink: Pick<LogSink, 'peer' | 'completed' | 'registration'>): number {
    const t = this.tracker
    const db = openDb(this.path)
    try {
      loadState(db, t.toUnix(t.now() - t.peerTimeout), {
        peer: sink.peer,
        completed: sink.completed,
        registration: (ih, name, source) => { if (source === 'api') sink.registration(ih, name) },
      })
    } finally {
      db.close()
    }
    t.finishRestore()
    const w = new RecordWriter()
    for (const [ih, reg] of t.registered) w.registration(ih, reg.name)
    this.writeSnapshot(w, t.swarms.values(), Infinity)
    const data = Buffer.concat([MAGIC, w.take()])
    const tmp = `${this.path}.tmp`
    writeFileSync(tmp, data)
    renameSync(tmp, this.path)
    rmSync(`${this.path}-wal`, { force: true })
    rmSync(`${this.path}-shm`, { force: true })
    return data.length
  }

  peerChanged(p: Peer): void {
    this.dirtyPeers.add(p)
  }

  peerRemoved(ih: string, id: string): void {
    // Written at once, ahead of the batch's peers: a peer that left and came back within a window stays.
    this.rec.removed(ih, id)
  }

  swarmChanged(s: Swarm): void {
    this.dirtySwarms.add(s)
  }

  /** Records a registration made through the API (whitelist files are re-read at start and not stored). */
  registrationChanged(ih: string, reg: Registration | null): void {
    this.rec.registration(ih, reg ? reg.name : null)
  }

  /** Sends what changed since the last flush to the writer; resolves once it is written. */
  flush(close = false): Promise<void> {
    if (!this.worker) return Promise.resolve()
    const t = this.tracker
    for (const p of this.dirtyPeers) {
      // A peer removed since it was marked is not in its swarm any more: its removal is already recorded.
      if (p.idx < 0) continue
      this.rec.peerFromSlot(p.swarm.ih, p.id, p.seeder, t.toUnix(p.last), p.swarm.slots, p.idx * SLOT)
    }
    for (const s of this.dirtySwarms) this.rec.completed(s.ih, s.completed)
    // Cleared, not replaced: a new Set would grow (and rehash) its way back to a second's worth of peers.
    this.dirtyPeers.clear()
    this.dirtySwarms.clear()
    const p = this.rec.length > 0 ? this.post('append', this.rec.take(), close) : Promise.resolve()
    // Messages reach the writer in order: the close comes after the last batch.
    if (close) return Promise.all([p, this.post('close', undefined, true)]).then(() => {})
    if (!close && !this.snapshotting && this.logBytes > Math.max(this.opts.compactBytes ?? 16 << 20, 2 * this.snapshotBytes)) this.snapshot()
    return p
  }

  private post(op: 'append' | 'chunk' | 'begin' | 'end' | 'close', buf: Buffer | undefined, mustSucceed = false): Promise<void> {
    const worker = this.worker
    if (!worker) return Promise.resolve()
    if (this.dead) return mustSucceed ? Promise.reject(new BtError(`saving tracker state: ${this.lastError}`, ExitCode.io)) : Promise.resolve()
    if (buf && op === 'append') this.logBytes += buf.length
    const seq = ++this.seq
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, (err) => (err && mustSucceed ? reject(new BtError(`saving tracker state: ${err}`, ExitCode.io)) : resolve()))
      if (buf) {
        // RecordWriter.take() gives a Buffer over an ArrayBuffer of its own: it moves to the writer without a copy.
        const ab = (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length ? buf.buffer : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)) as ArrayBuffer
        worker.postMessage({ seq, op, buf: ab }, [ab])
      } else worker.postMessage({ seq, op })
    })
  }

  /**
   * Rewrites the file as the live state, a slice of swarms per tick. Batches flushed meanwhile go to both files in
   * order, so whatever a chunk and a batch both say about a peer, the later one (the newer state) wins at load.
   */
  private snapshot(): void {
    this.snapshotting = true
    void this.post('begin', undefined)
    const w = new RecordWriter()
    const t = this.tracker
    for (const [ih, reg] of t.registered) if (reg.source === 'api') w.registration(ih, reg.name)
    const it = t.swarms.values()
    const step = () => {
      if (!this.worker) { this.snapshotting = false; return }
      const more = this.writeSnapshot(w, it, SNAPSHOT_SWARMS_PER_TICK)
      if (w.length > 0) void this.post('chunk', w.take())
      if (more) { setImmediate(step); return }
      void this.post('end', undefined).then(() => {
        this.logBytes = this.snapshotBytes
        this.snapshotting = false
      })
    }
    step()
  }

  /** Records for up to `max` swarms from `it`; true when swarms remain. */
  private writeSnapshot(w: RecordWriter, it: Iterator<Swarm>, max: number): boolean {
    const t = this.tracker
    for (let n = 0; n < max; n++) {
      const r = it.next()
      if (r.done) return false
      const s = r.value
      if (s.completed > 0) w.completed(s.ih, s.completed)
      for (const p of s.peers.values()) w.peerFromSlot(s.ih, p.id, p.seeder, t.toUnix(p.last), s.slots, p.idx * SLOT)
    }
    return true
  }

  /** Final flush, then the file is synced and closed. */
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

function isSqlite(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const b = Buffer.alloc(16)
    readSync(fd, b, 0, 16, 0)
    return b.toString('latin1') === 'SQLite format 3\0'
  } finally {
    closeSync(fd)
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
