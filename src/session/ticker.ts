// One once-a-second timer for all the torrents of a Client. Three intervals per torrent (tick, rechoke, resume save)
// were three thousand timers at a thousand torrents, each firing on its own; one loop over the torrents' beats costs
// less and lets each torrent derive its slower periods from its own count of beats.

export type Beat = () => void

export class Ticker {
  private readonly beats = new Set<Beat>()
  private timer?: NodeJS.Timeout

  constructor(private readonly periodMs = 1000) {}

  /** Call `beat` every period until the returned function is called. The timer never keeps the process alive. */
  add(beat: Beat): () => void {
    this.beats.add(beat)
    if (!this.timer) {
      this.timer = setInterval(() => this.fire(), this.periodMs)
      this.timer.unref()
    }
    return () => {
      this.beats.delete(beat)
      if (this.beats.size === 0 && this.timer) {
        clearInterval(this.timer)
        this.timer = undefined
      }
    }
  }

  get size(): number {
    return this.beats.size
  }

  private fire(): void {
    // A beat may remove itself or others (a torrent stopping): Set iteration copes with deletion.
    for (const beat of this.beats) beat()
  }

  close(): void {
    this.beats.clear()
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
