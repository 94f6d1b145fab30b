// Smart ban on plain buffers: after a failed copy of a piece, the peers whose blocks differ from the copy that later
// verifies are named, and only they; the record of a piece is used once.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SmartBan } from '../../src/session/smart-ban.js'
import { BLOCK_SIZE } from '../../src/session/picker.js'

/** A piece of 3.5 blocks (the last one short, as in a torrent's last piece). */
function piece(fill: number): Buffer {
  const b = Buffer.alloc(3 * BLOCK_SIZE + BLOCK_SIZE / 2)
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + fill) & 0xff
  return b
}

test('the sender of the one wrong block is named; honest senders of the same piece are not', () => {
  const good = piece(1)
  const bad = Buffer.from(good)
  bad[2 * BLOCK_SIZE + 5] ^= 0xff // block 2 is wrong
  const sb = new SmartBan()
  sb.pieceFailed(9, bad, ['a', 'b', 'liar', 'a'])
  assert.equal(sb.pieceVerified(9, good), ['liar'])
  // Used once: a second verification of the piece names nobody.
  assert.equal(sb.pieceVerified(9, good), [])
})

test('a wrong short last block is caught; a sender named for several bad blocks is named once', () => {
  const good = piece(2)
  const bad = Buffer.from(good)
  bad[0] ^= 1
  bad[bad.length - 1] ^= 1
  const sb = new SmartBan()
  sb.pieceFailed(0, bad, ['x', 'y', 'y', 'x'])
  assert.equal(sb.pieceVerified(0, good), ['x'])
})

test('blocks without a known sender are skipped; the first failed copy of a block is the one judged', () => {
  const good = piece(3)
  const bad1 = Buffer.from(good)
  bad1[BLOCK_SIZE] ^= 1 // block 1 wrong, sender unknown (e.g. a web seed range already blamed elsewhere)
  const sb = new SmartBan()
  sb.pieceFailed(4, bad1, ['p', undefined, 'q', 'q'])
  // A second failed copy: block 0 now from r with wrong data, but p's copy of block 0 was recorded first.
  const bad2 = Buffer.from(good)
  bad2[0] ^= 1
  sb.pieceFailed(4, bad2, ['r', 's', 'q', 'q'])
  // Block 1 had no sender in the first copy; in the second it came from s, correct: nobody lied about it.
  assert.equal(sb.pieceVerified(4, good), [])
})

test('a piece never seen failing names nobody', () => {
  assert.equal(new SmartBan().pieceVerified(1, piece(4)), [])
})

test.run()
