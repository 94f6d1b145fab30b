// What Readers (src/stream, torrentfs, HTTP Range) need from a torrent beyond its storage: waiting for a piece to be
// verified, and in stream mode the last few verified pieces kept in memory, so a reader waiting for the piece that just
// arrived gets it without a round trip through the disk thread pool.

interface Waiter {
  resolve: () => void
  reject: (e: Error) => void
}

export class PieceWaiters {
  private readonly waiters = new Map<number, Waiter[]>()

  /** Resolve when piece `i` arrives (see arrived()); reject on abort or failAll(). */
  wait(i: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'))
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const l = this.waiters.get(i)
        const k = l ? l.indexOf(entry) : -1
        if (k >= 0) l!.splice(k, 1)
        if (l && l.length === 0) this.waiters.delete(i)
        reject(signal!.reason ?? new Error('aborted'))
      }
      const entry: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(e)
        },
      }
      const list = this.waiters.get(i) ?? []
      list.push(entry)
      this.waiters.set(i, list)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  arrived(i: number): void {
    const list = this.waiters.get(i)
    if (!list) return
    this.waiters.delete(i)
    for (const w of list) w.resolve()
  }

  failAll(err: Error): void {
    for (const list of this.waiters.values()) for (const w of list) w.reject(err)
    this.waiters.clear()
  }
}

export class RecentPieces {
  /** index -> piece data, oldest first. */
  private readonly pieces = new Map<number, Buffer>()

  constructor(
    private readonly limit: number,
    private readonly pieceLength: number,
    private readonly totalLength: number,
  ) {}

  /** Keep a verified piece; returns the oldest one's buffer when it had to go (to be reused). */
  add(i: number, buf: Buffer): Buffer | undefined {
    this.pieces.set(i, buf)
    if (this.pieces.size <= this.limit) return undefined
    const [oldest, old] = this.pieces.entries().next().value as [number, Buffer]
    this.pieces.delete(oldest)
    return old
  }

  /** Copy bytes at `position` into `buf`; -1 unless every byte asked for is in memory. */
  read(buf: Buffer, position: number): number {
    const len = this.pieceLength
    if (this.pieces.size === 0) return -1
    const end = Math.min(this.totalLength, position + buf.length)
    if (end <= position) return -1
    for (let pos = position; pos < end; ) {
      if (!this.pieces.has(Math.floor(pos / len))) return -1
      pos = (Math.floor(pos / len) + 1) * len
    }
    for (let pos = position; pos < end; ) {
      const i = Math.floor(pos / len)
      const piece = this.pieces.get(i)!
      const from = pos - i * len
      const take = Math.min(end - pos, piece.length - from)
      piece.copy(buf, pos - position, from, from + take)
      pos += take
    }
    return end - position
  }

  clear(): void {
    this.pieces.clear()
  }
}
