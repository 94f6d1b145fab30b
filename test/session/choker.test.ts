// The choker's rules, on plain peer stats: who gets the regular slots (downloading vs seeding), the optimistic slot
// (kept between rotations, rotated on demand, drawn from the rest), uninterested peers, small slot counts, and how
// free slots are filled between rounds.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Choker, fillFreeSlots, freeSlots, rechoke, type ChokablePeer, type ChokerPeer } from '../../src/session/choker.js'

interface P extends ChokerPeer {
  name: string
}

function peer(name: string, o: Partial<ChokerPeer> = {}): P {
  return { name, interested: true, unchoked: false, optimistic: false, downRate: 0, upRate: 0, ...o }
}

const names = (s: Iterable<P>) => [...s].map((p) => p.name).sort()
/** A "random" that always picks the given fraction of the range. */
const at = (x: number) => () => x

test('downloading: the fastest senders get all slots but one; one other interested peer gets the optimistic slot', () => {
  const peers = [
    peer('slow', { downRate: 10 }),
    peer('fast', { downRate: 900, upRate: 1 }),
    peer('mid', { downRate: 500 }),
    peer('faster', { downRate: 950 }),
    peer('idle', { downRate: 0 }),
    peer('bored', { downRate: 10_000, interested: false }),
  ]
  const d = rechoke(peers, { slots: 4, seeding: false, rotateOptimistic: false, random: at(0) })
  // 3 regular slots by download rate; the uninterested fastest peer gets nothing.
  assert.ok(['faster', 'fast', 'mid'].every((n) => names(d.unchoke).includes(n)))
  assert.not.ok(names(d.unchoke).includes('bored'))
  // The optimistic one comes from the rest (slow, idle), in rank order with random() = 0: the first of the rest.
  assert.is(d.optimistic?.name, 'slow')
  assert.is(d.unchoke.size, 4)
})

test('seeding: peers are ranked by how fast we upload to them, not by what they send', () => {
  const peers = [peer('a', { downRate: 1000, upRate: 1 }), peer('b', { downRate: 0, upRate: 800 }), peer('c', { upRate: 700 }), peer('d', { upRate: 5 })]
  const d = rechoke(peers, { slots: 3, seeding: true, rotateOptimistic: false, random: at(0) })
  // Regular: b, c (by upload rate); the rest in rank order is d, a, and random() = 0 takes d: a, the fastest sender, waits.
  assert.equal(names(d.unchoke), ['b', 'c', 'd'])
  assert.is(d.optimistic?.name, 'd')
})

test('the optimistic peer keeps its slot until a rotation, then the slot is drawn again from the rest', () => {
  const peers = [peer('top', { downRate: 100 }), peer('x'), peer('y', { optimistic: true }), peer('z')]
  const kept = rechoke(peers, { slots: 2, seeding: false, rotateOptimistic: false, random: at(0) })
  assert.is(kept.optimistic?.name, 'y')
  assert.equal(names(kept.unchoke), ['top', 'y'])
  const rotated = rechoke(peers, { slots: 2, seeding: false, rotateOptimistic: true, random: at(0) })
  assert.is(rotated.optimistic?.name, 'x') // rest in rank order (all 0: stable) is x, y, z
  const last = rechoke(peers, { slots: 2, seeding: false, rotateOptimistic: true, random: at(0.999) })
  assert.is(last.optimistic?.name, 'z')
})

test('an optimistic peer that ranks into the regular slots leaves the optimistic slot to another', () => {
  const peers = [peer('was-opt', { optimistic: true, downRate: 1000 }), peer('b', { downRate: 1 }), peer('c')]
  const d = rechoke(peers, { slots: 2, seeding: false, rotateOptimistic: false, random: at(0) })
  assert.ok(d.unchoke.has(peers[0]))
  assert.is(d.optimistic?.name, 'b')
})

test('one slot still unchokes one regular and one optimistic peer; no interested peers unchokes nobody', () => {
  const peers = [peer('a', { downRate: 3 }), peer('b', { downRate: 2 }), peer('c', { downRate: 1 })]
  const d = rechoke(peers, { slots: 1, seeding: false, rotateOptimistic: false, random: at(0) })
  assert.equal(names(d.unchoke), ['a', 'b'])
  const none = rechoke([peer('u', { interested: false })], { slots: 4, seeding: false, rotateOptimistic: true })
  assert.is(none.unchoke.size, 0)
  assert.is(none.optimistic, undefined)
})

test('fewer interested peers than slots: all of them, and no optimistic slot', () => {
  const peers = [peer('a'), peer('b', { unchoked: true })]
  const d = rechoke(peers, { slots: 8, seeding: false, rotateOptimistic: true, random: at(0.5) })
  assert.equal(names(d.unchoke), ['a', 'b'])
  assert.is(d.optimistic, undefined)
})

test('between rounds, free slots go to choked interested peers in order, never beyond the slot count', () => {
  const peers = [
    peer('on1', { unchoked: true }),
    peer('off-bored', { interested: false }),
    peer('wait1'),
    peer('on2', { unchoked: true, interested: false }), // unchoked but not interested: it still holds a slot
    peer('wait2'),
    peer('wait3'),
  ]
  assert.is(freeSlots(peers, 4), 2)
  assert.equal(fillFreeSlots(peers, 4).map((p) => p.name), ['wait1', 'wait2'])
  assert.equal(fillFreeSlots(peers, 2), [])
  assert.equal(fillFreeSlots(peers, 1), [])
})

/** A peer the Choker can act on, recording what it was told. */
class FakePeer implements ChokablePeer {
  unchoked = false
  optimistic = false
  told: string[] = []
  constructor(readonly name: string, public interested = true, public downRate = 0, public upRate = 0) {}
  choke(): void {
    this.unchoked = false
    this.told.push('choke')
  }
  unchoke(): void {
    this.unchoked = true
    this.told.push('unchoke')
  }
}

test('Choker: a new interested peer takes a free slot at once; none when slots are full or upload is off', () => {
  const peers = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')]
  let enabled = false
  const c = new Choker(() => peers, 2, () => enabled, () => false)
  c.interested(peers[0])
  assert.is(peers[0].unchoked, false, 'upload off: nobody is unchoked')
  enabled = true
  c.interested(peers[0])
  c.interested(peers[1])
  c.interested(peers[2])
  assert.equal(peers.map((p) => p.unchoked), [true, true, false])
})

test('Choker: a peer that loses interest is choked and its slot goes to a waiting peer', () => {
  const peers = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')]
  const c = new Choker(() => peers, 2, () => true, () => false)
  for (const p of peers) c.interested(p)
  peers[0].interested = false
  c.uninterested(peers[0])
  assert.equal(peers.map((p) => p.unchoked), [false, true, true])
})

test('Choker: a round unchokes the best and an optimistic peer, chokes the rest, and marks only one optimistic', () => {
  const peers = [new FakePeer('slow', true, 1), new FakePeer('fast', true, 1000), new FakePeer('mid', true, 500), new FakePeer('off', false, 5000)]
  peers[0].optimistic = true
  peers[3].unchoked = true // unchoked earlier, no longer interested
  const c = new Choker(() => peers, 2, () => true, () => false)
  c.rechoke()
  // One regular slot (fast) plus the optimistic one, which slow keeps until a rotation.
  assert.equal(peers.map((p) => p.unchoked), [true, true, false, false])
  assert.equal(peers.map((p) => p.optimistic), [true, false, false, false])
  assert.equal(peers[3].told, ['choke'])
})

test.run()
