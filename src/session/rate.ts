// Transfer rates and bandwidth limits: a sliding-window rate meter and a token bucket.

/**
 * Bytes per second over the last few seconds, in 250 ms buckets. Traffic that began less than a window ago is
 * averaged over the time since it began, not over the whole window: otherwise one second into a download at 1 MiB/s
 * the rate would read 200 KiB/s and the ETA five times too long.
 */
export class RateMeter {
  private readonly buckets: Float64Array
  private head = 0
  private headTime: number
  /** When the current run of traffic began (after at least a window of silence); -1 before any. */
  private activeSince = -1
  private lastAdd = -Infinity
  total = 0

  constructor(private readonly windowMs = 5000, private readonly bucketMs = 250, now = Date.now()) {
    this.buckets = new Float64Array(Math.ceil(windowMs / bucketMs))
    this.headTime = Math.floor(now / bucketMs)
  }

  private advance(now: number): void {
    const t = Math.floor(now / this.bucketMs)
    let steps = t - this.headTime
    if (steps <= 0) return
    if (steps > this.buckets.length) steps = this.buckets.length
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.buckets.length
      this.buckets[this.head] = 0
    }
    this.headTime = t
  }

  add(bytes: number, now = Date.now()): void {
    this.advance(now)
    if (now - this.lastAdd > this.windowMs) this.activeSince = now
    this.lastAdd = now
    this.buckets[this.head] += bytes
    this.total += bytes
  }

  /** Average over the full buckets of the window plus the current partial one. */
  rate(now = Date.now()): number {
    this.advance(now)
    let sum = 0
    for (let i = 0; i < this.buckets.length; i++) sum += this.buckets[i]
    if (sum === 0) return 0
    const partial = (now % this.bucketMs) / this.bucketMs
    const windowSpanMs = (this.buckets.length - 1 + partial) * this.bucketMs
    // At least one bucket's worth, so the first block does not read as a huge rate.
    const activeMs = Math.max(this.bucketMs, now - this.activeSince)
    const spanMs = Math.min(windowSpanMs, activeMs)
    return spanMs > 0 ? (sum * 1000) / spanMs : 0
  }
}

/**
 * A token bucket shared by everything one limit covers (see bandwidth.ts). `available` is what may pass now, `consume`
 * takes bytes (the balance may go negative), `wait` resolves when some are available. The burst is a quarter second
 * of the rate, so a limit holds within a few percent over any span of seconds.
 */
export class TokenBucket {
  private tokens: number
  private last = Date.now()
  private waiters: Array<{ need: number; resolve: () => void }> = []
  private timer: NodeJS.Timeout | undefined

  constructor(public rate: number) {
    this.tokens = Math.max(16384, rate / 4)
  }

  private refill(): void {
    const now = Date.now()
    const burst = Math.max(16384, this.rate / 4)
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) * this.rate) / 1000)
    this.last = now
  }

  available(): number {
    this.refill()
    return Math.max(0, Math.floor(this.tokens))
  }

  /** Take exactly `n` bytes, allowing the balance to go negative (it is repaid before anyone else is served). */
  consume(n: number): void {
    this.refill()
    this.tokens -= n
  }

  /** Resolve when at least `n` bytes are available (never more than the burst, so a big `n` still resolves). */
  wait(n = 1): Promise<void> {
    this.refill()
    const need = Math.min(n, Math.max(16384, this.rate / 4))
    if (this.tokens >= need) return Promise.resolve()
    return new Promise((resolve) => {
      this.waiters.push({ need, resolve })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.timer || this.waiters.length === 0) return
    const deficit = Math.max(1, this.waiters[0].need - this.tokens)
    const ms = Math.max(5, Math.ceil((deficit * 1000) / this.rate))
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.refill()
      while (this.waiters.length && this.tokens >= this.waiters[0].need) this.waiters.shift()!.resolve()
      this.schedule()
    }, ms)
    this.timer.unref?.()
  }

  destroy(): void {
    clearTimeout(this.timer)
    for (const w of this.waiters.splice(0)) w.resolve()
  }
}

/** A bucket set to `rate` bytes/s: `current` re-tuned, a new one, or none (destroyed) for 0/undefined = unlimited. */
export function retuneBucket(current: TokenBucket | undefined, rate: number | undefined): TokenBucket | undefined {
  if (!rate || rate <= 0) {
    current?.destroy()
    return undefined
  }
  if (current) {
    current.rate = rate
    return current
  }
  return new TokenBucket(rate)
}
