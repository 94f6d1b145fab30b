// ut_metadata (BEP 9 over BEP 10): serve our info dictionary to peers and fetch it from them for magnet links.
// Written here instead of using the `ut_metadata` package, which finds the end of the message dict by decoding the
// binary payload as UTF-8 and searching for "ee", writes pieces at any index the peer names (an out-of-range index
// throws inside the wire), accepts short or long pieces, re-encodes the info dict it verified, and answers every
// request without limit.

import bencode from 'bencode'
import type Wire from 'bittorrent-protocol'
import type { ExtensionClass, ExtensionInstance } from 'bittorrent-protocol'
import { bdecode, isDict } from '../metainfo/bdecode.js'
import { MetadataAssembly, METADATA_PIECE_SIZE, MAX_METADATA_SIZE } from './metadata-assembly.js'

export { MetadataAssembly, METADATA_PIECE_SIZE, MAX_METADATA_SIZE }

// One request in flight per peer. rtorrent (rakshasa libtorrent) silently drops a ut_metadata request that arrives
// while its reply to the previous one is still pending, so a second request sent in the same write is never answered.
// Asking again only after an answer costs one round trip per 16 KiB; fetchers on several peers ask for different
// pieces in parallel (see MetadataAssembly), which wins the time back on large dictionaries.
const REQUEST_WINDOW = 1
// A request unanswered this long is asked again (of this peer or another); after MAX_TIMEOUTS in a row, the peer is
// given up. A few seconds: the answer is one small message, and libtorrent and others reply within a round trip.
const DEFAULT_REQUEST_TIMEOUT = 5_000
const MAX_TIMEOUTS = 2

const MSG_REQUEST = 0
const MSG_DATA = 1
const MSG_REJECT = 2

export interface MetadataExtensionOptions {
  infoHash: Buffer
  /** The raw info dict bytes, or undefined while we do not have them. Read on every request, so it may change. */
  getInfo: () => Buffer | undefined
  /** The verified info dict (its SHA-1 is infoHash). */
  onMetadata: (info: Buffer, wire: Wire) => void
  /** The peer sent something wrong (size out of range, wrong-size piece, hash mismatch): worth a ban. */
  onBadMetadata?: (wire: Wire, reason: string) => void
  /** Fetching from this peer stopped without proven fault of its own (no metadata, rejected, timed out): try another. */
  onGiveUp?: (wire: Wire, reason: string) => void
  /** Fetch as soon as a peer advertises metadata_size while getInfo() is undefined. Default true; else call fetch(). */
  fetch?: boolean
  /** Ask again when a request is unanswered for this long (ms). Default 5 s. */
  requestTimeout?: number
  /**
   * Where received pieces are kept, shared by every wire of the class (default: a new one per metadataExtension
   * call). Pieces survive the peer that sent them; a fetch asks only for what is still missing.
   */
  assembly?: MetadataAssembly
}

export interface MetadataExtension extends ExtensionInstance {
  /** metadata_size from the peer's extended handshake, once it was valid. */
  readonly peerMetadataSize: number | undefined
  /** Whether a fetch from this peer is running. */
  readonly fetching: boolean
  /** Start fetching from this peer (when opts.fetch is false, or again after a give-up). */
  fetch(): void
  /** Stop fetching from this peer; serving goes on. */
  cancel(): void
}

/** Extension class for wire.use(). The instance is `wire.ut_metadata` (a MetadataExtension). */
export function metadataExtension(opts: MetadataExtensionOptions): ExtensionClass {
  if (opts.infoHash.length !== 20) throw new TypeError('info hash must be 20 bytes')
  const autoFetch = opts.fetch !== false
  const requestTimeout = opts.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT
  const assembly = opts.assembly ?? new MetadataAssembly(opts.infoHash)

  class UtMetadata implements MetadataExtension {
    declare readonly name: string
    private readonly wire: Wire
    peerMetadataSize: number | undefined
    fetching = false
    /** Pieces asked of this peer now, with their timers. */
    private readonly inflight = new Map<number, NodeJS.Timeout>()
    /** Pieces asked of this peer during this fetch: a late answer to one of them is still welcome. */
    private readonly asked = new Set<number>()
    private timeouts = 0
    private closed = false
    private served = 0

    constructor(wire: Wire) {
      this.wire = wire
      const info = opts.getInfo()
      if (info) wire.extendedHandshake.metadata_size = info.length
      wire.once('close', () => {
        this.closed = true
        this.stop()
      })
    }

    onExtendedHandshake(h: Record<string, any>): void {
      const size = h.metadata_size
      // A repeated handshake cannot change what we are fetching; a seeder never fetches, so never judges sizes.
      if (this.peerMetadataSize !== undefined || opts.getInfo()) return
      if (size === undefined) {
        if (autoFetch && !opts.getInfo()) opts.onGiveUp?.(this.wire, 'peer has no metadata')
        return
      }
      if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0 || size > MAX_METADATA_SIZE) {
        opts.onBadMetadata?.(this.wire, `peer advertises metadata_size ${String(size)}`)
        return
      }
      this.peerMetadataSize = size
      if (autoFetch && !opts.getInfo()) this.fetch()
    }

    fetch(): void {
      if (this.fetching || this.closed || this.peerMetadataSize === undefined || opts.getInfo() || assembly.info) return
      if (!assembly.accepts(this.peerMetadataSize)) {
        opts.onGiveUp?.(this.wire, 'too many peers disagree about the metadata size')
        return
      }
      this.fetching = true
      this.timeouts = 0
      this.asked.clear()
      this.requestMore()
    }

    cancel(): void {
      this.stop()
    }

    onMessage(buf: Uint8Array): void {
      let dict
      let end
      try {
        ;({ value: dict, end } = bdecode(buf, { allowTrailing: true }))
      } catch {
        return // not bencode: ignore, as BEP 10 asks for unknown messages
      }
      if (!isDict(dict)) return
      const type = dict.msg_type
      const piece = dict.piece
      if (typeof piece !== 'number' || !Number.isInteger(piece)) return
      if (type === MSG_REQUEST) this.serve(piece)
      else if (type === MSG_DATA) this.onData(piece, buf.subarray(end), dict.total_size)
      else if (type === MSG_REJECT) this.onReject(piece)
    }

    private serve(piece: number): void {
      const info = opts.getInfo()
      const count = info ? Math.ceil(info.length / METADATA_PIECE_SIZE) : 0
      // Enough for a peer to fetch the whole dict a few times over; a request flood gets rejects, not 16 KiB each.
      if (!info || piece < 0 || piece >= count || this.served >= count * 3 + 8) {
        this.send({ msg_type: MSG_REJECT, piece })
        return
      }
      this.served++
      const start = piece * METADATA_PIECE_SIZE
      this.send({ msg_type: MSG_DATA, piece, total_size: info.length }, info.subarray(start, start + METADATA_PIECE_SIZE))
    }

    private onData(piece: number, data: Uint8Array, totalSize: unknown): void {
      if (!this.fetching || !this.asked.has(piece)) return // unasked-for, or after cancel(): harmless, ignore
      const size = this.peerMetadataSize!
      if (totalSize !== undefined && totalSize !== size) {
        return this.bad(`metadata total_size ${String(totalSize)} differs from metadata_size ${size}`)
      }
      const expected = MetadataAssembly.pieceLength(size, piece)
      if (data.length !== expected) return this.bad(`metadata piece ${piece} has ${data.length} bytes, expected ${expected}`)
      this.asked.delete(piece)
      clearTimeout(this.inflight.get(piece))
      this.inflight.delete(piece)
      this.timeouts = 0
      const res = assembly.add(size, piece, data, this)
      if (res.kind === 'done') {
        this.stop()
        opts.onMetadata(res.info, this.wire)
        return
      }
      if (res.kind === 'mismatch') {
        // Alone, this peer lied; with others, any of them may have: each steps back for a while (the session
        // decides how long), so the next try mixes the sources differently until one liar is caught alone.
        if (res.sources.length === 1 && res.sources[0] === this) return this.bad('metadata does not match the info hash')
        for (const src of res.sources) (src as UtMetadata).giveUp('metadata from several peers failed the hash check')
        if (!res.sources.includes(this)) this.requestMore()
        return
      }
      if (opts.getInfo()) return this.stop() // the session has it from elsewhere
      this.requestMore()
    }

    private onReject(piece: number): void {
      if (!this.fetching || !this.inflight.has(piece)) return
      this.giveUp('peer rejected a metadata request')
    }

    private requestMore(): void {
      if (!this.fetching) return
      const size = this.peerMetadataSize!
      while (this.inflight.size < REQUEST_WINDOW) {
        const piece = assembly.next(size, this)
        if (piece === undefined) {
          // Every missing piece is asked of another peer: ask again when one of them is released.
          if (assembly.missing(size) > 0 && !assembly.info) assembly.wait(this, () => this.requestMore())
          return
        }
        this.asked.add(piece)
        const timer = setTimeout(() => this.onTimeout(piece), requestTimeout)
        timer.unref()
        this.inflight.set(piece, timer)
        this.send({ msg_type: MSG_REQUEST, piece })
      }
    }

    private onTimeout(piece: number): void {
      if (!this.inflight.delete(piece)) return
      assembly.release(this, piece)
      if (++this.timeouts >= MAX_TIMEOUTS) {
        return this.giveUp(`${this.timeouts} metadata requests unanswered for ${requestTimeout / 1000} s`)
      }
      this.requestMore()
    }

    private send(dict: Record<string, number>, payload?: Uint8Array): void {
      const head = bencode.encode(dict)
      const msg = payload ? Buffer.concat([head, payload]) : head
      try {
        this.wire.extended('ut_metadata', msg)
      } catch {
        // The peer never announced ut_metadata (it sent us a request anyway): nothing to answer on.
      }
    }

    private stop(): void {
      this.fetching = false
      for (const t of this.inflight.values()) clearTimeout(t)
      this.inflight.clear()
      this.asked.clear()
      assembly.release(this)
    }

    private bad(reason: string): void {
      this.stop()
      opts.onBadMetadata?.(this.wire, reason)
    }

    giveUp(reason: string): void {
      const was = this.fetching
      this.stop()
      if (was && !this.closed && !opts.getInfo() && !assembly.info) opts.onGiveUp?.(this.wire, reason)
    }
  }
  ;(UtMetadata.prototype as { name: string }).name = 'ut_metadata'
  return UtMetadata as unknown as ExtensionClass
}
