// What the crawler counts, and the sliding windows behind "per minute" and "last hour" figures. Fixed memory:
// 60 one-second buckets per counter, 60 one-minute buckets of content-type counts, the last few names.

// 61 buckets: the current (partial) second and 60 whole ones.
const SLOTS = 61

export class SecondWindow {
  private readonly buckets = new Float64Array(SLOTS)
  private headSec: number
  total = 0

  constructor(now = Date.now()) {
    this.headSec = Math.floor(now / 1000)
  }

  private advance(now: number): void {
    const s = Math.floor(now / 1000)
    const steps = Math.min(SLOTS, s - this.headSec)
    for (let i = 1; i <= steps; i++) this.buckets[(this.headSec + i) % SLOTS] = 0
    if (s > this.headSec) this.headSec = s
  }

  add(n = 1, now = Date.now()): void {
    this.advance(now)
    this.buckets[this.headSec % SLOTS] += n
    this.total += n
  }

  /** Sum over the last `seconds` whole seconds before now (the current partial second excluded). */
  last(seconds = 60, now = Date.now()): number {
    this.advance(now)
    let sum = 0
    for (let i = 1; i <= Math.min(SLOTS - 1, seconds); i++) sum += this.buckets[(this.headSec - i + SLOTS) % SLOTS]
    return sum
  }

  /** Per second over the last few whole seconds. */
  rate(seconds = 5, now = Date.now()): number {
    return this.last(seconds, now) / seconds
  }
}

export class HourlyTypes {
  private readonly minutes: Array<Map<string, number>> = Array.from({ length: 60 }, () => new Map())
  private headMin: number

  constructor(now = Date.now()) {
    this.headMin = Math.floor(now / 60_000)
  }

  add(type: string, now = Date.now()): void {
    const m = Math.floor(now / 60_000)
    const steps = Math.min(60, m - this.headMin)
    for (let i = 1; i <= steps; i++) this.minutes[(this.headMin + i) % 60].clear()
    if (m > this.headMin) this.headMin = m
    const b = this.minutes[this.headMin % 60]
    b.set(type, (b.get(type) ?? 0) + 1)
  }

  counts(now = Date.now()): Record<string, number> {
    this.add('', now) // advances the window
    const out: Record<string, number> = {}
    for (const b of this.minutes) for (const [k, v] of b) if (k) out[k] = (out[k] ?? 0) + v
    return out
  }
}

/** One stats object: what --json prints every 10 s and what the dashboard shows. */
export interface CrawlStats {
  uptimeS: number
  identities: number
  routingTable: number
  queriesOutPerS: number
  queriesInPerS: number
  infoHashes: { discovered: number; new: number; newPerMin: number; duplicates: number; dropped: number }
  metadata: {
    fetched: number
    failed: number
    timedOut: number
    bad: number
    fetchedPerMin: number
    failedPerMin: number
    timedOutPerMin: number
    queued: number
    active: number
  }
  lookups: { active: number; queued: number }
  peersContacted: number
  indexed: number
  indexSize: number | null
  indexErrors: number
  bytesIn: number
  bytesOut: number
  bandwidthInPerS: number
  bandwidthOutPerS: number
  hostileDropped: number
  contentTypesLastHour: Record<string, number>
  lastNames: string[]
}
