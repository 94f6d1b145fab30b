// One torrent of bt serve's daemon as the HTTP layer sees it: its saved record, its metainfo once known, the live
// engine Torrent unless paused, and the status Transmission and the REST API report.

import type { Metainfo } from '../metainfo/metainfo.js'
import type { PriorityHandle } from '../session/priority.js'
import type { Torrent, TorrentStats } from '../session/torrent.js'
import type { TorrentRecord } from './state.js'

export type Status = 'stopped' | 'metadata' | 'checking' | 'downloading' | 'seeding' | 'error'

/** One torrent of the daemon: its record, its metainfo once known, and the live engine Torrent unless paused. */
export class Entry {
  metainfo?: Metainfo
  torrent?: Torrent
  checked = 0
  /** Seeding and last uploading at (ms), for the idle seed limit. */
  seedingSince = 0
  /** What the last progress event said, to skip identical ones. */
  lastProgress = ''
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

  /** Live stats, or what a stopped torrent has on record. */
  stats(): TorrentStats | undefined {
    return this.torrent?.stats()
  }

  selected(i: number): boolean {
    return !this.record.files || this.record.files.includes(i)
  }
}
