// A reader waiting on a piece should not wait behind a deep request queue at the seeder: libtorrent lets a peer queue
// up to 2000 blocks (32 MiB), which at tens of MiB/s is a second or more before the reader's blocks are even looked
// at. When a `now` piece appears, each peer's requests of lower classes (normal and high, not readahead) that were
// sent before its `now` blocks are cancelled, so the seeder serves the `now` blocks next; a `now` piece nobody has
// been asked for yet goes to the fastest peer that has it, after its lower-class queue is cancelled to make room.
// Requests sent after the `now` blocks stay: the seeder serves those later anyway, and a download running beside a
// stream keeps its pipeline.

import { BLOCK_SIZE, type PiecePicker } from './picker.js'
import { Priority } from './priority.js'
import type { Peer } from './peer.js'
import { trace } from './stream-trace.js'

/** Fewer lower-class blocks than this ahead of a reader's are not worth a round of cancels (128 KiB). */
export const MIN_AHEAD = 8

export interface PreemptHost {
  picker: PiecePicker
  peers: Iterable<Peer>
  /** Refill a peer's requests (the picker takes urgent pieces first). */
  fill(peer: Peer): void
}

/** Returns the number of requests cancelled. */
export function preemptForNow(host: PreemptHost): number {
  const p = host.picker
  if (!p.wantsNow()) return 0
  let starved = p.starvedNow()
  let cancelled = 0
  const peers = [...host.peers].filter((peer) => !peer.wire.destroyed && !peer.wire.peerChoking && peer.outstanding.size > 0)
  peers.sort((a, b) => b.down.rate() - a.down.rate())
  for (const peer of peers) {
    // When this peer was first asked for a `now` block; a starved piece it can serve counts as asked after everything.
    let first = Infinity
    for (const [id, sentAt] of peer.outstanding) {
      if (sentAt < first && p.priority[Math.floor(id / p.blockStride)] === Priority.now) first = sentAt
    }
    const takesStarved = starved.length > 0 && starved.some((i) => peer.has(i))
    if (first === Infinity && !takesStarved) continue
    // A fill puts urgent blocks first, so lower-class blocks sent in the same millisecond went after them.
    const ahead: number[] = []
    for (const [id, sentAt] of peer.outstanding) {
      if (sentAt < first && p.priority[Math.floor(id / p.blockStride)] < Priority.readahead) ahead.push(id)
    }
    if (ahead.length >= MIN_AHEAD) {
      for (const id of ahead) {
        const piece = Math.floor(id / p.blockStride)
        const offset = (id % p.blockStride) * BLOCK_SIZE
        // The wire ends the request at once (its callback gives the block back to the picker) and sends CANCEL.
        peer.wire.cancel(piece, offset, Math.min(BLOCK_SIZE, p.pieceSize(piece) - offset))
      }
      cancelled += ahead.length
      trace('cancels sent', -1, `${ahead.length} to ${peer.key} (outstanding after ${peer.outstanding.size})`)
    }
    if (takesStarved) {
      host.fill(peer)
      starved = p.starvedNow()
    }
  }
  return cancelled
}
