// Politeness caps of the crawler: a global query rate (token bucket counted in queries, not bytes) and per-key
// windows (queries to one IP, answers to one IP) whose memory is bounded however many keys pass by.

/** Queries per second with a short burst; `take()` says whether one query may go now. */
export class QueryBucket {
  private tokens: number
  private last: number
  readonly burst: number

  constructor(readonly rate: number, now = Date.now()) {
    if (!(rate > 0)) throw new RangeError('rate must be positive')
    // A tenth of a second of queries (at least one): smooth on the wire, yet the loop need not tick faster than 10 Hz.
    this.burst = Math.max(1, rate / 10)
    this.tokens = this.burst
    this.last = now
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000)
      this.last = now
    }
  }

  take(now = Date.now()): boolean {
    this.refill(now)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Whole queries available now. */
  available(now = Date.now()): number {
    this.refill(now)
    return Math.floor(this.tokens)
  }
}

/**
 * At most `limit` events per key per window. Two generations of counts (this window and the last), each capped at
 * `maxKeys` entries: a flood of distinct keys fills the map, after which unknown keys are refused until the window
 * turns over, rather than growing memory.
 */
export class KeyedWindowLimiter {
  private current = new Map<string, number>()
  private windowStart: number

  constructor(readonly limit: number, readonly windowMs: number, readonly maxKeys = 100_000, now = Date.now()) {
    this.windowStart = now
  }

  private turn(now: number): void {
    if (now - this.windowStart >= this.windowMs) {
      this.current = new Map()
      this.windowStart = now
    }
  }

  allow(key: string, now = Date.now()): boolean {
    this.turn(now)
    const n = this.current.get(key)
    if (n === undefined) {
      if (this.current.size >= this.maxKeys) return false
      this.current.set(key, 1)
      return this.limit >= 1
    }
    if (n >= this.limit) return false
    this.current.set(key, n + 1)
    return true
  }

  get keys(): number {
    return this.current.size
  }
}
