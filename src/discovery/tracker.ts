// Trackers as a source of peers: one-shot announce/scrape on any tracker URL, and TrackerClient, which keeps a
// torrent announced to all its tiers (BEP 12) for as long as it runs.
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { errorMessage } from '../errors.js'
import type { PeerAddress } from './peer-address.js'
import { httpAnnounce, httpScrape } from './tracker-http.js'
import { udpAnnounce, udpScrape } from './tracker-udp.js'
import {
  TrackerError, trackerLabel,
  type AnnounceRequest, type AnnounceResponse, type RequestOptions, type ScrapeEntry,
} from './tracker-types.js'

export { TrackerError, trackerLabel, DEFAULT_TIMEOUT_MS } from './tracker-types.js'
export type { AnnounceRequest, AnnounceResponse, ScrapeEntry, RequestOptions } from './tracker-types.js'
export { scrapeUrl, percentEncode, MAX_REPLY_BYTES } from './tracker-http.js'

type Protocol = 'http' | 'udp'
const SUPPORTED = /^(https?|udp):\/\/./i

function protocolOf(url: string): Protocol {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase()
  if (scheme === 'http' || scheme === 'https') return 'http'
  if (scheme === 'udp') return 'udp'
  throw new TrackerError(`${trackerLabel(url)}: unsupported tracker protocol`)
}

/** Announce once to an http:, https: or udp: tracker. Failures reject with a TrackerError; an abort with the signal's reason. */
export async function announce(url: string, req: AnnounceRequest, opts: RequestOptions = {}): Promise<AnnounceResponse> {
  return protocolOf(url) === 'udp' ? udpAnnounce(url, req, opts) : httpAnnounce(url, req, opts)
}

/** Scrape (BEP 48 / BEP 15) counts for some torrents; the map is keyed by lowercase hex info hash. */
export async function scrape(url: string, infoHashes: Buffer[], opts: RequestOptions = {}): Promise<Map<string, ScrapeEntry>> {
  if (infoHashes.length === 0) return new Map()
  return protocolOf(url) === 'udp' ? udpScrape(url, infoHashes, opts) : httpScrape(url, infoHashes, opts)
}

export interface TrackerClientOptions {
  tiers: string[][]
  infoHash: Buffer
  peerId: Buffer
  port: number
  stats: () => { uploaded: number; downloaded: number; left: number }
  numwant?: number
  /** Per request. Default 15 s. */
  timeoutMs?: number
  /** Bounds on the re-announce interval a tracker asks for; also the least time between two announces. Default 30 s. */
  minIntervalMs?: number
  /** Default 1 h. */
  maxIntervalMs?: number
  /** Wait after a tier's first failed round, doubled after each further one up to retryMaxMs. Default 15 s. */
  retryBaseMs?: number
  /** Default 10 min. */
  retryMaxMs?: number
  /** Bound on stop() as a whole. Default 3 s. */
  stopTimeoutMs?: number
  /**
   * Whether the torrent is short of peers worth having (seeding with no peers, or only seeders): then each tier is
   * announced again as soon as its tracker's `min interval` allows, as libtorrent does, rather than after the full
   * interval (often 30 minutes), so a seeder learns of new leechers soon. Read after each announce and on replan().
   */
  hungry?: () => boolean
  /** BEP 7: the IPv6 address to tell HTTP trackers (read at each announce); undefined for none. */
  ipv6?: () => string | undefined
}

// Without a `min interval` from the tracker, a hungry torrent re-announces after this long (or the interval, if less).
const HUNGRY_DEFAULT_MS = 5 * 60_000

export interface TrackerClientEvents {
  peers: [peers: PeerAddress[], url: string]
  /** A one-line message, tracker name included, that can be printed as is. */
  warning: [url: string, message: string]
  announce: [url: string, response: AnnounceResponse]
}

interface Tier {
  /** In trying order; a URL that answers moves to the front (BEP 12). */
  urls: string[]
  timer?: NodeJS.Timeout
  /** When the scheduled announce fires (ms epoch); Infinity when none is scheduled. */
  nextAt: number
  inFlight?: AbortController
  /** A request to announce again as soon as the one in flight ends. */
  again: 'none' | 'soon' | 'now'
  lastSuccessAt: number
  minGapMs: number
  /** The tracker's interval, and the gap used while hungry. */
  intervalMs: number
  hungryGapMs: number
  failures: number
}

/**
 * Keeps one torrent announced to all its trackers. Every tier is announced in parallel; within a tier the URLs are
 * tried in order until one answers. Events: 'peers', 'warning' (once per distinct message per tracker), 'announce'.
 */
export class TrackerClient extends EventEmitter<TrackerClientEvents> {
  private readonly opts: TrackerClientOptions
  private readonly tiers: Tier[]
  private readonly key = randomBytes(4).readUInt32BE(0)
  /** Trackers that have us in their swarm: they answered a `started` and have not been sent `stopped`. */
  private readonly joined = new Set<string>()
  /** Trackers that still need to hear `completed`. */
  private readonly completedDue = new Set<string>()
  private readonly warned = new Map<string, Set<string>>()
  private running = false
  private finished = false
  private isComplete = false
  private stopping?: Promise<void>

  constructor(opts: TrackerClientOptions) {
    super()
    this.opts = opts
    const seen = new Set<string>()
    this.tiers = []
    for (const tier of opts.tiers) {
      // The same URL twice would be announced twice; keep its first place only. Trackers we cannot speak
      // (wss:// WebTorrent ones are common in magnet links) are left out rather than warned about forever.
      const urls = tier.filter((u) => typeof u === 'string' && SUPPORTED.test(u) && !seen.has(u) && seen.add(u))
      if (urls.length) this.tiers.push({ urls, nextAt: Infinity, again: 'none', lastSuccessAt: 0, minGapMs: 0, intervalMs: 0, hungryGapMs: 0, failures: 0 })
    }
  }

  /** The tiers in their current order (answering URLs first). */
  get trackers(): string[][] {
    return this.tiers.map((t) => [...t.urls])
  }

  start(): void {
    if (this.running || this.finished) return
    this.running = true
    for (const tier of this.tiers) void this.round(tier)
  }

  /** The download finished: tell the trackers that saw us start. */
  completed(): void {
    if (this.isComplete) return
    this.isComplete = true
    for (const url of this.joined) this.completedDue.add(url)
    if (!this.running) return
    for (const tier of this.tiers) if (tier.urls.some((u) => this.completedDue.has(u))) this.request(tier, 'now')
  }

  /** Ask every tier for peers now, or as soon as its tracker's minimum interval allows. */
  announceNow(): void {
    if (!this.running) return
    for (const tier of this.tiers) this.request(tier, 'soon')
  }

  /**
   * The torrent's hunger for peers may have changed (see `hungry`): move each tier's next announce to what it now
   * calls for. Cheap when nothing changed; the session calls it every second.
   */
  replan(): void {
    if (!this.running) return
    const hungry = this.opts.hungry?.() ?? false
    for (const tier of this.tiers) {
      // Failing tiers keep their back-off; a tier not yet answered has its first round running or scheduled.
      if (tier.inFlight || tier.failures > 0 || tier.lastSuccessAt === 0 || tier.again !== 'none') continue
      const due = tier.lastSuccessAt + (hungry ? tier.hungryGapMs : tier.intervalMs)
      // Only the regular schedule is moved: a sooner announce asked for by announceNow() or completed() stays.
      if (due !== tier.nextAt && (tier.nextAt === Infinity || tier.nextAt === tier.lastSuccessAt + tier.intervalMs || tier.nextAt === tier.lastSuccessAt + tier.hungryGapMs)) {
        this.scheduleAt(tier, due)
      }
    }
  }

  /** Send `stopped` to the trackers that have us (bounded by stopTimeoutMs) and clear every timer. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    this.running = false
    this.finished = true
    for (const tier of this.tiers) {
      clearTimeout(tier.timer)
      tier.timer = undefined
      tier.nextAt = Infinity
      tier.inFlight?.abort()
    }
    const urls = [...this.joined]
    this.joined.clear()
    if (urls.length === 0) return
    const limit = this.opts.stopTimeoutMs ?? 3000
    const ctl = new AbortController()
    const timer = setTimeout(() => ctl.abort(), limit)
    try {
      await Promise.allSettled(urls.map((url) =>
        announce(url, this.buildRequest('stopped', 0), { signal: ctl.signal, timeoutMs: limit, tries: 2 })))
    } finally {
      clearTimeout(timer)
    }
  }

  private buildRequest(event: AnnounceRequest['event'], numwant = this.opts.numwant): AnnounceRequest {
    const s = this.opts.stats()
    const req: AnnounceRequest = {
      infoHash: this.opts.infoHash, peerId: this.opts.peerId, port: this.opts.port,
      uploaded: s.uploaded, downloaded: s.downloaded, left: s.left, key: this.key,
    }
    if (event) req.event = event
    if (numwant !== undefined) req.numwant = numwant
    const ipv6 = this.opts.ipv6?.()
    if (ipv6) req.ipv6 = ipv6
    return req
  }

  /** Announce `tier` now ('now' ignores the minimum interval, for `completed`) or once its minimum interval has passed. */
  private request(tier: Tier, urgency: 'soon' | 'now'): void {
    if (tier.inFlight) {
      if (tier.again !== 'now') tier.again = urgency
      return
    }
    // A tier that is failing keeps its back-off; hammering a dead tracker finds no peers.
    if (tier.failures > 0 && urgency === 'soon') return
    const earliest = urgency === 'now' ? Date.now() : Math.max(Date.now(), tier.lastSuccessAt + tier.minGapMs)
    if (earliest < tier.nextAt) this.schedule(tier, earliest - Date.now())
  }

  private schedule(tier: Tier, delayMs: number): void {
    this.scheduleAt(tier, Date.now() + Math.max(0, delayMs))
  }

  /** Next round of `tier` at time `at` (ms epoch; now if past). nextAt keeps `at` itself, so replan() can tell. */
  private scheduleAt(tier: Tier, at: number): void {
    clearTimeout(tier.timer)
    if (!this.running) return
    const delay = Math.max(0, at - Date.now())
    tier.nextAt = at
    tier.timer = setTimeout(() => {
      tier.timer = undefined
      tier.nextAt = Infinity
      void this.round(tier)
    }, delay)
  }

  private eventFor(url: string): AnnounceRequest['event'] {
    if (!this.joined.has(url)) return 'started'
    if (this.completedDue.has(url)) return 'completed'
    return undefined
  }

  /** One announce round of a tier: its URLs in order until one answers. */
  private async round(tier: Tier): Promise<void> {
    if (!this.running || tier.inFlight) return
    const ctl = new AbortController()
    tier.inFlight = ctl
    tier.again = 'none'
    let answered = false
    try {
      for (let i = 0; i < tier.urls.length; i++) {
        const url = tier.urls[i]
        const event = this.eventFor(url)
        const req = this.buildRequest(event)
        let res: AnnounceResponse
        try {
          res = await announce(url, req, { signal: ctl.signal, timeoutMs: this.opts.timeoutMs })
        } catch (err) {
          if (ctl.signal.aborted || !this.running) return
          this.warn(url, err instanceof TrackerError ? err.message : `${trackerLabel(url)}: ${errorMessage(err)}`)
          continue
        }
        if (!this.running) return
        answered = true
        this.joined.add(url)
        if (event === 'completed') this.completedDue.delete(url)
        // completed() arrived while this tracker was hearing `started` with bytes left: it still needs to know.
        else if (event === 'started' && req.left > 0 && this.isComplete) {
          this.completedDue.add(url)
          tier.again = 'now'
        }
        if (i > 0) {
          tier.urls.splice(i, 1)
          tier.urls.unshift(url)
        }
        tier.failures = 0
        tier.lastSuccessAt = Date.now()
        const minMs = this.opts.minIntervalMs ?? 30_000
        const maxMs = Math.max(minMs, this.opts.maxIntervalMs ?? 3_600_000)
        const intervalMs = clamp(res.interval * 1000, minMs, maxMs)
        tier.minGapMs = clamp((res.minInterval ?? 0) * 1000, minMs, intervalMs)
        tier.intervalMs = intervalMs
        tier.hungryGapMs = res.minInterval !== undefined ? tier.minGapMs : clamp(HUNGRY_DEFAULT_MS, minMs, intervalMs)
        if (res.warning) this.warn(url, `${trackerLabel(url)}: tracker warns "${res.warning}"`)
        this.emit('announce', url, res)
        if (res.peers.length > 0) this.emit('peers', res.peers, url)
        this.scheduleAt(tier, tier.lastSuccessAt + (this.opts.hungry?.() ? tier.hungryGapMs : intervalMs))
        return
      }
    } finally {
      if (tier.inFlight === ctl) tier.inFlight = undefined
      if (this.running) this.afterRound(tier, answered)
    }
  }

  private afterRound(tier: Tier, answered: boolean): void {
    if (!answered) {
      tier.failures++
      const base = this.opts.retryBaseMs ?? 15_000
      const max = Math.max(base, this.opts.retryMaxMs ?? 600_000)
      this.schedule(tier, Math.min(max, base * 2 ** Math.min(tier.failures - 1, 20)))
    }
    const again = tier.again
    tier.again = 'none'
    if (again !== 'none') this.request(tier, again)
  }

  private warn(url: string, message: string): void {
    let seen = this.warned.get(url)
    if (!seen) this.warned.set(url, (seen = new Set()))
    if (seen.has(message) || seen.size >= 32) return
    seen.add(message)
    this.emit('warning', url, message)
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : hi
}
