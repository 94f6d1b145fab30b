// A bounded first-in first-out queue with O(1) push and shift (Array.prototype.shift is O(n): on a queue of 20,000
// hashes, taking 2,000 a tick from the front costs tens of millions of moves).

export class Fifo<T> {
  private items: Array<T | undefined>
  private head = 0
  private count = 0

  constructor(readonly capacity: number) {
    this.items = new Array(Math.max(1, capacity))
  }

  get length(): number {
    return this.count
  }

  /** false when full (the item is not added). */
  push(item: T): boolean {
    if (this.count >= this.capacity) return false
    this.items[(this.head + this.count) % this.capacity] = item
    this.count++
    return true
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.capacity
    this.count--
    return item
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  /** Up to n items from the front. */
  take(n: number): T[] {
    const out: T[] = []
    while (out.length < n && this.count > 0) out.push(this.shift()!)
    return out
  }

  clear(): void {
    this.items = new Array(this.capacity)
    this.head = 0
    this.count = 0
  }
}
