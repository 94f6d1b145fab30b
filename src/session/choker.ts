// Which peers we upload to: tit-for-tat over the peers' rates plus one optimistic slot, as pure functions of peer
// stats (libtorrent's choker has the same shape), and the Choker that applies them to a torrent's peers.

// The optimistic unchoke moves every this many rounds (30 s at a round per 10 s).
const OPTIMISTIC_EVERY = 3

/** What the choker knows of a peer. */
export interface ChokerPeer {
  /** It wants to download from us. */
  readonly interested: boolean
  /** We let it download now (not choked). */
  readonly unchoked: boolean
  /** It holds the optimistic slot. */
  readonly optimistic: boolean
  /** Bytes/s it sends us: the rank while we download. */
  readonly downRate: number
  /** Bytes/s we send it: the rank while we seed (the fastest downloaders spread the data best). */
  readonly upRate: number
}

export interface ChokeOptions {
  /** Upload slots, the optimistic one included. */
  slots: number
  /** Rank by upload rate (seeding) instead of download rate. */
  seeding: boolean
  /** Give the optimistic slot to a new peer this round (every third round: every 30 s at one round per 10 s). */
  rotateOptimistic: boolean
  /** For tests; Math.random otherwise. */
  random?: () => number
}

export interface ChokeDecision<P> {
  /** The peers to have unchoked after this round; every other peer is choked. */
  unchoke: Set<P>
  /** The holder of the optimistic slot, if any. */
  optimistic: P | undefined
}

/**
 * One rechoke round: the interested peers that rank highest get all slots but one (at least one), and one other
 * interested peer gets the optimistic slot, kept until the next rotation, so a new peer can show what it gives.
 */
export function rechoke<P extends ChokerPeer>(peers: Iterable<P>, o: ChokeOptions): ChokeDecision<P> {
  const interested: P[] = []
  for (const p of peers) if (p.interested) interested.push(p)
  interested.sort(o.seeding ? (a, b) => b.upRate - a.upRate : (a, b) => b.downRate - a.downRate)
  const regular = Math.max(1, o.slots - 1)
  const unchoke = new Set(interested.slice(0, regular))
  const rest = interested.slice(regular)
  let optimistic = rest.find((p) => p.optimistic)
  if (!optimistic || o.rotateOptimistic) {
    optimistic = rest.length ? rest[Math.floor((o.random ?? Math.random)() * rest.length)] : undefined
  }
  if (optimistic) unchoke.add(optimistic)
  return { unchoke, optimistic }
}

/**
 * Between rounds a free slot is not left empty until the next one: choked interested peers, in the order given, take
 * the slots that are free now (a peer became interested, an unchoked peer lost interest or left).
 */
export function fillFreeSlots<P extends ChokerPeer>(peers: Iterable<P>, slots: number): P[] {
  let free = slots
  const choked: P[] = []
  for (const p of peers) {
    if (p.unchoked) free--
    else if (p.interested) choked.push(p)
  }
  return free > 0 ? choked.slice(0, free) : []
}

/** Slots not taken by an unchoked peer (interested or not: it holds the slot until the next round). */
export function freeSlots(peers: Iterable<ChokerPeer>, slots: number): number {
  let free = slots
  for (const p of peers) if (p.unchoked) free--
  return Math.max(0, free)
}

/** A peer the choker can act on. */
export interface ChokablePeer extends ChokerPeer {
  optimistic: boolean
  choke(): void
  unchoke(): void
}

/** Applies the rules above to a torrent's peers: a round every 10 s, free slots filled between rounds. */
export class Choker<P extends ChokablePeer> {
  private round = 0

  constructor(
    private readonly peers: () => Iterable<P>,
    private readonly slots: number,
    /** Uploading at all (metadata known, upload not switched off). */
    private readonly enabled: () => boolean,
    /** Seeding ranks peers by upload rate. */
    private readonly seeding: () => boolean,
  ) {}

  /** One round (every 10 s); the optimistic slot moves every OPTIMISTIC_EVERY rounds. */
  rechoke(): void {
    if (!this.enabled()) return
    this.round++
    const { unchoke, optimistic } = rechoke(this.peers(), { slots: this.slots, seeding: this.seeding(), rotateOptimistic: this.round % OPTIMISTIC_EVERY === 0 })
    for (const peer of this.peers()) {
      peer.optimistic = peer === optimistic
      if (unchoke.has(peer)) {
        if (!peer.unchoked) peer.unchoke()
      } else if (peer.unchoked) peer.choke()
    }
  }

  /** A peer became interested: it takes a free slot at once rather than at the next round. */
  interested(peer: P): void {
    if (this.enabled() && !peer.unchoked && freeSlots(this.peers(), this.slots) > 0) peer.unchoke()
  }

  /** An unchoked peer lost interest: its slot goes to one that wants it. */
  uninterested(peer: P): void {
    if (!peer.unchoked) return
    peer.choke()
    this.fill()
  }

  /** A slot may have come free (an unchoked peer left or lost interest). */
  fill(): void {
    if (!this.enabled()) return
    for (const peer of fillFreeSlots(this.peers(), this.slots)) peer.unchoke()
  }
}
