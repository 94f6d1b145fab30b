// What a crawler keeps across restarts, beside the seen-filter: its node ids and the nodes that answered it.
// JSON, written to a temp file and renamed; a corrupt or foreign file is ignored (the crawler bootstraps again).

import { randomBytes } from 'node:crypto'
import { isIPv4 } from 'node:net'
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export interface CrawlState {
  ids: Buffer[]
  nodes: Array<{ id: Buffer; host: string; port: number }>
}

export const MAX_SAVED_NODES = 5000

const hex40 = /^[0-9a-f]{40}$/i

export async function loadCrawlState(path: string): Promise<CrawlState | undefined> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as { ids?: unknown; nodes?: unknown }
  const ids = Array.isArray(r.ids) ? r.ids.filter((x): x is string => typeof x === 'string' && hex40.test(x)).slice(0, 256).map((x) => Buffer.from(x, 'hex')) : []
  const nodes: CrawlState['nodes'] = []
  if (Array.isArray(r.nodes)) {
    for (const n of r.nodes.slice(0, MAX_SAVED_NODES)) {
      if (typeof n !== 'object' || n === null) continue
      const { id, host, port } = n as Record<string, unknown>
      if (typeof id !== 'string' || !hex40.test(id) || typeof host !== 'string' || !isIPv4(host)) continue
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue
      nodes.push({ id: Buffer.from(id, 'hex'), host, port })
    }
  }
  return { ids, nodes }
}

export async function saveCrawlState(path: string, ids: Buffer[], nodes: Array<{ id: string; host: string; port: number }>): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(tmp, JSON.stringify({ version: 1, ids: ids.map((i) => i.toString('hex')), nodes }))
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
