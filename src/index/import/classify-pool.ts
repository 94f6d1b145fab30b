// Work off the main thread for `bt import`: worker threads (one per core but one, at most four) parse, classify
// and encode a batch while the main thread writes the previous one to the store. Falls back to nothing (the main
// thread does it all) when workers cannot start, e.g. when running from TypeScript sources.

import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { TorrentRecord } from '../types.js'
import type { ClassifyJob, ClassifyReply, LineResult, LinesJob, LinesReply } from './classify-worker.js'

export class ClassifyPool {
  private readonly workers: Worker[] = []
  private readonly pending = new Map<number, { resolve: (r: any) => void; reject: (e: Error) => void }>()
  private nextId = 0
  private turn = 0

  private constructor(url: URL, size: number) {
    for (let i = 0; i < size; i++) {
      // Small heaps: the classifier keeps nothing between torrents, and each thread's heap adds to the RSS.
      const w = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 32 } })
      w.unref()
      w.on('message', (r: ClassifyReply | LinesReply) => {
        this.pending.get(r.id)?.resolve(r)
        this.pending.delete(r.id)
      })
      w.on('error', (err) => this.failAll(err))
      this.workers.push(w)
    }
  }

  /** A pool, or undefined when there is one core only or the compiled worker is not there. */
  static create(threads?: number): ClassifyPool | undefined {
    // The main thread writes (SQLite has one writer); the other cores prepare. More than four only adds memory
    // (~20–40 MiB each): by then the writer is the bottleneck.
    const size = threads ?? Math.min(4, availableParallelism() - 1)
    const url = new URL('./classify-worker.js', import.meta.url)
    if (size < 1 || !existsSync(fileURLToPath(url))) return undefined
    try {
      return new ClassifyPool(url, size)
    } catch {
      return undefined
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }

  /**
   * Classify the records (in slices across the workers) and attach the result as `classified`, which the store uses
   * instead of classifying again. Records that fail are left as they are.
   */
  async classify(records: TorrentRecord[]): Promise<void> {
    const n = this.workers.length
    const slice = Math.ceil(records.length / n)
    const jobs: Promise<void>[] = []
    for (let start = 0; start < records.length; start += slice) {
      const part = records.slice(start, start + slice)
      const id = this.nextId++
      const worker = this.workers[this.turn++ % n]
      const items = part.map((r) => ({ name: typeof r.name === 'string' ? r.name : '', files: Array.isArray(r.files) ? r.files : undefined }))
      jobs.push(new Promise<ClassifyReply>((resolve, reject) => {
        this.pending.set(id, { resolve, reject })
        worker.postMessage({ id, items } satisfies ClassifyJob)
      }).then((reply) => {
        reply.results.forEach((c, i) => {
          if (c) part[i].classified = c
        })
      }))
    }
    await Promise.all(jobs)
  }

  private send<R>(worker: Worker, job: ClassifyJob | LinesJob): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject })
      worker.postMessage(job)
    })
  }

  /** Lines of an NDJSON or magnet-link input made into finished rows (see LineResult), in slices across the workers. */
  async prepareLines(lines: string[], now: number): Promise<LineResult[]> {
    const n = this.workers.length
    const slice = Math.ceil(lines.length / n)
    const jobs: Promise<LinesReply>[] = []
    for (let start = 0; start < lines.length; start += slice) {
      jobs.push(this.send<LinesReply>(this.workers[this.turn++ % n], { id: this.nextId++, lines: lines.slice(start, start + slice), now }))
    }
    return (await Promise.all(jobs)).flatMap((r) => r.results)
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
