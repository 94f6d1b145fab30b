// A worker thread of SearchPool: its own read-only connection to an SQLite index (WAL lets any number of readers
// run beside a writer), answering searches one at a time so that several run at once on several cores.

import { parentPort, workerData } from 'node:worker_threads'
import { SqliteIndex } from './sqlite.js'
import type { Query } from './query/types.js'
import type { SearchOptions, SearchResult } from './types.js'

export interface SearchJob {
  id: number
  query: Query
  options: SearchOptions
  /** Render the page here and send its text (see SearchPool.searchRendered). */
  render?: RenderSpec
}

/** A function `name` exported in the `renderers` object of the module at URL `module`, called with (items, ...args). */
export interface RenderSpec {
  module: string
  name: string
  args: unknown[]
}

export type SearchReply = { id: number; result: SearchResult } | { id: number; page: { text: string; count: number } } | { id: number; error: { message: string; code?: string; exitCode?: number; name: string } }

const { path } = workerData as { path: string }
let store: SqliteIndex | undefined
let openError: unknown

try {
  store = SqliteIndex.open(path, { readonly: true })
} catch (err) {
  openError = err
}

function errorOf(err: unknown): { message: string; code?: string; exitCode?: number; name: string } {
  const e = err as { message?: string; code?: unknown; exitCode?: unknown; name?: string }
  return {
    message: String(e?.message ?? err),
    code: typeof e?.code === 'string' ? e.code : undefined,
    exitCode: typeof e?.exitCode === 'number' ? e.exitCode : undefined,
    name: e?.name ?? 'Error',
  }
}

type Render = (items: unknown[], ...args: unknown[]) => string
const renderModules = new Map<string, Promise<Record<string, Render>>>()

async function rendererOf(spec: RenderSpec): Promise<Render> {
  let m = renderModules.get(spec.module)
  if (!m) {
    m = import(spec.module).then((mod: { renderers?: Record<string, Render> }) => mod.renderers ?? {})
    renderModules.set(spec.module, m)
  }
  const fn = (await m)[spec.name]
  if (typeof fn !== 'function') throw new Error(`no renderer ${spec.name} in ${spec.module}`)
  return fn
}

parentPort!.on('message', async (job: SearchJob | 'close') => {
  if (job === 'close') {
    await store?.close()
    store = undefined
    parentPort!.close()
    return
  }
  try {
    if (!store) throw openError
    const result = await store.search(job.query, job.options)
    if (job.render) {
      const render = await rendererOf(job.render)
      const text = render(result.items, ...job.render.args)
      parentPort!.postMessage({ id: job.id, page: { text, count: result.items.length } } satisfies SearchReply)
      return
    }
    parentPort!.postMessage({ id: job.id, result } satisfies SearchReply)
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: errorOf(err) } satisfies SearchReply)
  }
})
