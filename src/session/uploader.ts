// Serving peers' requests: checking each one, queueing only its descriptor, reading blocks from disk a few at a time
// per peer, and holding back for the upload limit and for a peer whose socket does not drain.

import type { Bandwidth } from './bandwidth.js'
import type { Peer } from './peer.js'
import type { Respond } from './peer-connection.js'
import { BLOCK_SIZE } from './picker.js'
import type { RateMeter } from './rate.js'

// The request queue we advertise (BEP 10 `reqq`). Transmission refills its requests about once a second and never
// keeps more outstanding than this: at 500 it leeched from us at 8 MB/s at most. libtorrent advertises 2000.
export const ADVERTISED_REQQ = 2000
// Past this many queued requests, or this many requested bytes (the advertised queue of 16 KiB blocks, plus room for
// clients that overshoot a little or ask for larger blocks), a peer is dropped as a flood. Only request descriptors
// are queued; block data is read from disk a few at a time (UPLOAD_READS_PER_PEER, UPLOAD_BACKLOG).
const MAX_PEER_QUEUE = ADVERTISED_REQQ + 500
const MAX_QUEUED_BYTES = 2 * ADVERTISED_REQQ * 16 * 1024
const MAX_REQUEST_LENGTH = 128 * 1024
// Disk reads in flight for one peer's requests; more would only queue on libuv's pool.
const UPLOAD_READS_PER_PEER = 16
// Bytes sent to a peer but not yet taken by its socket, beyond which we stop reading blocks for it.
const UPLOAD_BACKLOG = 4 * 1024 * 1024

/** What the uploader needs from its torrent. */
export interface UploadSource {
  /** Piece count and sizes, once metadata is known. */
  pieceCount(): number
  pieceSize(i: number): number
  /** A verified piece we can serve. */
  have(i: number): boolean
  /** Storage is open (metadata known, not stopped). */
  ready(): boolean
  read(index: number, offset: number, length: number): Promise<Buffer>
  /** The torrent stopped. */
  stopped(): boolean
  /** The client uploads at all (torrentfs --no-upload does not). */
  enabled(): boolean
}

export class Uploader {
  constructor(
    private readonly source: UploadSource,
    private readonly bandwidth: Bandwidth,
    /** The torrent's upload meter (each peer has its own as well). */
    private readonly meter: RateMeter,
  ) {}

  /** A peer's request: a bad one breaks the protocol, a flood drops the peer, the rest are queued and served. */
  request(peer: Peer, index: number, offset: number, length: number, respond: Respond, wireRequest: object): void {
    const src = this.source
    if (!src.ready()) return respond(new Error('no metadata'))
    if (index >= src.pieceCount() || length === 0 || length > MAX_REQUEST_LENGTH || offset + length > src.pieceSize(index)) {
      peer.wire.violation = `bad request ${index}:${offset}+${length}`
      peer.wire.destroy()
      return
    }
    if (peer.wire.peerRequests.length > MAX_PEER_QUEUE || peer.uploadQueue.length > MAX_PEER_QUEUE || peer.uploadQueuedBytes + length > MAX_QUEUED_BYTES) {
      peer.wire.violation = 'request flood'
      peer.wire.destroy()
      return
    }
    if (!src.have(index)) return respond(new Error('piece not available'))
    // Choking keeps a non-uploading client's peers out, except for BEP 6 allowed-fast pieces: refuse those too.
    if (!src.enabled()) return respond(new Error('not uploading'))
    // Read and answered only while the wire still holds this very request: a choke drops every pending one, and the
    // peer may then ask for the same block again (a request of its own, with its own queue entry).
    peer.uploadQueue.push({ index, offset, length, respond, wireRequest })
    peer.uploadQueuedBytes += length
    this.pump(peer)
  }

  /**
   * Serve a peer's queued requests, a few disk reads at a time. Upload tokens are taken only as a block is actually
   * read and sent, so requests that are cancelled or die with their peer never put the limit in debt.
   */
  private pump(peer: Peer): void {
    while (peer.uploadQueue.length > 0 && peer.uploadsInFlight < UPLOAD_READS_PER_PEER) {
      if (peer.wire.destroyed || this.source.stopped()) {
        peer.uploadQueue.length = 0
        peer.uploadQueuedBytes = 0
        return
      }
      // A peer that asks but does not read: stop reading blocks for it until its socket drains. Its requests then
      // queue in the wire, and past MAX_PEER_QUEUE the peer is dropped.
      if (peer.wire.backlog + peer.socket.writableLength > UPLOAD_BACKLOG) {
        if (!peer.uploadWaiting) {
          peer.uploadWaiting = true
          peer.socket.once('drain', () => {
            peer.uploadWaiting = false
            this.pump(peer)
          })
        }
        return
      }
      const req = peer.uploadQueue[0]
      // Wait for one block's worth at most: a request larger than the bucket's burst could otherwise never start.
      const need = Math.min(req.length, BLOCK_SIZE)
      if (this.bandwidth.available() < need) {
        if (!peer.uploadWaiting) {
          peer.uploadWaiting = true
          void this.bandwidth.wait(need).then(() => {
            peer.uploadWaiting = false
            this.pump(peer)
          })
        }
        return
      }
      peer.uploadQueue.shift()
      peer.uploadQueuedBytes -= req.length
      // Cancelled or choked since it was queued (bittorrent-protocol dropped it): don't spend a read or tokens on it.
      if (!stillRequested(peer, req.wireRequest)) continue
      this.bandwidth.consume(req.length)
      peer.uploadsInFlight++
      this.source.read(req.index, req.offset, req.length).then(
        (buf) => {
          peer.uploadsInFlight--
          if (peer.wire.destroyed) return
          if (!stillRequested(peer, req.wireRequest)) return this.pump(peer)
          peer.up.add(req.length)
          this.meter.add(req.length)
          req.respond(null, buf)
          this.pump(peer)
        },
        (err) => {
          peer.uploadsInFlight--
          req.respond(err)
          this.pump(peer)
        },
      )
    }
  }
}

/** The wire still holds this very request entry (not merely an equal one asked for again after a choke). */
function stillRequested(peer: Peer, wireRequest: object): boolean {
  const pending = peer.wire.peerRequests as object[]
  for (let i = 0; i < pending.length; i++) if (pending[i] === wireRequest) return true
  return false
}
