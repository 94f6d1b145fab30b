// `bt crawl --nodes N --workers`: N crawlers on N worker threads, each with one DHT identity and a shard of the
// keyspace (the nodes whose id's first byte is its number modulo N: every node is sampled by one of them, so the
// politeness of one crawler holds), a share of the query budget and of the metadata fetches, and its own state
// directory (w0, w1, …). The index stays on the main thread: the workers' has() and upsert() come to it as messages.
// Stats are the sum of the workers' latest (posted every second).

import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { CrawlerOptions } from './crawler.js'
import type { MainMessage, WorkerEvent } from './crawl-worker.js'
import type { CrawlStats } from './stats.js'

export interface PoolOptions extends CrawlerOptions {
  identities: number
}

interface Slot {
  worker: Worker
  stats?: CrawlStats
  stopped?: Promise<void>
}

/** Same surface as Crawler for cmd/crawl.ts: start, stop, stats, 'warning' events. */
export class CrawlerPool extends EventEmitter {
  private readonly slots: Slot[] = []
  private stopping?: Promise<void>

  constructor(private readonly opts: PoolOptions) {
    super()
  }

  async start(): Promise<number[]> {
    const n = this.opts.identities
    const { index, ...rest } = this.opts
    const here = fileURLToPath(import.meta.url)
    // Built code runs the .js next to this file. The tests run the TypeScript sources through tsx, which Node 20 does
    // not carry into a worker (neither inherited nor from execArgv): there the worker registers tsx itself first.
    const ts = here.endsWith('.ts')
    const file = ts ? here.replace(/crawler-pool\.ts$/, 'crawl-worker.ts') : here.replace(/crawler-pool\.js$/, 'crawl-worker.js')
    const entry = ts
      ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}) })`
      : file
    const ports: number[] = []
    try {
      for (let i = 0; i < n; i++) {
        const data: Omit<CrawlerOptions, 'index'> = {
          ...rest,
          identities: 1,
          port: rest.port ? rest.port + i : 0,
          rate: (rest.rate ?? 250) / n,
          perIpRate: Math.max(1, Math.floor((rest.perIpRate ?? 5) / n)),
          incomingPerIpRate: Math.max(1, Math.floor((rest.incomingPerIpRate ?? 50) / n)),
          metadataConcurrency: Math.max(1, Math.ceil((rest.metadataConcurrency ?? 32) / n)),
          maxNodes: Math.ceil((rest.maxNodes ?? 20_000) / n),
          stateDir: rest.stateDir ? join(rest.stateDir, `w${i}`) : undefined,
          shard: { index: i, count: n },
        }
        const worker = new Worker(entry, { workerData: data, eval: ts })
        const slot: Slot = { worker }
        this.slots.push(slot)
        ports.push(await new Promise<number>((resolve, reject) => {
          worker.on('message', (m: WorkerEvent) => {
            if (m.type === 'started') resolve(m.ports[0])
            else if (m.type === 'failed') reject(Object.assign(new Error(m.error), { code: m.code }))
            else this.onMessage(slot, m)
          })
          worker.once('error', reject)
          worker.once('exit', (code) => reject(new Error(`crawler worker exited (${code})`)))
        }))
        worker.on('error', (err) => this.emit('warning', `crawler worker ${i}: ${err.message}`))
      }
    } catch (err) {
      await Promise.all(this.slots.map((s) => s.worker.terminate()))
      throw err
    }
    return ports
  }

  private onMessage(slot: Slot, m: WorkerEvent): void {
    const reply = (r: MainMessage) => slot.worker.postMessage(r)
    if (m.type === 'stats') slot.stats = m.stats
    else if (m.type === 'warning') this.emit('warning', m.message)
    else if (m.type === 'rpc') {
      const index = this.opts.index
      const p = m.op === 'has' ? index.has(m.arg as string[]) : m.op === 'upsert' ? index.upsert(m.arg as never) : index.count()
      p.then((value) => reply({ type: 'result', id: m.id, value }), (err: Error) => reply({ type: 'result', id: m.id, error: err.message }))
    }
  }

  /** Each worker writes its pending batch and state, then the threads end. */
  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.slots.map((slot) => new Promise<void>((resolve) => {
      const timer = setTimeout(() => void slot.worker.terminate().then(() => resolve()), 12_000)
      slot.worker.on('message', (m: WorkerEvent) => {
        if (m.type !== 'stopped') return
        clearTimeout(timer)
        void slot.worker.terminate().then(() => resolve())
      })
      slot.worker.postMessage({ type: 'stop' } satisfies MainMessage)
    }))).then(() => {})
    return this.stopping
  }

  get routingTableSize(): number {
    return this.slots.reduce((a, s) => a + (s.stats?.routingTable ?? 0), 0)
  }

  stats(): CrawlStats {
    return mergeStats(this.slots.map((s) => s.stats).filter((s): s is CrawlStats => s !== undefined), this.slots.length)
  }
}

/** The sum of several crawlers' stats (the longest uptime, content types added up, the first names of each, 10 at most). */
export function mergeStats(all: CrawlStats[], identities: number): CrawlStats {
  const sum = (f: (s: CrawlStats) => number) => all.reduce((a, s) => a + f(s), 0)
  const types: Record<string, number> = {}
  for (const s of all) for (const [k, v] of Object.entries(s.contentTypesLastHour)) types[k] = (types[k] ?? 0) + v
  const sizes = all.map((s) => s.indexSize).filter((x): x is number => x !== null)
  return {
    uptimeS: Math.max(0, ...all.map((s) => s.uptimeS)),
    identities,
    routingTable: sum((s) => s.routingTable),
    queriesOutPerS: sum((s) => s.queriesOutPerS),
    queriesInPerS: sum((s) => s.queriesInPerS),
    infoHashes: {
      discovered: sum((s) => s.infoHashes.discovered),
      new: sum((s) => s.infoHashes.new),
      newPerMin: sum((s) => s.infoHashes.newPerMin),
      duplicates: sum((s) => s.infoHashes.duplicates),
      dropped: sum((s) => s.infoHashes.dropped),
    },
    metadata: {
      fetched: sum((s) => s.metadata.fetched),
      failed: sum((s) => s.metadata.failed),
      timedOut: sum((s) => s.metadata.timedOut),
      bad: sum((s) => s.metadata.bad),
      fetchedPerMin: sum((s) => s.metadata.fetchedPerMin),
      failedPerMin: sum((s) => s.metadata.failedPerMin),
      timedOutPerMin: sum((s) => s.metadata.timedOutPerMin),
      queued: sum((s) => s.metadata.queued),
      active: sum((s) => s.metadata.active),
    },
    lookups: { active: sum((s) => s.lookups.active), queued: sum((s) => s.lookups.queued) },
    peersContacted: sum((s) => s.peersContacted),
    indexed: sum((s) => s.indexed),
    indexSize: sizes.length ? Math.max(...sizes) : null,
    indexErrors: sum((s) => s.indexErrors),
    bytesIn: sum((s) => s.bytesIn),
    bytesOut: sum((s) => s.bytesOut),
    bandwidthInPerS: sum((s) => s.bandwidthInPerS),
    bandwidthOutPerS: sum((s) => s.bandwidthOutPerS),
    hostileDropped: sum((s) => s.hostileDropped),
    contentTypesLastHour: types,
    lastNames: all.flatMap((s) => s.lastNames).slice(0, 10),
  }
}
