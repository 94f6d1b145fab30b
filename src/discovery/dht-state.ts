// The DHT's saved state: our node id and the nodes we heard from, each with the time it last answered, so a restart
// can try the freshest first and forget what has been silent too long.

import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { readFileSync } from 'node:fs'
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export const MAX_SAVED_NODES = 2000
/** A node not heard from for this long is not saved (nor tried when loaded). */
export const STALE_AFTER = 7 * 24 * 3600_000

export interface SavedNode {
  id: Buffer
  host: string
  port: number
  /** ms since the epoch when it last answered one of our queries; 0: unknown (a version 1 file). */
  answered: number
}

export interface SavedState {
  id?: Buffer
  nodes: SavedNode[]
}

/** Parses a state file's text; throws on anything that is not JSON. Bad entries are skipped, freshest first. */
export function parseState(text: string, now = Date.now(), family: 4 | 6 = 4): SavedState {
  const raw = JSON.parse(text) as { id?: unknown; nodes?: unknown }
  const id = typeof raw.id === 'string' && /^[0-9a-f]{40}$/i.test(raw.id) ? Buffer.from(raw.id, 'hex') : undefined
  const nodes: SavedNode[] = []
  const seen = new Set<string>()
  if (Array.isArray(raw.nodes)) {
    for (const n of raw.nodes.slice(0, MAX_SAVED_NODES)) {
      if (typeof n !== 'object' || n === null) continue
      const { id: nid, host, port, answered } = n as Record<string, unknown>
      if (typeof nid !== 'string' || !/^[0-9a-f]{40}$/i.test(nid)) continue
      if (typeof host !== 'string' || isIP(host) !== family) continue
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue
      const at = typeof answered === 'number' && Number.isFinite(answered) && answered > 0 ? Math.min(answered, now) : 0
      if (at && now - at > STALE_AFTER) continue
      const key = `${host}:${port}`
      if (seen.has(key)) continue // one entry per address: an older file may hold several ids for one
      seen.add(key)
      nodes.push({ id: Buffer.from(nid, 'hex'), host, port, answered: at })
    }
  }
  nodes.sort((a, b) => b.answered - a.answered)
  return { id, nodes }
}

/** The file's text: nodes freshest first, at most MAX_SAVED_NODES, none silent for longer than STALE_AFTER. */
export function formatState(id: Buffer, nodes: SavedNode[], now = Date.now(), family: 4 | 6 = 4): string {
  const keep = nodes
    .filter((n) => isIP(n.host) === family && n.port > 0 && n.port < 65536 && n.id.length === 20 && n.answered > 0 && now - n.answered <= STALE_AFTER)
    .sort((a, b) => b.answered - a.answered)
    .slice(0, MAX_SAVED_NODES)
  return JSON.stringify({
    version: 2,
    id: id.toString('hex'),
    nodes: keep.map((n) => ({ id: n.id.toString('hex'), host: n.host, port: n.port, answered: n.answered })),
  })
}

/**
 * undefined when the file does not exist; throws on other read errors and on corrupt content. Read synchronously: the
 * file is small (≤ 2000 nodes, ~200 KB) and fs/promises' readFile costs several ms of thread-pool round trips on a
 * start that should be as quick as a fresh bootstrap.
 */
export function readState(path: string, family: 4 | 6 = 4): SavedState | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return parseState(text, Date.now(), family)
}

/** Write to a temp file, then rename, so a crash never leaves half a file. */
export async function writeState(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(tmp, text)
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
