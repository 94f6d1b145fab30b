// Unit tests of the crawler's pure parts: address filters and compact parsers, the seen-filter, rate caps, the node
// table's sample schedule, durations and stats windows.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { isIPv4 } from 'node:net'
import bencode from 'bencode'
import { AddressPolicy, encodeCompactNode, ipv4ToInt, isPublicIPv4, parseCompactNodes, parseCompactPeers } from '../../src/crawl/address.js'
import { encodeKrpc } from '../../src/crawl/krpc-encode.js'
import { mergeStats } from '../../src/crawl/crawler-pool.js'
import type { CrawlStats } from '../../src/crawl/stats.js'
import { encodeCompactPeer as compactPeer } from '../../src/discovery/peer-address.js'

const encodeCompactPeer = (host: string, port: number): Buffer => compactPeer({ host, port })!
import { SeenFilter } from '../../src/crawl/seen-filter.js'
import { KeyedWindowLimiter, QueryBucket } from '../../src/crawl/rate.js'
import { NodeTable, MAX_SAMPLE_INTERVAL_S } from '../../src/crawl/node-table.js'
import { parseDuration } from '../../src/crawl/options.js'
import { HourlyTypes, SecondWindow } from '../../src/crawl/stats.js'
import { Fifo } from '../../src/crawl/fifo.js'
import { tmpDir } from '../helpers/tmp.js'

test('public IPv4 only: private, loopback, CGNAT, link-local, documentation, multicast and reserved are refused', () => {
  for (const h of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '100.128.0.1', '223.255.255.254']) assert.ok(isPublicIPv4(h), h)
  for (const h of ['10.1.2.3', '127.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '169.254.1.1',
    '0.1.2.3', '192.0.2.5', '198.51.100.7', '203.0.113.9', '198.18.0.1', '224.0.0.251', '239.255.255.250', '240.0.0.1',
    '255.255.255.255', '::1', 'example.com']) assert.not.ok(isPublicIPv4(h), h)
})

test('address policy: loopback only when every bootstrap node is loopback; never private; port 0 refused', () => {
  const test = AddressPolicy.forBootstrap([{ host: '127.0.0.1', port: 6881 }])
  const real = AddressPolicy.forBootstrap([{ host: '67.215.246.10', port: 6881 }])
  const mixed = AddressPolicy.forBootstrap([{ host: '127.0.0.1', port: 1 }, { host: '67.215.246.10', port: 6881 }])
  assert.ok(test.allows('127.0.0.1', 5000))
  assert.not.ok(test.allows('192.168.0.1', 5000))
  assert.not.ok(real.allows('127.0.0.1', 5000))
  assert.not.ok(mixed.allows('127.0.0.1', 5000))
  assert.ok(real.allows('8.8.8.8', 53))
  assert.not.ok(real.allows('8.8.8.8', 0))
  assert.not.ok(real.allows('224.0.0.1', 6881))
})

test('compact nodes: a length not a multiple of 26 is malformed; refused addresses are left out; the count is capped', () => {
  const policy = new AddressPolicy(false)
  const good = encodeCompactNode(randomBytes(20), '8.8.4.4', 6881)
  const lan = encodeCompactNode(randomBytes(20), '192.168.1.10', 6881)
  const zeroPort = encodeCompactNode(randomBytes(20), '8.8.4.4', 0)
  const parsed = parseCompactNodes(Buffer.concat([good, lan, zeroPort]), policy)!
  assert.is(parsed.length, 1)
  assert.is(parsed[0].host, '8.8.4.4')
  assert.is(parsed[0].port, 6881)
  assert.is(parseCompactNodes(Buffer.concat([good, Buffer.alloc(3)]), policy), undefined)
  assert.is(parseCompactNodes('nodes', policy), undefined)
  const many = Buffer.concat(Array.from({ length: 500 }, () => good))
  assert.is(parseCompactNodes(many, policy)!.length, 64)
})

test('compact peers: non-buffer entries make the list malformed; IPv6 entries and private peers are skipped', () => {
  const policy = new AddressPolicy(false)
  const peers = parseCompactPeers([encodeCompactPeer('8.8.8.8', 51413), encodeCompactPeer('10.0.0.1', 1), Buffer.alloc(18)], policy)!
  assert.equal(peers, [{ host: '8.8.8.8', port: 51413 }])
  assert.is(parseCompactPeers([encodeCompactPeer('8.8.8.8', 1), 5], policy), undefined)
  assert.is(parseCompactPeers(Buffer.alloc(6), policy), undefined)
})

test('seen-filter: added hashes are seen, about 1% false positives at capacity, fixed memory', () => {
  const f = new SeenFilter({ capacity: 20_000 })
  const mem = f.memoryBytes
  const hashes = Array.from({ length: 20_000 }, () => randomBytes(20))
  for (const h of hashes) assert.ok(f.add(h) || true)
  for (const h of hashes.slice(0, 2000)) assert.ok(f.has(h))
  assert.not.ok(f.add(hashes[5]), 'adding again reports a known hash')
  let fp = 0
  for (let i = 0; i < 20_000; i++) if (f.has(randomBytes(20))) fp++
  assert.ok(fp / 20_000 < 0.02, `false positives ${fp / 200}%`)
  for (let i = 0; i < 50_000; i++) f.add(randomBytes(20))
  assert.is(f.memoryBytes, mem)
})

test('seen-filter: two generations: a hash is forgotten after two rotations, kept after one', () => {
  const f = new SeenFilter({ capacity: 1000 })
  const first = randomBytes(20)
  f.add(first)
  for (let i = 0; i < 1000; i++) f.add(randomBytes(20)) // fills generation 1 and rotates into generation 2
  assert.ok(f.has(first), 'still known one generation later')
  for (let i = 0; i < 2100; i++) f.add(randomBytes(20))
  assert.not.ok(f.has(first), 'forgotten after two rotations')
})

test('seen-filter: save and load keep what was seen; a file made with other parameters starts afresh', async () => {
  const dir = tmpDir()
  const path = join(dir, 'seen.bloom')
  const f = new SeenFilter({ capacity: 5000 })
  const hashes = Array.from({ length: 300 }, () => randomBytes(20))
  for (const h of hashes) f.add(h)
  await f.save(path)
  const { filter, loaded } = await SeenFilter.load(path, { capacity: 5000 })
  assert.ok(loaded)
  for (const h of hashes) assert.ok(filter.has(h))
  assert.is(filter.size, 300)
  const other = await SeenFilter.load(path, { capacity: 9000 })
  assert.not.ok(other.loaded)
  assert.not.ok(other.filter.has(hashes[0]))
  const missing = await SeenFilter.load(join(dir, 'none'), { capacity: 5000 })
  assert.not.ok(missing.loaded)
})

test('query bucket: a burst of a tenth of a second, then the rate', () => {
  const t0 = 1_000_000
  const b = new QueryBucket(100, t0)
  let n = 0
  while (b.take(t0)) n++
  assert.is(n, 10)
  assert.not.ok(b.take(t0 + 5))
  assert.ok(b.take(t0 + 10))
  let granted = 0
  for (let t = t0 + 11; t < t0 + 1011; t++) if (b.take(t)) granted++
  assert.ok(granted >= 99 && granted <= 101, `granted ${granted} in one second`)
})

test('keyed window limiter: per key per window, bounded keys, reset each window', () => {
  const t0 = 5_000_000
  const l = new KeyedWindowLimiter(3, 1000, 2, t0)
  assert.ok(l.allow('a', t0) && l.allow('a', t0) && l.allow('a', t0))
  assert.not.ok(l.allow('a', t0 + 1))
  assert.ok(l.allow('b', t0))
  assert.not.ok(l.allow('c', t0), 'a flood of new keys is refused once the map is full')
  assert.is(l.keys, 2)
  assert.ok(l.allow('a', t0 + 1000))
  assert.ok(l.allow('c', t0 + 1000))
})

test('node table: a node is due at once, then after its interval clamped to [floor, 6 h]', () => {
  const t0 = 10_000_000
  const table = new NodeTable(100, 10)
  table.add(randomBytes(20), '8.8.8.8', 1, t0)
  table.add(randomBytes(20), '8.8.8.9', 1, t0)
  const due = table.takeDue(10, t0)
  assert.is(due.length, 2)
  assert.is(table.takeDue(10, t0 + 100_000).length, 0, 'in flight until scheduled')
  table.scheduleSample(due[0], 0, t0) // asks for no wait: our floor of 10 s applies
  table.scheduleSample(due[1], 1e9, t0) // asks for forever: capped at 6 h
  assert.is(table.takeDue(10, t0 + 9_999).length, 0)
  assert.equal(table.takeDue(10, t0 + 10_000).map((n) => n.host), ['8.8.8.8'])
  assert.is(table.takeDue(10, t0 + MAX_SAMPLE_INTERVAL_S * 1000 - 1).length, 0)
  assert.equal(table.takeDue(10, t0 + MAX_SAMPLE_INTERVAL_S * 1000).map((n) => n.host), ['8.8.8.9'])
})

test('node table: bounded size, failures drop a node, removed nodes are never due', () => {
  const table = new NodeTable(3)
  for (let i = 0; i < 10; i++) table.add(randomBytes(20), `8.8.8.${i}`, 1)
  assert.is(table.size, 3)
  const n = table.get('8.8.8.0:1')!
  assert.not.ok(table.failed(n))
  assert.ok(table.failed(n))
  assert.is(table.size, 2)
  assert.is(table.get('8.8.8.0:1'), undefined)
  assert.not.ok(table.takeDue(10).some((x) => x.host === '8.8.8.0'))
})

test('node table: closest() agrees with a brute-force XOR sort', () => {
  const table = new NodeTable(1000)
  for (let i = 0; i < 500; i++) table.add(randomBytes(20), `8.8.${i >> 8}.${i & 255}`, 1)
  const target = randomBytes(20)
  const xor = (id: Buffer) => Buffer.from(id.map((b, i) => b ^ target[i]))
  const brute = [...table.all()].sort((a, b) => Buffer.compare(xor(a.id), xor(b.id))).slice(0, 8).map((n) => n.key)
  assert.equal(table.closest(target, 8).map((n) => n.key), brute)
})

test('durations: 90, 90s, 30m, 2h, 1h30m; junk refused', () => {
  assert.is(parseDuration('90'), 90)
  assert.is(parseDuration('90s'), 90)
  assert.is(parseDuration('30m'), 1800)
  assert.is(parseDuration('2h'), 7200)
  assert.is(parseDuration('1h30m'), 5400)
  for (const bad of ['', 'h', '2x', '-5m', '1h 30m', 'soon']) assert.is(parseDuration(bad), undefined, bad)
})

test('stats windows: per-minute sums forget old seconds; hourly types forget old minutes', () => {
  const t0 = 1_700_000_000_000
  const w = new SecondWindow(t0)
  w.add(5, t0)
  w.add(7, t0 + 1000)
  assert.is(w.last(60, t0 + 2000), 12)
  assert.is(w.last(60, t0 + 61_500), 7)
  assert.is(w.last(60, t0 + 200_000), 0)
  assert.is(w.total, 12)
  const h = new HourlyTypes(t0)
  h.add('movie', t0)
  h.add('movie', t0 + 60_000)
  h.add('tv_show', t0 + 120_000)
  assert.equal(h.counts(t0 + 180_000), { movie: 2, tv_show: 1 })
  assert.equal(h.counts(t0 + 3_600_000 + 61_000), { tv_show: 1 })
})

test('fifo: bounded, first in first out across the wrap-around, take(n)', () => {
  const q = new Fifo<number>(3)
  assert.ok(q.push(1) && q.push(2) && q.push(3))
  assert.not.ok(q.push(4), 'full')
  assert.is(q.shift(), 1)
  assert.ok(q.push(4))
  assert.is(q.peek(), 2)
  assert.equal(q.take(5), [2, 3, 4])
  assert.is(q.length, 0)
  assert.is(q.shift(), undefined)
})

test('ipv4ToInt accepts what net.isIPv4 accepts, and gives the address as a 32-bit number', () => {
  const cases = ['0.0.0.0', '1.2.3.4', '255.255.255.255', '127.0.0.1', '10.0.0.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4',
    '1.2.3.04', '1..3.4', '.1.2.3', '1.2.3.', '', 'a.b.c.d', '1.2.3.4 ', '::1', '1234.1.1.1', '1.2.3.-4', '192.168.001.1']
  for (const h of cases) assert.is(ipv4ToInt(h) !== undefined, isIPv4(h), h)
  assert.is(ipv4ToInt('1.2.3.4'), 0x01020304)
  assert.is(ipv4ToInt('255.255.255.255'), 0xffffffff)
  assert.is(ipv4ToInt('127.0.0.1'), 0x7f000001)
})

test('encodeKrpc writes the same bytes as bencode.encode for KRPC-shaped messages (keys sorted, UTF-8 strings)', () => {
  const msgs = [
    { t: Buffer.from([0, 1, 2, 3]), y: 'q', q: 'get_peers', a: { id: randomBytes(20), info_hash: randomBytes(20) } },
    { t: Buffer.from('aa'), y: 'r', r: { id: randomBytes(20), interval: 21600, num: 0, samples: Buffer.alloc(0), nodes: randomBytes(208) } },
    { t: Buffer.from('x'), y: 'e', e: [204, 'Method Unknown'] },
    { y: 'r', r: { values: [randomBytes(6), randomBytes(6)], token: randomBytes(8), id: randomBytes(20), neg: -12, 'ünï': 'çödé' } },
  ]
  for (const m of msgs) assert.ok(encodeKrpc(m).equals(Buffer.from(bencode.encode(m))), JSON.stringify(Object.keys(m)))
  assert.ok(encodeKrpc({ a: undefined, b: 1 }).equals(Buffer.from('d1:bi1ee')), 'undefined values are left out')
  assert.throws(() => encodeKrpc({ n: 1.5 }))
})

test('mergeStats adds up the workers: counts, rates, content types; last names at most 10', () => {
  const one = (k: number): CrawlStats => ({
    uptimeS: 10 * k, identities: 1, routingTable: 100 * k, queriesOutPerS: k, queriesInPerS: k,
    infoHashes: { discovered: k, new: k, newPerMin: k, duplicates: k, dropped: k },
    metadata: { fetched: k, failed: k, timedOut: k, bad: k, fetchedPerMin: k, failedPerMin: k, timedOutPerMin: k, queued: k, active: k },
    lookups: { active: k, queued: k }, peersContacted: k, indexed: k, indexSize: k === 1 ? null : 50, indexErrors: 0,
    bytesIn: k, bytesOut: k, bandwidthInPerS: k, bandwidthOutPerS: k, hostileDropped: k,
    contentTypesLastHour: k === 1 ? { movie: 2 } : { movie: 1, tv_show: 3 },
    lastNames: Array.from({ length: 8 }, (_, i) => `w${k}-${i}`),
  })
  const m = mergeStats([one(1), one(2)], 2)
  assert.is(m.identities, 2)
  assert.is(m.uptimeS, 20)
  assert.is(m.routingTable, 300)
  assert.is(m.infoHashes.new, 3)
  assert.is(m.metadata.fetched, 3)
  assert.is(m.lookups.queued, 3)
  assert.is(m.indexSize, 50)
  assert.equal(m.contentTypesLastHour, { movie: 3, tv_show: 3 })
  assert.is(m.lastNames.length, 10)
  assert.is(mergeStats([], 4).indexSize, null)
})

test.run()
