// One torrent of bt serve's daemon as the HTTP layer sees it: its saved record, its metainfo once known, the live
// engine Torrent unless paused, and the status Transmission and the REST API report.

import type { Metainfo } from '../metainfo/metainfo.js'
import type { PriorityHandle } from '../session/priority.js'
import type { Torrent, TorrentStats } from '../session/torrent.js'
import type { TorrentRecord } from './state.js'

export type Status = 'stopped' | 'metadata' | 'checking' | 'downloading' | 'seeding' | 'error'

/** The record's time counters: which one a status runs (none while stopped, checking or in error). */
export type Clock = 'secondsDownloading' | 'secondsSeeding'
export function clockFor(status: Status): Clock | undefined {
  if (status === 'downloading' || status === 'metadata') return 'secondsDownloading'
  if (status === 'seeding') return 'secondsSeeding'
  return undefined
}

/** One torrent of the daemon: its record, its metainfo once known, and the live engine Torrent unless paused. */
export class Entry {
  metainfo?: Metainfo
  torrent?: Torrent
  checked = 0
  /** Seeding and last uploading at (ms), for the idle seed limit. */
  seedingSince = 0
  /** What the last progress event said, to skip identical ones. */
  lastProgress = ''
  /** The engine numbers the daemon's tick last looked at: while they stay put the tick does nothing for it. */
  seen = { torrent: undefined as Torrent | undefined, state: '', have: -1, down: -1, up: -1, peers: -1 }
  /** The last progress event had a non-zero rate: rates decay after the bytes stop, so keep looking until 0. */
  moving = false
  /**
   * The running time counter and since when (ms). The record holds the seconds up to `clockSince`; the rest is added
   * when read, so a seeding torrent's record does not change every second (and is not rewritten by every save).
   */
  private clock?: Clock
  private clockSince = 0
  /** Start/stop/verify/remove of this torrent run one at a time, in order. */
  ops: Promise<unknown> = Promise.resolve()
  /** The live torrent's counters already added to the record's totals. */
  folded = { down: 0, up: 0 }
  /** The live torrent's wishes for high-priority files (released with that torrent). */
  priorityHandle?: { torrent: Torrent; handle: PriorityHandle }
  constructor(public record: TorrentRecord) {}

  get infoHash(): string {
    return this.record.infoHash
  }
  get id(): number {
    return this.record.id
  }

  get status(): Status {
    if (this.record.error) return 'error'
    const t = this.torrent
    if (!t) return 'stopped'
    // A paused torrent runs only to be verified.
    if (t.state === 'checking') return 'checking'
    if (this.record.paused) return 'stopped'
    switch (t.state) {
      case 'metadata':
        return 'metadata'
      case 'seeding':
      case 'done':
        return 'seeding'
      case 'stopped':
        return 'stopped'
      case 'error':
        return 'error'
      default:
        return 'downloading'
    }
  }

  /** Seconds spent downloading or seeding, over all runs, up to now. */
  seconds(which: Clock, now = Date.now()): number {
    return this.record[which] + (this.clock === which ? Math.floor((now - this.clockSince) / 1000) : 0)
  }

  /**
   * Move the running counter's whole seconds into the record (keeping the fraction running), then run the counter of
   * the status now. True when the record changed. Called when the status changes and before the daemon stops.
   */
  syncClock(now = Date.now()): boolean {
    let changed = false
    if (this.clock) {
      const s = Math.floor((now - this.clockSince) / 1000)
      if (s > 0) {
        this.record[this.clock] += s
        this.clockSince += s * 1000
        changed = true
      }
    }
    const next = clockFor(this.status)
    if (next !== this.clock) {
      this.clock = next
      this.clockSince = now
    }
    return changed
  }

  /** Is the running counter still the one the status asks for? (Cheap: the tick asks it of every torrent.) */
  clockCurrent(): boolean {
    return this.clock === clockFor(this.status)
  }

  /** Live stats, or what a stopped torrent has on record. */
  stats(): TorrentStats | undefined {
    return this.torrent?.stats()
  }

  selected(i: number): boolean {
    return !this.record.files || this.record.files.includes(i)
  }
}
