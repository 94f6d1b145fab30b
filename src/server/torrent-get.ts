// The body of a Transmission torrent-get answer, built as a concatenation of per-torrent JSON fragments.
//
// Sonarr, Radarr and the remote GUIs poll torrent-get for every torrent every few seconds; with a thousand torrents
// the answer is computed from a thousand entries each time. Most of a torrent's fields only move when something
// about it moves (its record, its state, a verified piece, traffic), so each torrent's serialized fields are kept
// with a signature of everything they are computed from, and reused while the signature is unchanged. A few
// fields move on their own (the clock, peers' wire flags): those are never cached, they are computed on every call.
// The signature is cheap (no walk over the piece map): the record minus its clock counters, the status, the
// engine's verified-piece count, byte counters, rounded rates and peer count.

import { performance } from 'node:perf_hooks'
import type { Torrent } from '../session/torrent.js'
import type { Daemon, Entry } from './daemon.js'
import { FieldContext, TORRENT_FIELDS } from './transmission-fields.js'

/** Fields that change without any change to the signature: always computed. */
export const LIVE_FIELDS: ReadonlySet<string> = new Set([
  'activityDate', // the clock, while there is traffic
  'secondsDownloading', // tick every second
  'secondsSeeding',
  'recheckProgress', // moves during a check, between verified pieces
  'peers', // choke and interest flags
  'peersGettingFromUs',
  'peersSendingToUs',
])

// A replaced engine Torrent (stop, start, verify) is another signature even if its counters match the old one's.
const torrentIds = new WeakMap<Torrent, number>()
let nextTorrentId = 1
function torrentId(t: Torrent): number {
  let id = torrentIds.get(t)
  if (id === undefined) torrentIds.set(t, (id = nextTorrentId++))
  return id
}

/** Everything the cached fields of one torrent are computed from, as one string. */
export function signature(e: Entry): string {
  const t = e.torrent
  // The clock counters are LIVE_FIELDS: leaving them out keeps an idle torrent's fragment valid across ticks.
  const { secondsDownloading: _d, secondsSeeding: _s, ...record } = e.record
  const live = t
    ? `${torrentId(t)}|${t.state}|${t.picker?.haveCount ?? -1}|${t.down.total}|${t.up.total}|${Math.round(t.down.rate())}|${Math.round(t.up.rate())}|${t.peers.size}`
    : '-'
  return `${e.status}|${e.metainfo ? 1 : 0}|${live}|${JSON.stringify(record)}`
}

interface Fragment {
  sig: string
  /** `"field":value,…` of the cached fields, without braces ('' if none). */
  json: string
}

/** A field list split into cached and live parts, with each name's JSON key prepared once. */
interface Plan {
  key: string
  cached: string[]
  cachedKeys: string[]
  live: string[]
  liveKeys: string[]
}

const MAX_PLANS_PER_TORRENT = 8

export class TorrentGetCache {
  private fragments = new WeakMap<Entry, Map<string, Fragment>>()
  private plans = new Map<string, Plan>()
  /** Generation: clear() makes every stored fragment stale (settings feed some fields). */
  private gen = 0

  constructor(private readonly d: Daemon) {}

  clear(): void {
    this.gen++
    this.fragments = new WeakMap()
  }

  private plan(fields: string[]): Plan {
    const key = fields.join(',')
    let p = this.plans.get(key)
    if (!p) {
      const cached = fields.filter((f) => !LIVE_FIELDS.has(f))
      const live = fields.filter((f) => LIVE_FIELDS.has(f))
      p = { key, cached, cachedKeys: cached.map((f) => `${JSON.stringify(f)}:`), live, liveKeys: live.map((f) => `${JSON.stringify(f)}:`) }
      if (this.plans.size >= 64) this.plans.clear()
      this.plans.set(key, p)
    }
    return p
  }

  /** One torrent as a JSON object with the given (known, distinct) fields. */
  object(e: Entry, p: Plan, now: number): string {
    let c: FieldContext | undefined
    const ctx = () => (c ??= new FieldContext(this.d, e, now))
    let json = ''
    if (p.cached.length > 0) {
      const sig = `${this.gen}|${signature(e)}`
      let byPlan = this.fragments.get(e)
      let f = byPlan?.get(p.key)
      if (!f || f.sig !== sig) {
        const parts: string[] = []
        for (let i = 0; i < p.cached.length; i++) parts.push(p.cachedKeys[i] + JSON.stringify(TORRENT_FIELDS[p.cached[i]](ctx())))
        f = { sig, json: parts.join(',') }
        if (!byPlan) this.fragments.set(e, (byPlan = new Map()))
        if (byPlan.size >= MAX_PLANS_PER_TORRENT && !byPlan.has(p.key)) byPlan.clear()
        byPlan.set(p.key, f)
      }
      json = f.json
    }
    for (let i = 0; i < p.live.length; i++) {
      json += (json ? ',' : '') + p.liveKeys[i] + JSON.stringify(TORRENT_FIELDS[p.live[i]](ctx()))
    }
    return `{${json}}`
  }

  private planFor(fields: string[]): Plan {
    return this.plan([...new Set(fields.filter((f) => Object.hasOwn(TORRENT_FIELDS, f)))])
  }

  /** `[{…},{…}]` for these torrents and fields (unknown names and duplicates dropped). */
  objects(list: Entry[], fields: string[], now: number): string {
    const p = this.planFor(fields)
    const out: string[] = new Array(list.length)
    for (let i = 0; i < list.length; i++) out[i] = this.object(list[i], p, now)
    return `[${out.join(',')}]`
  }

  /**
   * The same JSON as objects(), as UTF-8 chunks, computed in slices of at most `sliceMs` of work with the event
   * loop let go between them (setImmediate): a thousand torrents' fields take tens of milliseconds when many
   * fragments are stale, and every other request would wait that long behind one synchronous build. Each slice is
   * encoded on its own, so no string of the whole answer (megabytes for every field) is ever built.
   */
  async objectsInSlices(list: Entry[], fields: string[], now: number, sliceMs = 4): Promise<Buffer[]> {
    const p = this.planFor(fields)
    if (list.length === 0) return [Buffer.from('[]')]
    const chunks: Buffer[] = []
    let i = 0
    for (;;) {
      const t0 = performance.now()
      let json = chunks.length === 0 ? '[' : ','
      json += this.object(list[i++], p, now)
      while (i < list.length && performance.now() - t0 < sliceMs) json += ',' + this.object(list[i++], p, now)
      if (i === list.length) {
        chunks.push(Buffer.from(json + ']'))
        return chunks
      }
      chunks.push(Buffer.from(json))
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
}
