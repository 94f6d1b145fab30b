// Classification off the main thread for `bt import`: worker threads (two on machines with 4 cores or more)
// classify a batch while the main thread writes the previous one to the store. Falls back to nothing (the store
// classifies in line) when workers cannot start, e.g. when running from TypeScript sources.

import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { TorrentRecord } from '../types.js'
import type { ClassifyJob, ClassifyReply } from './classify-worker.js'

export class ClassifyPool {
  private readonly workers: Worker[] = []
  private readonly pending = new Map<number, { resolve: (r: ClassifyReply) => void; reject: (e: Error) => void }>()
  private nextId = 0
  private turn = 0

  private constructor(url: URL, size: number) {
    for (let i = 0; i < size; i++) {
      // Small heaps: the classifier keeps nothing between torrents, and each thread's heap adds to the RSS.
      const w = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 48 } })
      w.unref()
      w.on('message', (r: ClassifyReply) => {
        this.pending.get(r.id)?.resolve(r)
        this.pending.delete(r.id)
      })
      w.on('error', (err) => this.failAll(err))
      this.workers.push(w)
    }
  }

  /** A pool, or undefined when there is one core only or the compiled worker is not there. */
  static create(threads?: number): ClassifyPool | undefined {
    // Two threads from 4 cores up; below that a worker only competes with the writer (and costs ~40 MiB of RSS).
    const size = threads ?? (availableParallelism() >= 4 ? 2 : 0)
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

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
