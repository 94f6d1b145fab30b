// One connected peer as the session sees it: its wire and socket, what it has, what we asked of it, its rates.

import type { PeerSocket as Socket } from '../net/utp.js'
import type { PeerWire } from '../wire/peer-wire.js'
import type { PeerAddress } from '../discovery/peer-address.js'
import type { PickPeer } from './picker.js'
import type { ChokablePeer } from './choker.js'
import { RateMeter } from './rate.js'

export const MIN_PIPELINE = 4
/** Requests kept outstanding to a fresh peer until its rate is known. */
export const START_PIPELINE = 64
export const MAX_PIPELINE = 1024

export class Peer implements PickPeer, ChokablePeer {
  readonly outstanding = new Map<number, number>()
  readonly down = new RateMeter()
  readonly up = new RateMeter()
  /** The peer stopped answering requests in time; it gets few requests until it sends again. */
  snubbed = false
  /** Peer has every piece (have-all, or a full bitfield). */
  seed = false
  haveCount = 0
  /** Peer's advertised request queue limit (BEP 10 `reqq`), default 250 as libtorrent assumes. */
  reqq = 250
  /** Our wanted-set version when interest was last computed. */
  interestVersion = -1
  /** It holds the optimistic unchoke slot. */
  optimistic = false
  /** Blocks this peer sent that completed pieces which failed the hash. */
  strikes = 0
  /** Its requests we have yet to read from disk and send. */
  readonly uploadQueue: Array<{ index: number; offset: number; length: number; respond: (err: Error | null, buf?: Uint8Array) => void; wireRequest: object }> = []
  /** Bytes its queued requests ask for (bounded: a peer past the bound is dropped as a flood). */
  uploadQueuedBytes = 0
  uploadsInFlight = 0
  /** Waiting for upload tokens or for its socket to drain. */
  uploadWaiting = false
  /** A bitfield, have or have-all arrived (a bitfield after that is a protocol violation). */
  sawHaves = false
  /** Metadata fetches started from this peer, and when the next may start. */
  metadataTries = 0
  metadataRetryAt = 0

  constructor(
    readonly key: string,
    readonly address: PeerAddress,
    readonly wire: PeerWire,
    readonly socket: Socket,
    readonly incoming: boolean,
  ) {}

  // What the choker ranks and counts (choker.ts).
  /** It is interested in our pieces. */
  get interested(): boolean {
    return this.wire.peerInterested
  }
  get unchoked(): boolean {
    return !this.wire.amChoking
  }
  get downRate(): number {
    return this.down.rate()
  }
  get upRate(): number {
    return this.up.rate()
  }
  choke(): void {
    this.wire.choke()
  }
  unchoke(): void {
    this.wire.unchoke()
  }

  has(piece: number): boolean {
    return this.seed || this.wire.peerPieces.get(piece)
  }

  /**
   * How many requests to keep outstanding: enough to cover about a second of this peer's rate in 16 KiB blocks,
   * so the pipe never drains, within the peer's reqq and our cap.
   */
  pipelineDepth(): number {
    if (this.snubbed) return 1
    const rate = this.down.rate()
    const want = rate > 0 ? Math.ceil(rate / 16384) : START_PIPELINE
    return Math.max(Math.min(START_PIPELINE, this.reqq), Math.min(want, this.reqq, MAX_PIPELINE), MIN_PIPELINE)
  }
}
