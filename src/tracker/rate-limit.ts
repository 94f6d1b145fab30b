// Per-IP token buckets for the tracker, and the per-second request meter behind /stats. A bucket gives `rate`
// requests per second with bursts of `burst`; buckets live in one Map keyed by IP text and are pruned once full
// again, so memory follows the number of recently active addresses.

interface Bucket {
  tokens: number
  /** ms timestamp of the last refill */
  at: number
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(private readonly rate: number, private readonly burst: number) {}

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    let b = this.buckets.get(key)
    if (!b) {
      b = { tokens: this.burst, at: now }
      this.buckets.set(key, b)
    } else if (now > b.at) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.rate) / 1000)
      b.at = now
    }
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  /** Forgets buckets that have refilled completely (they would behave exactly like a new one). */
  prune(now = Date.now()): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.rate) / 1000 >= this.burst) this.buckets.delete(k)
    }
  }

  get size(): number {
    return this.buckets.size
  }
}

/** Announces and scrapes per second over the last ten seconds, from per-second buckets. */
export class RateMeter {
  private readonly a = new Array<number>(11).fill(0)
  private readonly s = new Array<number>(11).fill(0)
  private sec = Math.floor(Date.now() / 1000)

  private roll(): number {
    const now = Math.floor(Date.now() / 1000)
    if (now !== this.sec) {
      for (let t = Math.max(this.sec + 1, now - 10); t <= now; t++) {
        this.a[t % 11] = 0
        this.s[t % 11] = 0
      }
      this.sec = now
    }
    return now % 11
  }

  announce(): void { this.a[this.roll()]++ }
  scrape(): void { this.s[this.roll()]++ }

  rates(): { announces: number; scrapes: number } {
    const cur = this.roll()
    let a = 0
    let s = 0
    for (let i = 0; i < 11; i++) if (i !== cur) { a += this.a[i]; s += this.s[i] }
    return { announces: a / 10, scrapes: s / 10 }
  }
}
