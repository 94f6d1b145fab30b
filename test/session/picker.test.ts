// The piece picker's rules, pinned down on small torrents with scripted peers: priority classes
// (none < normal < high < readahead < now), position order within the streaming classes, rarest first within normal,
// partial pieces before new ones, never one block twice to one peer, time-critical and endgame duplicates, and what a
// finished or failed piece does to the next picks. Pure logic: no sockets, no files.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { BLOCK_SIZE, PiecePicker, type BlockRequest, type PickPeer } from '../../src/session/picker.js'
import { Priority } from '../../src/session/priority.js'

/** A peer that has the pieces `has` accepts (every piece by default). */
function peer(has: (i: number) => boolean = () => true): PickPeer {
  return { has, outstanding: new Map() }
}

/** Pick up to `max` blocks for `p`; returns the requests in the order the picker chose them. */
function pick(picker: PiecePicker, p: PickPeer, max: number): BlockRequest[] {
  const out: BlockRequest[] = []
  const n = picker.pick(p, max, out)
  assert.is(n, out.length, 'pick returns the number of requests it appended')
  return out
}

const pieces = (reqs: BlockRequest[]) => reqs.map((r) => r.piece)

/** One block per piece: the order of picks is the order of pieces. */
function onePerPiece(count: number): PiecePicker {
  return new PiecePicker(count, BLOCK_SIZE, BLOCK_SIZE)
}

/** Answer `r` with the right bytes of a piece made of `fill` bytes; returns whether the piece is now complete. */
function answer(picker: PiecePicker, p: PickPeer, key: string, r: BlockRequest, fill = r.piece & 0xff): boolean {
  return picker.requestDone(r, p, key, Buffer.alloc(r.length, fill))
}

test('priority classes: now, then readahead, then high, then normal; none is never picked', () => {
  const picker = onePerPiece(10)
  const base = new Uint8Array(10).fill(Priority.normal)
  base[2] = Priority.none
  picker.setBasePriorities(base)
  const h = picker.createHandle(() => {})
  h.set([
    { first: 7, last: 7, priority: Priority.high },
    { first: 3, last: 3, priority: Priority.readahead },
    { first: 5, last: 5, priority: Priority.now },
  ])
  const got = pieces(pick(picker, peer(), 20))
  assert.equal(got.slice(0, 3), [5, 3, 7])
  assert.equal([...got.slice(3)].sort((a, b) => a - b), [0, 1, 4, 6, 8, 9], 'then every normal piece, and not piece 2')
  assert.not.ok(got.includes(2))
  assert.is(picker.wantedLeft, 9)
})

test('within now and readahead pieces go in position order; classes combine across handles, highest wins', () => {
  const picker = onePerPiece(30)
  const reader1 = picker.createHandle(() => {})
  const reader2 = picker.createHandle(() => {})
  reader1.set([{ first: 20, last: 20, priority: Priority.now }, { first: 21, last: 24, priority: Priority.readahead }])
  reader2.set([{ first: 10, last: 12, priority: Priority.readahead }, { first: 22, last: 22, priority: Priority.now }])
  assert.is(picker.priority[22], Priority.now, 'the higher wish of two handles wins')
  assert.equal(pieces(pick(picker, peer(), 7)), [20, 22, 10, 11, 12, 21, 23])
  // Releasing a handle drops its wishes; the other's stay.
  reader2.release()
  assert.is(picker.priority[10], Priority.normal)
  assert.is(picker.priority[22], Priority.readahead)
})

test('a none piece inside a wished range is fetched (a Reader wants it); the class is the highest wish', () => {
  const picker = onePerPiece(4)
  picker.setBasePriorities(Uint8Array.from([Priority.none, Priority.none, Priority.none, Priority.none]))
  assert.is(picker.wantedLeft, 0)
  assert.equal(pieces(pick(picker, peer(), 4)), [])
  picker.createHandle(() => {}).set([{ first: 1, last: 2, priority: Priority.readahead }])
  assert.is(picker.wantedLeft, 2)
  assert.equal(pieces(pick(picker, peer(), 4)), [1, 2])
})

test('normal pieces go rarest first; equally rare pieces come in random order', () => {
  const picker = onePerPiece(6)
  // Availability: piece 4 has 1 peer, piece 1 has 2, piece 5 has 3, the rest 4; a seed came and went.
  picker.peerBitfield(() => true, 1)
  for (const [piece, extra] of [[0, 3], [2, 3], [3, 3], [1, 1], [5, 2]] as const) for (let k = 0; k < extra; k++) picker.peerHave(piece)
  picker.peerHasAll(1)
  picker.peerHasAll(-1)
  assert.equal([...picker.availability], [4, 2, 4, 4, 1, 3])
  const got = pieces(pick(picker, peer(), 6))
  assert.equal(got.slice(0, 3), [4, 1, 5])
  assert.equal(got.slice(3).sort(), [0, 2, 3])

  // 64 equally rare pieces: the order is a random permutation, different between two pickers (1 in 64! to fail).
  const a = pieces(pick(onePerPiece(64), peer(), 64))
  const b = pieces(pick(onePerPiece(64), peer(), 64))
  assert.equal([...a].sort((x, y) => x - y), Array.from({ length: 64 }, (_, i) => i))
  assert.not.equal(a, b)
})

test('only pieces the peer has are picked for it', () => {
  const picker = onePerPiece(8)
  const even = peer((i) => i % 2 === 0)
  assert.equal(pieces(pick(picker, even, 8)).sort(), [0, 2, 4, 6])
  assert.equal(pieces(pick(picker, peer(), 8)).sort(), [1, 3, 5, 7])
})

test('partial pieces are finished before new ones start, even when a new piece is rarer', () => {
  // 4 blocks per piece.
  const picker = new PiecePicker(4, 4 * BLOCK_SIZE, 4 * BLOCK_SIZE)
  const a = peer()
  const first = pick(picker, a, 2)
  const started = first[0].piece
  assert.equal(first.map((r) => [r.piece, r.offset]), [[started, 0], [started, BLOCK_SIZE]])
  // Now make another piece the rarest by far: a second peer still gets the rest of the started piece first.
  for (let i = 0; i < 4; i++) if (i !== started) for (let k = 0; k < 5; k++) picker.peerHave(i)
  const b = peer()
  const next = pick(picker, b, 3)
  assert.equal(next.slice(0, 2).map((r) => [r.piece, r.offset]), [[started, 2 * BLOCK_SIZE], [started, 3 * BLOCK_SIZE]])
  assert.is.not(next[2].piece, started)
})

test('a block is never asked twice of one peer; outside endgame it is asked of one peer only', () => {
  const picker = new PiecePicker(2, 2 * BLOCK_SIZE, 2 * BLOCK_SIZE)
  const a = peer()
  assert.is(pick(picker, a, 10).length, 4)
  assert.is(a.outstanding.size, 4)
  // Everything is requested: endgame. The same peer gets nothing more (its blocks are in flight with it).
  assert.ok(picker.inEndgame())
  assert.is(pick(picker, a, 10).length, 0)
})

test('endgame: when nothing unrequested is left, another peer duplicates outstanding blocks, at most two asks per block', () => {
  const picker = new PiecePicker(3, 2 * BLOCK_SIZE, 2 * BLOCK_SIZE)
  const a = peer()
  const b = peer()
  const c = peer()
  const fromA = pick(picker, a, 5) // 5 of the 6 blocks
  assert.is(fromA.length, 5)
  assert.not.ok(picker.inEndgame(), 'one block is still unrequested')
  const fromB = pick(picker, b, 10)
  assert.is(fromB.length, 1, 'before endgame B gets only the unrequested block')
  assert.ok(picker.inEndgame())
  const dupB = pick(picker, b, 10)
  assert.is(dupB.length, 5, "in endgame B duplicates A's outstanding blocks")
  assert.equal(new Set(dupB.map((r) => `${r.piece}:${r.offset}`)), new Set(fromA.map((r) => `${r.piece}:${r.offset}`)))
  // A third peer: A's blocks are asked twice already and B's block once: only B's can be duplicated.
  const dupC = pick(picker, c, 10)
  assert.equal(dupC.map((r) => [r.piece, r.offset]), fromB.map((r) => [r.piece, r.offset]))
  // The first answer completes the piece; the duplicate's late answer is ignored.
  const r0 = fromA[0]
  const twin = dupB.find((r) => r.piece === r0.piece && r.offset === r0.offset)!
  answer(picker, a, 'a', r0)
  assert.not.ok(answer(picker, b, 'b', twin), 'a late duplicate neither completes nor double-counts')
  assert.is(r0.progress.receivedCount, 1)
})

test('a `now` block outstanding for over a second is also asked of another peer (time-critical)', () => {
  const picker = onePerPiece(4)
  picker.createHandle(() => {}).set([{ first: 2, last: 2, priority: Priority.now }])
  const slow = peer()
  const first = pick(picker, slow, 1)
  assert.equal(pieces(first), [2])
  const fast = peer()
  assert.not.ok(pieces(pick(picker, fast, 1)).includes(2), 'a fresh request is not duplicated')
  first[0].progress.requestedAt[0] -= 1500 // the slow peer has sat on it for 1.5 s
  const again = pick(picker, peer(), 1)
  assert.equal(pieces(again), [2])
  assert.is(again[0].progress, first[0].progress)
})

test('a completed piece hashes its blocks (given out of order); done pieces leave the wanted count, failed ones return', () => {
  const pieceLength = 3 * BLOCK_SIZE
  const picker = new PiecePicker(2, pieceLength, BLOCK_SIZE + 100)
  const a = peer()
  const reqs = pick(picker, a, 10)
  assert.is(reqs.length, 5)
  assert.equal(reqs.filter((r) => r.piece === 1).map((r) => r.length), [BLOCK_SIZE, 100], 'the short last piece')
  const p0 = reqs.filter((r) => r.piece === 0)
  // Blocks of piece 0 arrive 2, 0, 1: only the last completes it.
  assert.not.ok(answer(picker, a, 'a', p0[2], 7))
  assert.not.ok(answer(picker, a, 'a', p0[0], 7))
  assert.ok(answer(picker, a, 'a', p0[1], 7))
  assert.ok(p0[0].progress.digest().equals(createHash('sha1').update(Buffer.alloc(pieceLength, 7)).digest()))
  picker.pieceDone(0)
  assert.is(picker.haveCount, 1)
  assert.is(picker.wantedLeft, 1)
  // Piece 1 fails its hash: its contributors are reported and it can be picked again.
  const p1 = reqs.filter((r) => r.piece === 1)
  assert.is(p1.length, 2)
  for (const r of p1) answer(picker, a, 'a', r)
  assert.equal([...picker.pieceFailed(1)], ['a'])
  const b = peer()
  assert.equal(pieces(pick(picker, b, 10)), [1, 1])
})

test('a request that ends without data frees the block for the next pick; an untouched piece is forgotten', () => {
  const picker = new PiecePicker(1, 2 * BLOCK_SIZE, 2 * BLOCK_SIZE)
  const a = peer()
  const reqs = pick(picker, a, 2)
  assert.is(picker.inProgress.size, 1)
  picker.requestDone(reqs[1], a, 'a', undefined) // choked
  assert.is(a.outstanding.size, 1)
  picker.requestDone(reqs[0], a, 'a', undefined)
  assert.is(picker.inProgress.size, 0, 'nothing received and nothing asked: no memory held')
  const b = peer()
  assert.equal(pick(picker, b, 2).map((r) => r.offset), [0, BLOCK_SIZE])
})

test('new pieces stop at the memory budget; urgent pieces may exceed it', () => {
  const pieceLength = 4 * BLOCK_SIZE
  const picker = new PiecePicker(40, pieceLength, pieceLength, { memoryBudget: 4 * pieceLength })
  assert.is(picker.maxInProgress, 4)
  const got = pick(picker, peer((i) => i < 30), 1000)
  assert.is(new Set(pieces(got)).size, 4)
  picker.createHandle(() => {}).set([{ first: 30, last: 31, priority: Priority.now }])
  const urgent = pick(picker, peer(), 1000)
  assert.equal([...new Set(pieces(urgent))], [30, 31])
})

test('a piece counts its outstanding requests: duplicates in endgame, answers and failures; none left frees it', () => {
  const picker = new PiecePicker(2, 4 * BLOCK_SIZE, 4 * BLOCK_SIZE, { memoryBudget: 8 * BLOCK_SIZE })
  const a = peer((i) => i === 0)
  const b = peer((i) => i === 0)
  const first = pick(picker, a, 3)
  const prog = first[0].progress
  assert.is(prog.pending, 3)
  const rest = pick(picker, b, 10) // the last block, then endgame duplicates of a's three
  assert.is(prog.pending, 3 + rest.length)
  assert.is(prog.pending, [...prog.requested].reduce((x, y) => x + y, 0))
  for (const r of rest) picker.requestDone(r, b, 'b', undefined) // b chokes: its requests fail
  assert.is(prog.pending, 3)
  answer(picker, a, 'a', first[0])
  assert.is(prog.pending, 2)
  assert.ok(picker.inProgress.has(0), 'a piece with data stays')
  // Piece 1 started and given up before any data: with nothing outstanding it is forgotten.
  const c = peer((i) => i === 1)
  const other = pick(picker, c, 2)
  assert.is(other[0].piece, 1)
  for (const r of other) picker.requestDone(r, c, 'c', undefined)
  assert.is(other[0].progress.pending, 0)
  assert.not.ok(picker.inProgress.has(1))
})

test('byte totals (progress, bytes left) stay equal to a walk of every piece through selection, reader wishes and finished pieces', () => {
  // 7 pieces of 3 blocks, the last one short: sizes matter, not just counts.
  const len = 3 * BLOCK_SIZE
  const last = BLOCK_SIZE + 5
  const picker = new PiecePicker(7, len, last)
  const size = (i: number) => (i === 6 ? last : len)
  const walk = () => {
    let selHave = 0, sel = 0, have = 0, left = 0
    for (let i = 0; i < 7; i++) {
      if (picker.have[i]) have += size(i)
      if (picker.basePriority[i] !== Priority.none) {
        sel += size(i)
        if (picker.have[i]) selHave += size(i)
      }
      if (picker.wanted(i)) left += size(i)
    }
    return { selected: { have: selHave, wanted: sel }, all: { have, wanted: 6 * len + last }, left }
  }
  const check = (when: string) => {
    const w = walk()
    assert.equal(picker.progress(false), w.selected, `selected progress ${when}`)
    assert.equal(picker.progress(true), w.all, `whole progress ${when}`)
    assert.is(picker.bytesLeft(), w.left, `bytes left ${when}`)
  }
  check('at the start')
  picker.setHave(Uint8Array.from([1, 0, 0, 0, 0, 0, 1]))
  check('after the check found pieces 0 and 6')
  const base = new Uint8Array(7).fill(Priority.normal)
  base[2] = base[3] = Priority.none
  picker.setBasePriorities(base)
  check('after deselecting pieces 2 and 3')
  assert.is(picker.bytesLeft(), 3 * len)
  const h = picker.createHandle(() => {})
  h.set([{ first: 3, last: 3, priority: Priority.now }])
  check('with a reader wishing piece 3')
  assert.is(picker.bytesLeft(), 4 * len, 'a wished piece outside the selection is left to fetch')
  picker.pieceDone(3)
  picker.pieceDone(1)
  check('after pieces 3 and 1 finished')
  h.release()
  check('after the reader left')
  assert.equal(picker.progress(false), { have: 2 * len + last, wanted: 4 * len + last })
  assert.equal(picker.progress(true), { have: 3 * len + last, wanted: 6 * len + last })
})


test('piece buffers: every released buffer is reused while pieces are wanted, and only a few stay idle at the end', () => {
  // 8 pieces in flight at most (the memory budget); 40 pieces fetched in rounds of 8 that finish together, as when
  // disk writes land in a burst. Dropping buffers instead would leave megabytes of garbage for the GC per round.
  const picker = new PiecePicker(40, BLOCK_SIZE, BLOCK_SIZE, { memoryBudget: 8 * BLOCK_SIZE })
  const p = peer()
  let firstRound: Set<Buffer> | undefined
  for (let round = 0; round < 5; round++) {
    const reqs = pick(picker, p, 100)
    assert.is(reqs.length, 8, `round ${round}: the budget caps pieces in flight`)
    const bufs = reqs.map((r) => { assert.ok(answer(picker, p, 'a', r)); return r.progress.buf! })
    if (firstRound) assert.ok(bufs.every((b) => firstRound!.has(b)), `round ${round}: every buffer is one of the first round's`)
    else firstRound = new Set(bufs)
    for (const r of reqs) {
      picker.releaseBuffer(r.progress.buf!)
      r.progress.buf = null
      picker.pieceDone(r.piece)
    }
    if (round < 4) assert.is(picker.idleBuffers, 8, 'all eight kept for the next round')
  }
  assert.is(picker.wantedLeft, 0)
  assert.ok(picker.idleBuffers <= 4, `done: at most 4 idle buffers stay (${picker.idleBuffers})`)
})

test.run()
