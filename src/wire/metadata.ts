// ut_metadata (BEP 9 over BEP 10): serve our info dictionary to peers and fetch it from them for magnet links.
// Written here instead of using the `ut_metadata` package, which finds the end of the message dict by decoding the
// binary payload as UTF-8 and searching for "ee", writes pieces at any index the peer names (an out-of-range index
// throws inside the wire), accepts short or long pieces, re-encodes the info dict it verified, and answers every
// request without limit.

import { createHash } from 'node:crypto'
import bencode from 'bencode'
import type Wire from 'bittorrent-protocol'
import type { ExtensionClass, ExtensionInstance } from 'bittorrent-protocol'
import { bdecode, isDict } from '../metainfo/bdecode.js'

export const METADATA_PIECE_SIZE = 16 * 1024
export const MAX_METADATA_SIZE = 8 * 1024 * 1024

const REQUEST_WINDOW = 8 // metadata pieces in flight per wire
const DEFAULT_TIMEOUT = 30_000

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
  /** Fetching from this peer stopped without fault of its own (no metadata, rejected, timed out): try another. */
  onGiveUp?: (wire: Wire, reason: string) => void
  /** Fetch as soon as a peer advertises metadata_size while getInfo() is undefined. Default true; else call fetch(). */
  fetch?: boolean
  /** Give up when no piece arrives for this long (ms). Default 30 s. */
  timeout?: number
}

export interface MetadataExtension extends ExtensionInstance {
  /** metadata_size from the peer's extended handshake, once it was valid. */
  readonly peerMetadataSize: number | undefined
  /** Start fetching from this peer (when opts.fetch is false, or again after a give-up). */
  fetch(): void
  /** Stop fetching from this peer; serving goes on. */
  cancel(): void
}

function sha1(buf: Uint8Array): Buffer {
  return createHash('sha1').update(buf).digest()
}

/** Extension class for wire.use(). The instance is `wire.ut_metadata` (a MetadataExtension). */
export function metadataExtension(opts: MetadataExtensionOptions): ExtensionClass {
  if (opts.infoHash.length !== 20) throw new TypeError('info hash must be 20 bytes')
  const infoHash = Buffer.from(opts.infoHash)
  const autoFetch = opts.fetch !== false
  const timeoutMs = opts.timeout ?? DEFAULT_TIMEOUT

  class UtMetadata implements MetadataExtension {
    declare readonly name: string
    private readonly wire: Wire
    peerMetadataSize: number | undefined
    private pieceCount = 0
    private pieces: Array<Buffer | undefined> = []
    private received = 0
    private nextPiece = 0
    private readonly inflight = new Set<number>()
    private fetching = false
    private closed = false
    private timer?: NodeJS.Timeout
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
      this.pieceCount = Math.ceil(size / METADATA_PIECE_SIZE)
      if (autoFetch && !opts.getInfo()) this.fetch()
    }

    fetch(): void {
      if (this.fetching || this.closed || this.peerMetadataSize === undefined || opts.getInfo()) return
      this.fetching = true
      this.pieces = new Array(this.pieceCount)
      this.received = 0
      this.nextPiece = 0
      this.inflight.clear()
      this.requestMore()
      this.arm()
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
      if (!this.fetching || !this.inflight.has(piece)) return // late or unasked-for: harmless, ignore
      const size = this.peerMetadataSize!
      if (totalSize !== undefined && totalSize !== size) {
        return this.bad(`metadata total_size ${String(totalSize)} differs from metadata_size ${size}`)
      }
      const expected = piece === this.pieceCount - 1 ? size - piece * METADATA_PIECE_SIZE : METADATA_PIECE_SIZE
      if (data.length !== expected) return this.bad(`metadata piece ${piece} has ${data.length} bytes, expected ${expected}`)
      this.inflight.delete(piece)
      this.pieces[piece] = Buffer.from(data) // a copy: the wire's buffer is not ours to keep
      this.received++
      if (opts.getInfo()) return this.stop() // another peer was faster
      if (this.received < this.pieceCount) {
        this.requestMore()
        this.arm()
        return
      }
      const info = Buffer.concat(this.pieces as Buffer[], size)
      if (!sha1(info).equals(infoHash)) return this.bad('metadata does not match the info hash')
      this.stop()
      opts.onMetadata(info, this.wire)
    }

    private onReject(piece: number): void {
      if (!this.fetching || !this.inflight.has(piece)) return
      this.giveUp('peer rejected a metadata request')
    }

    private requestMore(): void {
      while (this.inflight.size < REQUEST_WINDOW && this.nextPiece < this.pieceCount) {
        const piece = this.nextPiece++
        this.inflight.add(piece)
        this.send({ msg_type: MSG_REQUEST, piece })
      }
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

    private arm(): void {
      clearTimeout(this.timer)
      this.timer = setTimeout(() => this.giveUp('metadata timed out'), timeoutMs)
      this.timer.unref()
    }

    private stop(): void {
      this.fetching = false
      clearTimeout(this.timer)
      this.timer = undefined
      this.pieces = []
      this.inflight.clear()
    }

    private bad(reason: string): void {
      this.stop()
      opts.onBadMetadata?.(this.wire, reason)
    }

    private giveUp(reason: string): void {
      this.stop()
      if (!this.closed && !opts.getInfo()) opts.onGiveUp?.(this.wire, reason)
    }
  }
  ;(UtMetadata.prototype as { name: string }).name = 'ut_metadata'
  return UtMetadata as unknown as ExtensionClass
}
