// The crawler's view of the DHT: a flat, bounded set of nodes that answered, with when each may next be sampled.
// Not a BEP 5 routing table: a k-bucket table keeps ~8 nodes per distance from one id (some 160 nodes, almost all
// far from everything but ourselves), which is right for lookups near our id and wrong for a crawler, which wants
// thousands of nodes spread over the whole keyspace and a schedule per node (BEP 51's `interval`).

import { randomBytes } from 'node:crypto'

export interface TableNode {
  id: Buffer
  host: string
  port: number
  /** host:port */
  key: string
  /** Position in the table's array (for O(1) random picks and removal). */
  idx: number
  /** ms since the epoch when it may be sampled again; Infinity while a query to it is in flight. */
  nextSample: number
  failures: number
  /** False once it answered sample_infohashes with an error or without samples: kept for find_node only. */
  bep51: boolean
  lastReply: number
}

/** BEP 51 lets a node ask for up to 6 h between samples; shorter intervals are raised to our own floor. */
export const MAX_SAMPLE_INTERVAL_S = 6 * 3600
export const DEFAULT_MIN_SAMPLE_INTERVAL_S = 10
/** Nodes that do not speak BEP 51 are asked again this rarely (a restart or upgrade may change that). */
const NO_BEP51_RETRY_S = 6 * 3600
/** Consecutive unanswered queries after which a node is dropped. */
const MAX_FAILURES = 2

interface HeapItem {
  at: number
  node: TableNode
}

export class NodeTable {
  private readonly byKey = new Map<string, TableNode>()
  private readonly list: TableNode[] = []
  // Min-heap on nextSample; entries go stale when a node is rescheduled or removed and are skipped on pop.
  private heap: HeapItem[] = []

  constructor(readonly maxNodes = 20_000, readonly minIntervalS = DEFAULT_MIN_SAMPLE_INTERVAL_S) {}

  get size(): number {
    return this.list.length
  }

  get(key: string): TableNode | undefined {
    return this.byKey.get(key)
  }

  /** Adds a node that answered us (or was handed to us); false when the table is full or it is there already. */
  add(id: Buffer, host: string, port: number, now = Date.now()): boolean {
    const key = `${host}:${port}`
    const old = this.byKey.get(key)
    if (old) {
      if (!old.id.equals(id)) old.id = Buffer.from(id) // a restarted node with a new id at the same address
      return false
    }
    if (this.list.length >= this.maxNodes) return false
    const node: TableNode = {
      id: Buffer.from(id), host, port, key, idx: this.list.length, nextSample: now, failures: 0, bep51: true, lastReply: 0,
    }
    this.list.push(node)
    this.byKey.set(key, node)
    this.push({ at: now, node })
    return true
  }

  remove(node: TableNode): void {
    if (this.byKey.get(node.key) !== node) return
    this.byKey.delete(node.key)
    const last = this.list.pop()!
    if (last !== node) {
      this.list[node.idx] = last
      last.idx = node.idx
    }
    node.idx = -1
    // Its heap entries are left to be skipped; keep the heap from filling with them under churn.
    if (this.heap.length > this.list.length * 4 + 1024) this.rebuildHeap()
  }

  replied(node: TableNode, now = Date.now()): void {
    node.failures = 0
    node.lastReply = now
  }

  /** An unanswered query: true when the node was dropped. */
  failed(node: TableNode): boolean {
    node.failures++
    if (node.failures >= MAX_FAILURES) {
      this.remove(node)
      return true
    }
    return false
  }

  /**
   * Up to `max` nodes due for sample_infohashes, marked in flight (call `scheduleSample` or `failed` for each).
   */
  takeDue(max: number, now = Date.now()): TableNode[] {
    const out: TableNode[] = []
    while (out.length < max && this.heap.length > 0 && this.heap[0].at <= now) {
      const item = this.pop()!
      const n = item.node
      if (n.idx < 0 || n.nextSample !== item.at) continue // stale entry
      n.nextSample = Infinity
      out.push(n)
    }
    return out
  }

  /** When may this node be sampled next: the interval it gave, clamped to [our floor, 6 h]. */
  scheduleSample(node: TableNode, intervalS: number | undefined, now = Date.now()): void {
    if (node.idx < 0) return
    let s = typeof intervalS === 'number' && Number.isFinite(intervalS) ? intervalS : MAX_SAMPLE_INTERVAL_S
    if (!node.bep51) s = NO_BEP51_RETRY_S
    s = Math.min(MAX_SAMPLE_INTERVAL_S, Math.max(this.minIntervalS, s))
    node.nextSample = now + s * 1000
    this.push({ at: node.nextSample, node })
  }

  /** Put an in-flight node back as due soon (a query that could not be sent). */
  release(node: TableNode, now = Date.now()): void {
    if (node.idx < 0 || node.nextSample !== Infinity) return
    node.nextSample = now + 1000
    this.push({ at: node.nextSample, node })
  }

  random(): TableNode | undefined {
    return this.list.length ? this.list[Math.floor(Math.random() * this.list.length)] : undefined
  }

  /** The `n` nodes nearest to target by XOR distance (a linear scan: the table is bounded). */
  closest(target: Buffer, n: number, exclude?: Set<string>): TableNode[] {
    const best: Array<{ d: number; d2: number; node: TableNode }> = []
    const t0 = target.readUInt32BE(0)
    const t1 = target.readUInt32BE(4)
    for (const node of this.list) {
      if (exclude?.has(node.key)) continue
      const d = (node.id.readUInt32BE(0) ^ t0) >>> 0
      const d2 = (node.id.readUInt32BE(4) ^ t1) >>> 0
      if (best.length === n) {
        const w = best[n - 1]
        if (d > w.d || (d === w.d && d2 >= w.d2)) continue
        best.pop()
      }
      let i = best.length
      while (i > 0 && (best[i - 1].d > d || (best[i - 1].d === d && best[i - 1].d2 > d2))) i--
      best.splice(i, 0, { d, d2, node })
    }
    return best.map((b) => b.node)
  }

  all(): readonly TableNode[] {
    return this.list
  }

  /** Nodes worth saving for a restart: answered recently, most recent first. */
  snapshot(max: number): Array<{ id: string; host: string; port: number }> {
    return [...this.list]
      .filter((n) => n.lastReply > 0)
      .sort((a, b) => b.lastReply - a.lastReply)
      .slice(0, max)
      .map((n) => ({ id: n.id.toString('hex'), host: n.host, port: n.port }))
  }

  private rebuildHeap(): void {
    const items = this.list.filter((n) => Number.isFinite(n.nextSample)).map((node) => ({ at: node.nextSample, node }))
    this.heap = []
    for (const it of items) this.push(it)
  }

  private push(item: HeapItem): void {
    const h = this.heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (h[p].at <= item.at) break
      h[i] = h[p]
      i = p
    }
    h[i] = item
  }

  private pop(): HeapItem | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= h.length) break
        const r = l + 1
        const c = r < h.length && h[r].at < h[l].at ? r : l
        if (h[c].at >= last.at) break
        h[i] = h[c]
        i = c
      }
      h[i] = last
    }
    return top
  }
}

// Targets of find_node and sample_infohashes only spread queries over the keyspace: they need no secrecy, so
// they come from a pool of random bytes rather than a crypto call per query.
let pool = randomBytes(0)
let poolPos = 0

export function randomTarget(): Buffer {
  if (poolPos + 20 > pool.length) {
    pool = randomBytes(20 * 1024)
    poolPos = 0
  }
  const t = pool.subarray(poolPos, poolPos + 20)
  poolPos += 20
  return t
}
