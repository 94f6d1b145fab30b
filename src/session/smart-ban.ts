// Smart ban: when a piece fails its hash check, each block's digest and sender are kept; once the piece verifies,
// the sender of a block that differs from the good data lied, even when several peers contributed to the bad piece.

import { createHash } from 'node:crypto'
import { BLOCK_SIZE } from './picker.js'

interface Suspect {
  peer: string
  digest: Buffer
}

export class SmartBan {
  /** piece -> block -> the first sender seen for it in a failed copy, and that copy's digest. */
  private readonly failed = new Map<number, Map<number, Suspect>>()

  /** A copy of piece `index` failed its hash: remember who sent each block of `data`, and what. */
  pieceFailed(index: number, data: Uint8Array, senders: ReadonlyArray<string | undefined>): void {
    const record = this.failed.get(index) ?? new Map<number, Suspect>()
    const blocks = Math.ceil(data.length / BLOCK_SIZE)
    for (let b = 0; b < blocks; b++) {
      const sender = senders[b]
      if (!sender || record.has(b)) continue
      record.set(b, { peer: sender, digest: blockDigest(data, b) })
    }
    this.failed.set(index, record)
  }

  /** Piece `index` verified with `good`: the keys of the peers whose blocks of a failed copy differ from it. */
  pieceVerified(index: number, good: Uint8Array): string[] {
    const record = this.failed.get(index)
    if (!record) return []
    this.failed.delete(index)
    const liars: string[] = []
    for (const [b, { peer, digest }] of record) {
      if (!blockDigest(good, b).equals(digest) && !liars.includes(peer)) liars.push(peer)
    }
    return liars
  }
}

function blockDigest(data: Uint8Array, b: number): Buffer {
  return createHash('sha1').update(data.subarray(b * BLOCK_SIZE, Math.min(data.length, (b + 1) * BLOCK_SIZE))).digest()
}
