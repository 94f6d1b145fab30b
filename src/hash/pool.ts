// A small pool of worker threads that read and SHA-1 runs of pieces straight from open descriptors, so hashing uses
// every core. It sits below metainfo (bt create) and storage (the hash check), which both import it downward. Each worker reads 1 MiB at a time and hashes it while it is still in that core's cache; measured
// here that beats reading on libuv's pool and hashing elsewhere. Idle workers are unref'd: they never hold the process.

import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'

// Plain CommonJS run with `eval`, so the pool works the same from sources (tsx) and from the build.
// A job: `segs` holds triplets (fd, file position, length) covering the pieces' bytes in order; fd -1 reads as zeros
// (pad files), fd -2 has no data. Pieces marked in `bad` are skipped without reading.
// Reads overlap hashing: while this thread hashes one 1 MiB buffer, libuv's pool reads the next into the other, so a
// worker keeps its core on SHA-1 instead of alternating between copying from the page cache and hashing.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const { read } = require('node:fs')
const BUF = 1 << 20
const bufs = [Buffer.allocUnsafe(BUF), Buffer.allocUnsafe(BUF)]
const readAt = (fd, buf, off, len, pos) => new Promise((res) => read(fd, buf, off, len, pos, (err, n) => res(err ? 0 : n)))
const run = async (msg) => {
  const segs = msg.segs
  const expected = Buffer.from(msg.expected.buffer, msg.expected.byteOffset, msg.expected.byteLength)
  const ok = new Uint8Array(msg.count)
  // Digest mode (bt create): no expected hashes; every piece's SHA-1 is returned instead.
  const out = msg.digests ? Buffer.alloc(msg.count * 20) : null
  let seg = 0
  let segOff = 0
  let at = 0 // bytes of the run consumed so far (read or skipped)
  const advance = (n) => {
    segOff += n
    at += n
    if (segOff === segs[seg + 2]) { seg += 3; segOff = 0 }
  }
  const skipTo = (end) => {
    while (at < end && seg < segs.length) advance(Math.min(end - at, segs[seg + 2] - segOff))
    if (at < end) at = end // ran off the segments: nothing more to read anyway
  }
  // Fill buf[0, len) from the segments: { n: bytes consumed, good: false when the data is not there }.
  const fill = async (buf, len) => {
    const start = at
    let o = 0
    while (o < len) {
      if (seg >= segs.length) return { n: at - start, good: false }
      const fd = segs[seg]
      const n = Math.min(len - o, segs[seg + 2] - segOff)
      if (fd === -1) buf.fill(0, o, o + n)
      else if (fd < 0) return { n: at - start, good: false }
      else {
        for (let got = 0; got < n; ) {
          const r = await readAt(fd, buf, o + got, n - got, segs[seg + 1] + segOff + got)
          if (r === 0) return { n: at - start, good: false }
          got += r
        }
      }
      o += n
      advance(n)
    }
    return { n: at - start, good: true }
  }
  const pieceEnd = (k) => k * msg.pieceLength + (k === msg.count - 1 ? msg.lastLen : msg.pieceLength)
  // Hash data for piece state.piece onwards, across piece boundaries.
  const feed = (data, state) => {
    let off = 0
    while (off < data.length) {
      const take = Math.min(data.length - off, pieceEnd(state.piece) - state.pos)
      state.hash.update(data.subarray(off, off + take))
      off += take
      state.pos += take
      if (state.pos === pieceEnd(state.piece)) {
        const d = state.hash.digest()
        if (out) { d.copy(out, state.piece * 20); ok[state.piece] = 1 }
        else if (d.equals(expected.subarray(state.piece * 20, state.piece * 20 + 20))) ok[state.piece] = 1
        state.piece++
        state.hash = createHash('sha1')
      }
    }
  }
  for (let k = 0; k < msg.count; ) {
    if (msg.bad[k]) { skipTo(pieceEnd(k)); k++; continue }
    let j = k
    while (j < msg.count && !msg.bad[j]) j++
    const stretchEnd = pieceEnd(j - 1)
    const state = { piece: k, pos: at, hash: createHash('sha1') }
    let cur = 0
    let pending = fill(bufs[cur], Math.min(stretchEnd - at, BUF))
    while (pending) {
      const r = await pending
      // Only after a good fill is the read position known, so only then may the next read start.
      pending = r.good && at < stretchEnd ? fill(bufs[cur ^ 1], Math.min(stretchEnd - at, BUF)) : undefined
      feed(bufs[cur].subarray(0, r.n), state)
      cur ^= 1
      if (!r.good) {
        // The piece holding the missing byte is bad; go on with the next one.
        skipTo(pieceEnd(state.piece))
        state.piece++
        state.pos = at
        state.hash = createHash('sha1')
        if (at < stretchEnd) pending = fill(bufs[cur], Math.min(stretchEnd - at, BUF))
      }
    }
    k = j
  }
  return { id: msg.id, ok, out }
}
// Jobs run one at a time: they share the two buffers.
let queue = Promise.resolve()
parentPort.on('message', (msg) => {
  queue = queue.then(() => run(msg)).then((res) => parentPort.postMessage(res), (err) => parentPort.postMessage({ id: msg.id, error: String(err) }))
})
`

export interface HashJob {
  /** Triplets (fd, position in file, length) covering the pieces' bytes in order; fd -1 = zeros, -2 = no data. */
  segs: Float64Array
  count: number
  pieceLength: number
  /** Length of the last piece of the run. */
  lastLen: number
  /** The run's 20-byte hashes, concatenated. */
  expected: Uint8Array
  /** Pieces known bad already (missing data): skipped, reported 0. */
  bad: Uint8Array
}

interface Pending {
  resolve: (ok: Uint8Array, out?: Uint8Array) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  jobs: Map<number, Pending>
}

export class HashPool {
  private static instance: HashPool | undefined
  readonly size: number
  private readonly slots: Array<Slot | undefined>
  private nextId = 1

  private constructor(size: number) {
    this.size = size
    this.slots = new Array(size).fill(undefined)
  }

  /**
   * The process-wide pool, or undefined on one core (the main thread is then as fast) unless `force`.
   * BT_HASH_THREADS sets the worker count; 0 turns the pool off (even with `force`). The default is one worker per
   * core, up to 8 (mktorrent too hashes on every core; past 8 the page cache copy, not SHA-1, is the limit).
   */
  static shared(force = false): HashPool | undefined {
    const env = process.env.BT_HASH_THREADS
    const n = env !== undefined && env !== '' ? Number(env) : Math.min(8, availableParallelism())
    if (!Number.isInteger(n) || n < 1 || (n < 2 && !force)) return undefined
    HashPool.instance ??= new HashPool(n)
    return HashPool.instance
  }

  /** Start every worker now, so their start-up overlaps the caller's own (a worker takes tens of ms to boot). */
  warm(): void {
    for (let i = 0; i < this.size; i++) if (!this.slots[i]) this.spawn(i)
  }

  private slot(): Slot {
    let best = 0
    for (let i = 0; i < this.size; i++) {
      const s = this.slots[i]
      if (!s) {
        best = i
        break
      }
      if (s.jobs.size < this.slots[best]!.jobs.size) best = i
    }
    return this.slots[best] ?? this.spawn(best)
  }

  private spawn(i: number): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] })
    worker.unref()
    const slot: Slot = { worker, jobs: new Map() }
    const fail = (err: Error) => {
      if (this.slots[i] === slot) this.slots[i] = undefined
      for (const job of slot.jobs.values()) job.reject(err)
      slot.jobs.clear()
    }
    worker.on('message', (msg: { id: number; ok?: Uint8Array; out?: Uint8Array; error?: string }) => {
      const job = slot.jobs.get(msg.id)
      if (!job) return
      slot.jobs.delete(msg.id)
      if (slot.jobs.size === 0) worker.unref()
      if (msg.error !== undefined || !msg.ok) job.reject(new Error(`hash worker: ${msg.error}`))
      else job.resolve(msg.ok, msg.out ?? undefined)
    })
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)))
    this.slots[i] = slot
    return slot
  }

  /**
   * SHA-1 of every piece of the run (no expected hashes needed; `expected` and `bad` are ignored), for making
   * torrents. Rejects if data is missing. The descriptors must stay open until this settles.
   */
  digests(job: Omit<HashJob, 'expected' | 'bad'>): Promise<Buffer> {
    const slot = this.slot()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, {
        resolve: (ok, out) => {
          if (!out || ok.some((v) => v === 0)) reject(new Error('file shrank while hashing'))
          else resolve(Buffer.from(out.buffer, out.byteOffset, out.byteLength))
        },
        reject,
      })
      slot.worker.ref()
      slot.worker.postMessage({ id, ...job, digests: true, expected: new Uint8Array(0), bad: new Uint8Array(job.count) })
    })
  }

  /** Per piece of the run: 1 when its data is present and matches its hash. The descriptors must stay open until this settles. */
  check(job: HashJob): Promise<Uint8Array> {
    const slot = this.slot()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject })
      slot.worker.ref()
      slot.worker.postMessage({ id, ...job })
    })
  }
}
