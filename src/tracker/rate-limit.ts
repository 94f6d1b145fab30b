// Per-IP token buckets for the tracker: `rate` requests per second with a burst of `burst`. Buckets live in one Map
// keyed by IP text and are pruned once full again, so memory follows the number of recently active addresses.

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
