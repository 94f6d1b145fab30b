// The tracker core without any network: announce bookkeeping, peer selection, expiry, limits, private mode, scrape.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  EVENT_COMPLETED, EVENT_NONE, EVENT_STARTED, EVENT_STOPPED, Tracker, TrackerRefusal, compactAddress, decodeCompactAddress,
  type AnnounceParams,
} from '../../src/tracker/swarm.js'
import { RateLimiter } from '../../src/tracker/rate-limit.js'

const IH = 'A'.repeat(20)
const id = (n: number) => `-BT0001-${String(n).padStart(12, '0')}`
let clockMs = Date.now()
const trackers: Tracker[] = []
function make(opts: ConstructorParameters<typeof Tracker>[0] = {}): Tracker {
  const t = new Tracker({ rateLimit: 0, clock: () => clockMs, ...opts })
  trackers.push(t)
  return t
}
const ann = (t: Tracker, n: number, o: Partial<AnnounceParams> = {}) =>
  t.announce({ infoHash: IH, peerId: id(n), ip: '127.0.0.1', port: 10000 + n, left: 100, event: EVENT_NONE, numwant: -1, ...o })
const peersOf = (s: string) => {
  const out: string[] = []
  for (let i = 0; i < s.length; i += 6) { const a = decodeCompactAddress(s.slice(i, i + 6)); out.push(`${a.ip}:${a.port}`) }
  return out
}

test.after.each(() => {
  for (const t of trackers.splice(0)) t.stop()
})

test('compact addresses: IPv4, IPv4-mapped, IPv6, garbage', () => {
  assert.is(compactAddress('1.2.3.4', 0x1a2b), '\x01\x02\x03\x04\x1a\x2b')
  assert.is(compactAddress('::ffff:10.0.0.1', 80), '\x0a\x00\x00\x01\x00\x50')
  const v6 = compactAddress('2001:db8::1', 6881)!
  assert.is(v6.length, 18)
  assert.equal(decodeCompactAddress(v6), { ip: '2001:db8::1', port: 6881 })
  assert.is(compactAddress('::1', 1)!.length, 18)
  for (const bad of ['', '1.2.3', '1.2.3.256', '1.2.3.4.5', 'a.b.c.d', '1::2::3', 'example.com', '::g', '1.2.3.04444']) assert.is(compactAddress(bad, 1), undefined, bad)
})

test('announce: counts, peers returned exclude self, seeders get leechers only', () => {
  const t = make()
  const r0 = ann(t, 1, { event: EVENT_STARTED })
  assert.equal([r0.complete, r0.incomplete, r0.peers4], [0, 1, ''])
  ann(t, 2, { left: 0, event: EVENT_STARTED })
  ann(t, 3, { left: 0 })
  const r = ann(t, 4)
  assert.equal([r.complete, r.incomplete], [2, 2])
  assert.equal(peersOf(r.peers4).sort(), ['127.0.0.1:10001', '127.0.0.1:10002', '127.0.0.1:10003'])
  const s = ann(t, 2, { left: 0 })
  assert.equal(peersOf(s.peers4).sort(), ['127.0.0.1:10001', '127.0.0.1:10004'], 'a seeder is sent leechers only')
  assert.is(t.stats().peers, 4)
})

test('IPv6 peers go to peers6', () => {
  const t = make()
  ann(t, 1, { ip: '::1' })
  ann(t, 2, { ip: '127.0.0.1' })
  const r = ann(t, 3, { ip: '::1' })
  assert.is(r.peers4.length, 6)
  assert.is(r.peers6.length, 18)
  assert.equal(t.stats().peersByFamily, { ipv4: 1, ipv6: 2 })
})

test('completed: counted once per leecher that finishes; stopped removes the peer', () => {
  const t = make()
  ann(t, 1, { event: EVENT_STARTED })
  ann(t, 1, { left: 0, event: EVENT_COMPLETED })
  ann(t, 1, { left: 0, event: EVENT_COMPLETED }) // a repeat does not count twice
  ann(t, 2, { left: 0 }) // a seeder that starts complete is not a download
  ann(t, 3, { left: 0, event: EVENT_COMPLETED }) // unknown peer that says completed: counted
  assert.equal(t.scrape([IH]).get(IH), { complete: 3, incomplete: 0, downloaded: 2 })
  ann(t, 1, { event: EVENT_STOPPED })
  assert.equal(t.scrape([IH]).get(IH), { complete: 2, incomplete: 0, downloaded: 2 })
  const r = ann(t, 9, { event: EVENT_STOPPED, infoHash: 'B'.repeat(20) })
  assert.is(r.peers4, '')
  assert.not.ok(t.swarms.has('B'.repeat(20)), 'a stop for an unknown swarm creates nothing')
})

test('numwant: default, bounded by numwant-max, 0 gives none', () => {
  const t = make({ numwantMax: 30 })
  for (let i = 0; i < 100; i++) ann(t, i)
  assert.is(ann(t, 1000).peers4.length / 6, 30, "the default (50) is cut to numwant-max")
  assert.is(ann(t, 1001, { numwant: 10 }).peers4.length / 6, 10)
  assert.is(ann(t, 1002, { numwant: 0x7fffffff }).peers4.length / 6, 30)
  assert.is(ann(t, 1003, { numwant: 0 }).peers4.length, 0)
  const t2 = make()
  for (let i = 0; i < 100; i++) ann(t2, i)
  assert.is(ann(t2, 1000).peers4.length / 6, 50, 'default numwant is 50')
})

test('a full swarm drops its least recently announced peer', () => {
  const t = make({ maxSwarmPeers: 3 })
  ann(t, 1); ann(t, 2); ann(t, 3)
  ann(t, 1) // 1 is now the newest; 2 the oldest
  ann(t, 4)
  const ids = [...t.swarms.get(IH)!.peers.keys()].map((k) => Number(k.slice(8)))
  assert.equal(ids.sort(), [1, 3, 4])
  assert.is(t.swarms.get(IH)!.list.length, 3)
})

test('expiry: peers not heard from within peer-timeout are swept, others stay; empty swarms go', () => {
  const t = make({ peerTimeout: 60 })
  ann(t, 1); ann(t, 2)
  ann(t, 3, { infoHash: 'C'.repeat(20) })
  clockMs += 40_000
  ann(t, 2)
  clockMs += 30_000 // 1 and 3 are 70 s old, 2 is 30 s old
  assert.is(t.sweep(), 2)
  assert.equal([...t.swarms.get(IH)!.peers.keys()], [id(2)])
  assert.not.ok(t.swarms.has('C'.repeat(20)))
  assert.equal([t.stats().peers, t.stats().leechers], [1, 1])
  // The list used for sampling stays consistent after removals.
  const s = t.swarms.get(IH)!
  s.list.forEach((p, i) => assert.is(p.idx, i))
})

test('a swarm with completed downloads survives expiry (its count is history)', () => {
  const t = make({ peerTimeout: 10 })
  ann(t, 1, { left: 0, event: EVENT_COMPLETED })
  clockMs += 20_000
  t.sweep()
  assert.equal(t.scrape([IH]).get(IH), { complete: 0, incomplete: 0, downloaded: 1 })
})

test('refusals: bad lengths, bad port, bad IP, private mode', () => {
  const t = make()
  assert.throws(() => ann(t, 1, { infoHash: 'x'.repeat(21) }), (e: Error) => e instanceof TrackerRefusal && /info_hash/.test(e.message))
  assert.throws(() => ann(t, 1, { peerId: 'short' }), /peer_id/)
  assert.throws(() => ann(t, 1, { port: 0 }), /port/)
  assert.throws(() => ann(t, 1, { port: 70000 }), /port/)
  assert.throws(() => ann(t, 1, { ip: 'nonsense' }), /IP/)
  assert.is(t.swarms.size, 0, 'refused announces leave no trace')
  const p = make({ private: true })
  assert.throws(() => ann(p, 1), /unregistered torrent/)
  p.register(IH, { name: 'x', source: 'api' })
  assert.is(ann(p, 1).incomplete, 1)
  assert.equal(p.scrape(['D'.repeat(20)]).get('D'.repeat(20)), { complete: 0, incomplete: 0, downloaded: 0 })
  assert.not.ok(p.fullScrape, 'no full scrape in private mode by default')
})

test('per-IP rate limit', () => {
  const t = make({ rateLimit: 5 }) // burst 20
  let ok = 0
  for (let i = 0; i < 50; i++) { try { ann(t, i); ok++ } catch (e) { assert.match((e as Error).message, /rate limit/) } }
  assert.is(ok, 20)
  ann(t, 100, { ip: '127.0.0.2' }) // another IP has its own bucket
  clockMs += 1000
  ok = 0
  for (let i = 0; i < 10; i++) { try { ann(t, i); ok++ } catch {} }
  assert.is(ok, 5, 'refills at the rate')
  // With the `ip` parameter honoured, the limit still follows the request's source, not the claimed IP.
  const t3 = make({ rateLimit: 1, allowIpParam: true })
  let passed = 0
  for (let i = 0; i < 10; i++) { try { ann(t3, i, { ip: `10.0.0.${i}`, source: '127.0.0.9' }); passed++ } catch {} }
  assert.is(passed, 4)
  const rl = new RateLimiter(10, 10)
  rl.take('a', 0)
  rl.prune(0)
  assert.is(rl.size, 1)
  rl.prune(10_000)
  assert.is(rl.size, 0, 'full buckets are forgotten')
})

test('restorePeer keeps only unexpired peers, and journal sees announces', () => {
  const t = make({ peerTimeout: 100 })
  const nowUnix = Math.floor(clockMs / 1000)
  t.restorePeer(IH, id(1), compactAddress('1.2.3.4', 5)!, true, nowUnix - 10)
  t.restorePeer(IH, id(2), compactAddress('1.2.3.4', 6)!, false, nowUnix - 1000)
  t.restoreCompleted(IH, 7)
  assert.equal(t.scrape([IH]).get(IH), { complete: 1, incomplete: 0, downloaded: 7 })
  const seen: string[] = []
  t.journal = { peerChanged: (p) => seen.push(`c${p.id.slice(-1)}`), peerRemoved: (_ih, pid) => seen.push(`r${pid.slice(-1)}`), swarmChanged: () => seen.push('s'), registrationChanged: () => seen.push('g') }
  ann(t, 3)
  ann(t, 3, { left: 0, event: EVENT_COMPLETED })
  ann(t, 3, { event: EVENT_STOPPED })
  t.register('E'.repeat(20), { name: '', source: 'api' })
  t.register('F'.repeat(20), { name: '', source: 'whitelist' })
  assert.equal(seen, ['c3', 's', 'c3', 'r3', 'g'])
})

test('the per-swarm slot array follows every change: UDP-style compact replies equal the peers picked', () => {
  const t = make({ maxSwarmPeers: 40, numwantMax: 200 })
  let seed = 12345
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  for (let step = 0; step < 3000; step++) {
    const n = rnd(60)
    const v6 = n % 3 === 0
    const ev = rnd(10) === 0 ? EVENT_STOPPED : rnd(10) === 0 ? EVENT_COMPLETED : EVENT_NONE
    const r = ann(t, n, { ip: v6 ? '::1' : `127.0.0.${1 + rnd(2)}`, port: 20000 + rnd(3), left: rnd(3) === 0 ? 0 : 10, event: ev, numwant: rnd(50), family: rnd(2) ? undefined : v6 ? 6 : 4 })
    for (const size of [6, 18] as const) {
      const out = Buffer.alloc(r.count(size) * size)
      assert.is(r.writeCompact(out, 0, size), out.length)
      assert.is(out.toString('latin1'), size === 6 ? r.peers4 : r.peers6, `step ${step}: compact bytes equal the picked peers' addresses`)
    }
    const me = t.swarms.get(IH)?.peers.get(id(n))
    for (const p of r.picked) {
      assert.ok(p !== me, 'never oneself')
      if (me?.seeder) assert.not.ok(p.seeder, 'a seeder gets leechers only')
    }
  }
  const s = t.swarms.get(IH)!
  assert.ok(s.list.length <= 40)
  assert.is(s.seeders + s.leechers, s.list.length)
})


test('slot arrays (shared arena): a swarm that grows, shrinks, or is swept and its memory reused still answers its own peers', () => {
  const t = make({ peerTimeout: 60, numwantMax: 500 })
  const compact = (r: ReturnType<typeof ann>) => {
    const out = Buffer.alloc(r.count(6) * 6)
    r.writeCompact(out, 0, 6)
    return peersOf(out.toString('latin1')).sort()
  }
  const ports = (ns: number[]) => ns.map((n) => `127.0.0.1:${10000 + n}`).sort()
  for (let n = 0; n < 300; n++) ann(t, n, { event: EVENT_STARTED })
  for (let n = 0; n < 280; n++) ann(t, n, { event: EVENT_STOPPED })
  const live = Array.from({ length: 20 }, (_, k) => 280 + k)
  assert.equal(compact(ann(t, 299, { numwant: 500 })), ports(live.filter((n) => n !== 299)), 'after growing to 300 and shrinking to 20')
  // Another swarm, swept away; a newer one takes over its freed slots.
  const other = 'B'.repeat(20)
  for (let n = 1000; n < 1010; n++) ann(t, n, { infoHash: other })
  clockMs += 61_000
  ann(t, 299) // keeps the first swarm alive
  for (const n of live) if (n !== 299) ann(t, n)
  t.sweep()
  assert.is(t.swarms.has(other), false, 'swept')
  const third = 'C'.repeat(20)
  for (let n = 2000; n < 2010; n++) ann(t, n, { infoHash: third })
  assert.equal(compact(ann(t, 2009, { infoHash: third, numwant: 500 })), ports(Array.from({ length: 9 }, (_, k) => 2000 + k)))
  assert.equal(compact(ann(t, 299, { numwant: 500 })), ports(live.filter((n) => n !== 299)), 'the first swarm untouched')
})

test.run()
