// One crawler on a worker thread, for CrawlerPool: a Crawler with one identity and its shard of the keyspace,
// whose index is the main thread's, reached by messages (has, upsert, count). It posts its stats every second.

import { parentPort, workerData } from 'node:worker_threads'
import type { IndexWriter, TorrentRecord, UpsertResult } from '../index/types.js'
import { errorMessage } from '../errors.js'
import { Crawler, type CrawlerOptions } from './crawler.js'

export type WorkerRequest = { type: 'rpc'; id: number; op: 'has' | 'upsert' | 'count'; arg?: unknown }
export type WorkerEvent =
  | WorkerRequest
  | { type: 'started'; ports: number[] }
  | { type: 'failed'; error: string; code?: string }
  | { type: 'stats'; stats: ReturnType<Crawler['stats']> }
  | { type: 'warning'; message: string }
  | { type: 'stopped' }
export type MainMessage = { type: 'result'; id: number; value?: unknown; error?: string } | { type: 'stop' }

if (parentPort) {
  const port = parentPort
  const post = (m: WorkerEvent) => port.postMessage(m)
  let next = 0
  const calls = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()
  const call = <T>(op: WorkerRequest['op'], arg?: unknown) => new Promise<T>((resolve, reject) => {
    const id = next++
    calls.set(id, { resolve, reject })
    post({ type: 'rpc', id, op, arg })
  })
  const index: IndexWriter = {
    has: (hashes: readonly string[]) => call<Set<string>>('has', hashes),
    upsert: (records: readonly TorrentRecord[]) => call<UpsertResult>('upsert', records),
    count: () => call<number>('count'),
    updateSwarm: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }
  const crawler = new Crawler({ ...(workerData as Omit<CrawlerOptions, 'index'>), index })
  crawler.on('warning', (message: string) => post({ type: 'warning', message }))
  let statsTimer: NodeJS.Timeout | undefined
  port.on('message', (m: MainMessage) => {
    if (m.type === 'result') {
      const c = calls.get(m.id)
      calls.delete(m.id)
      if (m.error !== undefined) c?.reject(new Error(m.error))
      else c?.resolve(m.value)
    } else if (m.type === 'stop') {
      clearInterval(statsTimer)
      void crawler.stop().finally(() => {
        post({ type: 'stats', stats: crawler.stats() })
        post({ type: 'stopped' })
      })
    }
  })
  crawler.start().then((ports) => {
    post({ type: 'started', ports })
    statsTimer = setInterval(() => post({ type: 'stats', stats: crawler.stats() }), 1000)
  }, (err) => post({ type: 'failed', error: errorMessage(err), code: (err as NodeJS.ErrnoException).code }))
}
