// One direction's bandwidth for one torrent: the Client's limit (--download-limit, --upload-limit, bt serve's session
// rates) and the torrent's own, as one gate that every byte source and sink of that direction goes through: requests
// to peers and web-seed replies for download, block reads for upload.

import { retuneBucket, type TokenBucket } from './rate.js'

// The smallest burst a TokenBucket has: waiting for more than this could never end with a low rate.
const MAX_WAIT = 16384

export class Bandwidth {
  private own: TokenBucket | undefined
  private closed = false

  /** `shared` reads the Client's bucket each time: bt serve swaps it when the session's limit changes. */
  constructor(private readonly shared: () => TokenBucket | undefined) {}

  /** This torrent's own rate in bytes/s (0 or undefined: none beyond the Client's). */
  setRate(rate: number | undefined): void {
    this.own = retuneBucket(this.own, rate)
  }

  /** Bytes that may pass now under every limit; Infinity when there is none. */
  available(): number {
    const shared = this.shared()
    const own = this.own
    let n = Infinity
    if (shared) n = shared.available()
    if (own) n = Math.min(n, own.available())
    return n
  }

  /** Count bytes that passed, or were asked for, against every limit (the balance may go negative: it is repaid). */
  consume(n: number): void {
    this.shared()?.consume(n)
    this.own?.consume(n)
  }

  /** Resolve once `n` bytes (at most 16 KiB) may pass under every limit, or at once after close(). */
  async wait(n: number): Promise<void> {
    const need = Math.min(n, MAX_WAIT)
    while (!this.closed) {
      const shared = this.shared()
      const short = shared && shared.available() < need ? shared : this.own && this.own.available() < need ? this.own : undefined
      if (!short) return
      await short.wait(need)
    }
  }

  /** The torrent stopped: end waits, drop its own bucket (the Client's is the Client's). */
  close(): void {
    this.closed = true
    this.own?.destroy()
    this.own = undefined
  }
}
