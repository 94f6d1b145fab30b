// The tracker's core, free of any network framework: swarms in memory, announce and scrape logic, expiry, limits.
// Both front ends (HTTP and UDP) and the persistence unit talk to this class only.
//
// Memory layout, chosen for ~1 M peers in well under 500 MiB: a peer is one small object keyed by its peer id (a
// 20-char latin1 string) in its swarm's Map, its compact address only in its swarm's slot array (slots.ts: copied
// straight into replies; a string per peer cost ~28 MiB at 1 M peers), and times in whole seconds since the
// tracker started (small integers, no heap numbers). A swarm's Map is kept in order of last announce (a re-announce moves the peer to the end), so the
// oldest peer is always the first entry: expiry pops from the front and a full swarm drops its first entry. A
// parallel array gives O(1) random sampling for the peer list.

import { RateLimiter, RateMeter } from './rate-limit.js'
import { compactAddress } from './address.js'
import { F_SEEDER, F_V6, SLOT, allocSlots, peerAddr, releaseSlots, resizeSlots, slotIs, slotV6, writeSlot } from './slots.js'

export { compactAddress, decodeCompactAddress } from './address.js'
export { peerAddr } from './slots.js'

export const EVENT_NONE = 0
export const EVENT_COMPLETED = 1
export const EVENT_STARTED = 2
export const EVENT_STOPPED = 3
export type AnnounceEvent = 0 | 1 | 2 | 3

export interface Peer {
  seeder: boolean
  /** Seconds since the tracker's epoch (Tracker.now()). */
  last: number
  /** Index in swarm.list; -1 once removed. */
  idx: number
  swarm: Swarm
  id: string
}

export interface Swarm {
  /** Info hash as a 20-char latin1 string. */
  ih: string
  peers: Map<string, Peer>
  list: Peer[]
  /**
   * The peers' compact addresses and flags by slot (a slot is the peer's index in `list`), SLOT bytes each: the
   * flags byte (1 seeder, 2 IPv6), then the address (IPv4 uses 6 of the 18 bytes). Picking peers for a reply
   * reads this one array instead of chasing a pointer per peer object and its address string: with 100 k peers
   * those cache misses were most of the swarm logic's time.
   */
  slots: Uint8Array
  seeders: number
  leechers: number
  completed: number
}

export interface AnnounceParams {
  /** 20-byte info hash as a latin1 string. */
  infoHash: string
  /** 20-byte peer id as a latin1 string. */
  peerId: string
  /** The peer's IP (v4 dotted or v6 text) — normally the request's source address. */
  ip: string
  port: number
  left: number
  event: AnnounceEvent
  /** Peers wanted; negative means the default. */
  numwant: number
  /** Only peers of this family are wanted (UDP replies carry one family); default both. */
  family?: 4 | 6
  /** The request's source address, for the rate limit, when `ip` came from the request (--allow-ip-param). */
  source?: string
}

/** An announce's answer: the counts and the peers picked (compact forms built only by the front end that needs them). */
export class AnnounceResult {
  constructor(readonly complete: number, readonly incomplete: number, private readonly swarm?: Swarm, private readonly picks?: Int32Array) {}

  /** The peers picked, as objects. */
  get picked(): Peer[] {
    const out: Peer[] = []
    if (this.swarm && this.picks) for (const i of this.picks) out.push(this.swarm.list[i])
    return out
  }

  /** Concatenated 6-byte IPv4 compact peers (latin1). */
  get peers4(): string {
    let s = ''
    for (const p of this.picked) if (!slotV6(p)) s += peerAddr(p)
    return s
  }

  /** Concatenated 18-byte IPv6 compact peers (latin1). */
  get peers6(): string {
    let s = ''
    for (const p of this.picked) if (slotV6(p)) s += peerAddr(p)
    return s
  }

  /** Writes the compact peers of one family (6 or 18 bytes each) at `offset`; returns the bytes written. */
  writeCompact(out: Buffer, offset: number, size: 6 | 18): number {
    const picks = this.picks
    if (!picks || !this.swarm) return 0
    const slots = this.swarm.slots
    const v6 = size === 18 ? F_V6 : 0
    let o = offset
    for (let k = 0; k < picks.length; k++) {
      const base = picks[k] * SLOT
      if ((slots[base] & F_V6) !== v6) continue
      for (let i = 1; i <= size; i++) out[o++] = slots[base + i]
    }
    return o - offset
  }

  count(size: 6 | 18): number {
    const picks = this.picks
    if (!picks || !this.swarm) return 0
    const slots = this.swarm.slots
    const v6 = size === 18 ? F_V6 : 0
    let n = 0
    for (let k = 0; k < picks.length; k++) if ((slots[picks[k] * SLOT] & F_V6) === v6) n++
    return n
  }
}

export interface ScrapeEntry {
  complete: number
  incomplete: number
  downloaded: number
}

/** Refusals carry a reason that front ends send as a bencoded `failure reason` or a UDP error packet. */
export class TrackerRefusal extends Error {}

/** What the persistence unit is told; no calls are made for peers that merely expire (the store prunes by time). */
export interface TrackerJournal {
  peerChanged(p: Peer): void
  peerRemoved(ih: string, id: string): void
  swarmChanged(s: Swarm): void
  /** Registrations made through the API (whitelist files are re-read at start instead). */
  registrationChanged(ih: string, reg: Registration | null): void
}

export interface TrackerOptions {
  /** Seconds between announces that clients are told (default 900). */
  interval?: number
  /** Seconds after its last announce that a peer is dropped (default 1800). */
  peerTimeout?: number
  numwantDefault?: number
  numwantMax?: number
  /** Peers kept per swarm; the least recently announced is dropped for a new one (default 10 000). */
  maxSwarmPeers?: number
  /** Announces + scrapes per second per IP (default 50, burst 4× that); 0 turns the limit off. */
  rateLimit?: number
  /** Only registered info hashes are served. */
  private?: boolean
  /** Full scrape (scrape with no info_hash) allowed; default true unless private. */
  fullScrape?: boolean
  /** Honour the `ip` announce parameter (only sensible behind a trusted proxy or on a LAN). */
  allowIpParam?: boolean
  /** Seconds between expiry sweeps (default: peerTimeout / 20, between 1 and 60). */
  sweepInterval?: number
  /** Milliseconds clock (tests move time forward). */
  clock?: () => number
}

export interface TrackerCounters {
  announces: number
  scrapes: number
  refused: number
}

export interface Registration {
  name: string
  source: string
}

const EPOCH_MS = Date.now()

function newSwarm(ih: string): Swarm {
  return { ih, peers: new Map(), list: [], slots: allocSlots(4), seeders: 0, leechers: 0, completed: 0 }
}

/** Slots picked by the last announce; copied out into its AnnounceResult. */
let scratch = new Int32Array(256)

export class Tracker {
  readonly interval: number
  readonly peerTimeout: number
  readonly numwantDefault: number
  readonly numwantMax: number
  readonly maxSwarmPeers: number
  readonly isPrivate: boolean
  readonly fullScrape: boolean
  readonly allowIpParam: boolean
  readonly swarms = new Map<string, Swarm>()
  /** Registered info hashes (latin1) -> name and where the registration came from ('api', 'whitelist'). */
  readonly registered = new Map<string, Registration>()
  readonly counters: TrackerCounters = { announces: 0, scrapes: 0, refused: 0 }
  readonly startedAt = Date.now()
  journal: TrackerJournal | undefined
  private seeders = 0
  private leechers = 0
  private v4 = 0
  private v6 = 0
  private readonly limiter: RateLimiter | undefined
  private sweepTimer: NodeJS.Timeout | undefined
  private readonly rate = new RateMeter()
  private readonly clock: () => number

  constructor(opts: TrackerOptions = {}) {
    this.interval = opts.interval ?? 900
    this.peerTimeout = opts.peerTimeout ?? 1800
    this.numwantDefault = Math.min(opts.numwantDefault ?? 50, opts.numwantMax ?? 200)
    this.numwantMax = opts.numwantMax ?? 200
    this.maxSwarmPeers = opts.maxSwarmPeers ?? 10_000
    this.isPrivate = opts.private ?? false
    this.fullScrape = opts.fullScrape ?? !this.isPrivate
    this.allowIpParam = opts.allowIpParam ?? false
    this.clock = opts.clock ?? Date.now
    const rate = opts.rateLimit ?? 50
    this.limiter = rate > 0 ? new RateLimiter(rate, rate * 4) : undefined
    const sweep = opts.sweepInterval ?? Math.max(1, Math.min(60, Math.floor(this.peerTimeout / 20)))
    this.sweepTimer = setInterval(() => {
      this.sweep()
      this.limiter?.prune(this.clock())
    }, sweep * 1000)
    this.sweepTimer.unref()
  }

  /** Whole seconds since this process's epoch: small integers, cheap to store per peer. */
  now(): number {
    return Math.floor((this.clock() - EPOCH_MS) / 1000)
  }

  /** Converts between the in-memory clock and Unix seconds (for persistence). */
  toUnix(t: number): number {
    return Math.floor(EPOCH_MS / 1000) + t
  }

  fromUnix(u: number): number {
    return u - Math.floor(EPOCH_MS / 1000)
  }

  stop(): void {
    clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
  }

  /** Throws TrackerRefusal when this IP is over its rate. */
  checkRate(ip: string): void {
    if (this.limiter && !this.limiter.take(ip, this.clock())) {
      this.counters.refused++
      throw new TrackerRefusal('rate limit exceeded: announce less often')
    }
  }

  allowed(ih: string): boolean {
    return !this.isPrivate || this.registered.has(ih)
  }

  announce(p: AnnounceParams): AnnounceResult {
    if (p.infoHash.length !== 20) throw this.refuse('invalid info_hash: must be 20 bytes')
    if (p.peerId.length !== 20) throw this.refuse('invalid peer_id: must be 20 bytes')
    if (!(p.port > 0 && p.port < 65536)) throw this.refuse('invalid port')
    const ipc = this.compactIp(p.ip)
    if (ipc === undefined) throw this.refuse('invalid IP address')
    this.checkRate(p.source ?? p.ip)
    if (!this.allowed(p.infoHash)) throw this.refuse('unregistered torrent: this tracker is private')
    this.counters.announces++
    this.rate.announce()

    let swarm = this.swarms.get(p.infoHash)
    const seeder = p.left === 0 || p.event === EVENT_COMPLETED
    if (p.event === EVENT_STOPPED) {
      if (swarm) {
        const peer = swarm.peers.get(p.peerId)
        if (peer) {
          // A leecher that leaves with nothing left finished its download (some clients never send `completed`).
          if (!peer.seeder && p.left === 0) {
            swarm.completed++
            this.journal?.swarmChanged(swarm)
          }
          this.removePeer(peer)
          this.journal?.peerRemoved(swarm.ih, peer.id)
        }
        return new AnnounceResult(swarm.seeders, swarm.leechers)
      }
      return new AnnounceResult(0, 0)
    }
    if (!swarm) {
      swarm = newSwarm(p.infoHash)
      this.swarms.set(p.infoHash, swarm)
    }
    const now = this.now()
    let peer = swarm.peers.get(p.peerId)
    if (peer) {
      // Move to the end: the Map stays ordered by last announce.
      swarm.peers.delete(p.peerId)
      if (!slotIs(peer, ipc, p.port)) {
        this.countFamily(slotV6(peer), -1)
        this.countFamily(ipc.length === 16, 1)
        writeSlot(swarm, peer, ipc + String.fromCharCode(p.port >>> 8, p.port & 0xff))
      }
      if (seeder && !peer.seeder) {
        swarm.completed++ // a leecher we knew that now has everything: one completed download
        this.journal?.swarmChanged(swarm)
      }
      this.setSeeder(swarm, peer, seeder)
      peer.last = now
      swarm.peers.set(p.peerId, peer)
    } else {
      if (swarm.list.length >= this.maxSwarmPeers) {
        const oldest = swarm.peers.values().next().value as Peer
        this.removePeer(oldest)
        this.journal?.peerRemoved(swarm.ih, oldest.id)
      }
      peer = { seeder, last: now, idx: swarm.list.length, swarm, id: p.peerId }
      swarm.list.push(peer)
      writeSlot(swarm, peer, ipc + String.fromCharCode(p.port >>> 8, p.port & 0xff))
      swarm.peers.set(p.peerId, peer)
      if (seeder) { swarm.seeders++; this.seeders++ } else { swarm.leechers++; this.leechers++ }
      this.countFamily(ipc.length === 16, 1)
      if (p.event === EVENT_COMPLETED) {
        swarm.completed++
        this.journal?.swarmChanged(swarm)
      }
    }
    this.journal?.peerChanged(peer)

    const want = p.numwant < 0 ? this.numwantDefault : Math.min(p.numwant, this.numwantMax)
    return new AnnounceResult(swarm.seeders, swarm.leechers, swarm, this.pick(swarm, peer, want, p.family === 4 ? 6 : p.family === 6 ? 18 : 0))
  }

  /** The compact form of an IP (4 or 16 latin1 chars), cached: a busy IP (a NAT, a seedbox) is parsed once. */
  private ipCache = new Map<string, string | undefined>()
  private compactIp(ip: string): string | undefined {
    let c = this.ipCache.get(ip)
    if (c === undefined && !this.ipCache.has(ip)) {
      const a = compactAddress(ip, 0)
      c = a === undefined ? undefined : a.slice(0, -2)
      if (this.ipCache.size >= 65536) this.ipCache.clear()
      this.ipCache.set(ip, c)
    }
    return c
  }

  /**
   * Up to `want` other peers, from a random starting point, wrapping around; a seeder gets leechers only. The scan
   * is bounded so that a seeder in a huge swarm of seeders costs little.
   */
  private pick(swarm: Swarm, self: Peer, want: number, size: 0 | 6 | 18): Int32Array | undefined {
    const n = swarm.list.length
    if (want <= 0 || n <= 1) return undefined
    if (scratch.length < want) scratch = new Int32Array(want)
    const slots = swarm.slots
    const start = n > want + 1 ? Math.floor(Math.random() * n) : 0
    const scan = Math.min(n, want * 4 + 64)
    const skipSeeders = self.seeder
    const me = self.idx
    // Family filter: compare the V6 flag with `fam` under `famMask` (mask 0 lets both through).
    const famMask = size === 0 ? 0 : F_V6
    const fam = size === 18 ? F_V6 : 0
    let got = 0
    let i = start
    for (let k = 0; k < scan && got < want; k++, i++) {
      if (i === n) i = 0
      if (i === me) continue
      const f = slots[i * SLOT]
      if ((skipSeeders && (f & F_SEEDER) !== 0) || (f & famMask) !== fam) continue
      scratch[got++] = i
    }
    return scratch.slice(0, got)
  }

  scrape(infoHashes: string[]): Map<string, ScrapeEntry> {
    this.counters.scrapes++
    this.rate.scrape()
    const out = new Map<string, ScrapeEntry>()
    for (const ih of infoHashes) {
      const s = this.allowed(ih) ? this.swarms.get(ih) : undefined
      out.set(ih, s ? { complete: s.seeders, incomplete: s.leechers, downloaded: s.completed } : { complete: 0, incomplete: 0, downloaded: 0 })
    }
    return out
  }

  /** Every swarm with peers or completed downloads (the full scrape). */
  scrapeAll(): Map<string, ScrapeEntry> {
    this.counters.scrapes++
    this.rate.scrape()
    const out = new Map<string, ScrapeEntry>()
    for (const s of this.swarms.values()) {
      if (this.allowed(s.ih)) out.set(s.ih, { complete: s.seeders, incomplete: s.leechers, downloaded: s.completed })
    }
    return out
  }

  /** Drops peers not heard from within peerTimeout; removes swarms left with nothing worth keeping. */
  sweep(): number {
    const cutoff = this.now() - this.peerTimeout
    let dropped = 0
    for (const s of this.swarms.values()) {
      for (const peer of s.peers.values()) {
        if (peer.last > cutoff) break // ordered by last announce: the rest are newer
        this.removePeer(peer)
        dropped++
      }
      if (s.list.length === 0 && s.completed === 0 && !this.registered.has(s.ih)) {
        this.swarms.delete(s.ih)
        releaseSlots(s)
      }
    }
    return dropped
  }

  /**
   * Restores a peer from persisted state (no journal call). Called once per saved record, oldest record first:
   * a later record of the same peer replaces it, and an expired one removes it. finishRestore() puts each swarm
   * back in order of last announce.
   */
  restorePeer(ih: string, id: string, addr: string, seeder: boolean, lastUnix: number): void {
    if (ih.length !== 20 || id.length !== 20 || (addr.length !== 6 && addr.length !== 18)) return
    const last = this.fromUnix(lastUnix)
    if (last <= this.now() - this.peerTimeout) {
      this.restoreRemoved(ih, id)
      return
    }
    let swarm = this.swarms.get(ih)
    if (!swarm) {
      swarm = newSwarm(ih)
      this.swarms.set(ih, swarm)
    }
    const known = swarm.peers.get(id)
    if (known) {
      this.countFamily(slotV6(known), -1)
      this.countFamily(addr.length === 18, 1)
      known.last = last
      this.setSeeder(swarm, known, seeder)
      writeSlot(swarm, known, addr)
      return
    }
    if (swarm.list.length >= this.maxSwarmPeers) return
    const peer: Peer = { seeder, last, idx: swarm.list.length, swarm, id }
    swarm.list.push(peer)
    writeSlot(swarm, peer, addr)
    swarm.peers.set(id, peer)
    if (seeder) { swarm.seeders++; this.seeders++ } else { swarm.leechers++; this.leechers++ }
    this.countFamily(addr.length === 18, 1)
  }

  restoreRemoved(ih: string, id: string): void {
    const peer = this.swarms.get(ih)?.peers.get(id)
    if (peer) this.removePeer(peer)
  }

  /** After a restore: each swarm's Map in order of last announce again (expiry and eviction rely on it). */
  finishRestore(): void {
    for (const s of this.swarms.values()) {
      let sorted = true
      let prev = -Infinity
      for (const p of s.peers.values()) {
        if (p.last < prev) { sorted = false; break }
        prev = p.last
      }
      if (sorted) continue
      const peers = [...s.peers.values()].sort((a, b) => a.last - b.last)
      s.peers.clear()
      for (const p of peers) s.peers.set(p.id, p)
    }
  }

  restoreCompleted(ih: string, completed: number): void {
    if (ih.length !== 20) return
    let swarm = this.swarms.get(ih)
    if (!swarm) {
      swarm = newSwarm(ih)
      this.swarms.set(ih, swarm)
    }
    swarm.completed = completed
  }

  register(ih: string, reg: Registration): void {
    this.registered.set(ih, reg)
    if (reg.source === 'api') this.journal?.registrationChanged(ih, reg)
  }

  unregister(ih: string): void {
    const reg = this.registered.get(ih)
    this.registered.delete(ih)
    if (reg?.source === 'api') this.journal?.registrationChanged(ih, null)
  }

  stats() {
    let completed = 0
    for (const s of this.swarms.values()) completed += s.completed
    const r = this.rate.rates()
    return {
      torrents: this.swarms.size,
      seeders: this.seeders,
      leechers: this.leechers,
      peers: this.seeders + this.leechers,
      completed,
      peersByFamily: { ipv4: this.v4, ipv6: this.v6 },
      announces: this.counters.announces,
      scrapes: this.counters.scrapes,
      refused: this.counters.refused,
      announcesPerSecond: r.announces,
      scrapesPerSecond: r.scrapes,
      registered: this.registered.size,
      private: this.isPrivate,
      uptime: Math.floor((Date.now() - this.startedAt) / 1000),
    }
  }

  swarmStats(ih: string) {
    const s = this.swarms.get(ih)
    const reg = this.registered.get(ih)
    if (!s && !reg) return undefined
    let v4 = 0
    let v6 = 0
    for (const p of s?.list ?? []) if (slotV6(p)) v6++; else v4++
    return {
      infoHash: Buffer.from(ih, 'latin1').toString('hex'),
      name: reg?.name,
      registered: Boolean(reg),
      seeders: s?.seeders ?? 0,
      leechers: s?.leechers ?? 0,
      completed: s?.completed ?? 0,
      peersByFamily: { ipv4: v4, ipv6: v6 },
    }
  }

  private refuse(reason: string): TrackerRefusal {
    this.counters.refused++
    return new TrackerRefusal(reason)
  }

  private setSeeder(swarm: Swarm, peer: Peer, seeder: boolean): void {
    if (peer.seeder === seeder) return
    if (seeder) { swarm.seeders++; swarm.leechers--; this.seeders++; this.leechers-- } else { swarm.seeders--; swarm.leechers++; this.seeders--; this.leechers++ }
    peer.seeder = seeder
    swarm.slots[peer.idx * SLOT] ^= F_SEEDER
  }

  private removePeer(peer: Peer): void {
    const swarm = peer.swarm
    this.countFamily(slotV6(peer), -1) // before its slot is reused below
    swarm.peers.delete(peer.id)
    const last = swarm.list.pop()!
    if (last !== peer) {
      const from = last.idx * SLOT
      swarm.slots.copyWithin(peer.idx * SLOT, from, from + SLOT)
      swarm.list[peer.idx] = last
      last.idx = peer.idx
    }
    peer.idx = -1 // gone: the store skips it without a lookup (store.ts flush)
    if (peer.seeder) { swarm.seeders--; this.seeders-- } else { swarm.leechers--; this.leechers-- }
    // A swarm that shrank to a quarter of its slots gives the memory back (memory stays flat under churn).
    if (swarm.slots.length > 64 * SLOT && swarm.list.length * SLOT * 4 < swarm.slots.length) resizeSlots(swarm, swarm.slots.length / SLOT / 2, swarm.list.length)
  }

  private countFamily(v6: boolean, d: number): void {
    if (v6) this.v6 += d
    else this.v4 += d
  }
}
