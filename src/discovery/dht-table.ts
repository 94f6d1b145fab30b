// Routing-table bookkeeping around k-rpc's k-bucket: one entry per address (a node that restarted with a new id
// replaces its old entry), when each node last answered, and the saved nodes still waiting to be tried.

import type { KBucketLike, KrpcNode } from 'k-rpc'
import type { SavedNode } from './dht-state.js'
import { xor } from './dht-walk.js'

export interface TableNode extends KrpcNode {
  /** ms since the epoch when it last answered one of our queries (absent: it only ever queried us). */
  answered?: number
}

interface KBucketEvents {
  on(ev: 'added' | 'removed', fn: (n: TableNode) => void): void
  on(ev: 'updated', fn: (old: TableNode, now: TableNode) => void): void
}

const addrKey = (n: { host: string; port: number }) => `${n.host}:${n.port}`

/**
 * Makes the k-bucket keep one node per address: adding an id at an address that another id holds removes that one
 * first (k-bucket is keyed by id alone, so a restarted node would otherwise stay in the table once per id). Also
 * carries `answered` over when k-bucket replaces a node object by a fresh one with the same id.
 */
export function onePerAddress(nodes: KBucketLike): { idAt(host: string, port: number): Buffer | undefined } {
  const byAddr = new Map<string, Buffer>()
  const ev = nodes as unknown as KBucketEvents
  ev.on('added', (n) => byAddr.set(addrKey(n), n.id))
  ev.on('removed', (n) => {
    const k = addrKey(n)
    if (byAddr.get(k)?.equals(n.id)) byAddr.delete(k)
  })
  ev.on('updated', (old, now) => {
    const k = addrKey(old)
    if (byAddr.get(k)?.equals(old.id)) byAddr.delete(k)
    byAddr.set(addrKey(now), now.id)
  })
  const add = nodes.add.bind(nodes)
  nodes.add = (node: TableNode) => {
    const k = addrKey(node)
    const other = byAddr.get(k)
    if (other && !other.equals(node.id)) nodes.remove(other)
    const cur = nodes.get(node.id) as TableNode | null
    if (cur?.answered && !(node.answered && node.answered > cur.answered)) node.answered = cur.answered
    add(node)
  }
  return { idAt: (host, port) => byAddr.get(`${host}:${port}`) }
}

/** Saved nodes not yet tried this session, keyed by address. */
export class Candidates {
  private readonly map = new Map<string, SavedNode>()

  constructor(nodes: SavedNode[] = []) {
    for (const n of nodes) this.map.set(addrKey(n), n)
  }

  get size(): number {
    return this.map.size
  }

  /** The n closest to target (by their saved id). */
  closest(target: Buffer, n: number): SavedNode[] {
    return [...this.map.values()]
      .map((c) => ({ c, d: xor(c.id, target) }))
      .sort((a, b) => Buffer.compare(a.d, b.d))
      .slice(0, n)
      .map((x) => x.c)
  }

  /** Removes and returns the most recently heard-from one (the order they were loaded in). */
  next(): SavedNode | undefined {
    for (const [k, c] of this.map) {
      this.map.delete(k)
      return c
    }
    return undefined
  }

  /** Marks an address as tried: it leaves the candidates. */
  take(host: string, port: number): SavedNode | undefined {
    const k = `${host}:${port}`
    const c = this.map.get(k)
    this.map.delete(k)
    return c
  }

  values(): SavedNode[] {
    return [...this.map.values()]
  }
}
