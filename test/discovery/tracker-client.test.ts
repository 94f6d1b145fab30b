// TrackerClient: tiers, fallback and reordering, re-announce timing, back-off, events, completed and stopped.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { TrackerClient, type TrackerClientOptions } from '../../src/discovery/tracker.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import {
  startFakeHttpTracker, startFakeUdpTracker, sendBencoded, param, parseUdpAnnounce, udpConnectReply, udpAnnounceReply,
  type FakeHttpTracker, type FakeHttpRequest,
} from '../helpers/fake-tracker.js'
import { delay, waitFor } from '../helpers/wait.js'

const infoHash = randomBytes(20)
const peerId = Buffer.from('-BT0001-000000000007')
const cleanup: (() => Promise<unknown> | void)[] = []
test.after.each(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

function client(tiers: string[][], extra: Partial<TrackerClientOptions> = {}, left = 100): TrackerClient {
  const c = new TrackerClient({
    tiers, infoHash, peerId, port: 6881, stats: () => ({ uploaded: 1, downloaded: 2, left }), timeoutMs: 1000,
    minIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 400, stopTimeoutMs: 1000, ...extra,
  })
  cleanup.push(() => c.stop())
  return c
}

async function fakeHttp(reply: (r: FakeHttpRequest) => Record<string, unknown> | undefined): Promise<FakeHttpTracker> {
  const t = await startFakeHttpTracker((r, res) => {
    const v = reply(r)
    if (v) sendBencoded(res, v)
  })
  cleanup.push(() => t.close())
  return t
}

async function deadUrl(): Promise<string> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  return `http://127.0.0.1:${port}/announce`
}

const compact = (port: number) => Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff])

test('tier fallback: a dead first URL is skipped, the answering one moves to the front', async () => {
  const dead = await deadUrl()
  const good = await fakeHttp(() => ({ interval: 600, peers: compact(7000) }))
  const goodUrl = `${good.origin}/announce`
  const c = client([[dead, goodUrl]])
  const got: [PeerAddress[], string][] = []
  const warnings: [string, string][] = []
  c.on('peers', (p, url) => got.push([p, url]))
  c.on('warning', (url, m) => warnings.push([url, m]))
  c.start()
  await waitFor('peers', () => got.length === 1, 3000)
  assert.equal(got, [[[{ host: '127.0.0.1', port: 7000 }], goodUrl]])
  assert.equal(c.trackers, [[goodUrl, dead]])
  assert.equal(warnings, [[dead, `${dead}: connection refused`]])
  assert.is(param(good.requests[0], 'event'), 'started')
})

test('unsupported, empty and repeated tracker URLs are left out', () => {
  const c = new TrackerClient({
    tiers: [['wss://127.0.0.1:1/', 'http://127.0.0.1:1/announce', ''], [], ['udp://127.0.0.1:2', 'http://127.0.0.1:1/announce', 'magnet:?x']],
    infoHash, peerId, port: 1, stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
  })
  assert.equal(c.trackers, [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']])
})

test('every tier is announced in parallel, HTTP and UDP', async () => {
  const a = await fakeHttp(() => ({ interval: 600, peers: compact(7001) }))
  const u = await startFakeUdpTracker((pkt, reply) => {
    if (pkt.action === 0) reply(udpConnectReply(pkt.transactionId, Buffer.alloc(8, 7)))
    else if (pkt.action === 1) reply(udpAnnounceReply(pkt.transactionId, { interval: 600, leechers: 1, seeders: 2, peers: compact(7002) }))
  })
  cleanup.push(() => u.close())
  // Tier 1's tracker never answers, which must not hold up tier 2.
  const silent = await fakeHttp(() => undefined)
  const c = client([[`${silent.origin}/announce`], [`${a.origin}/announce`], [u.url]], { timeoutMs: 5000 })
  const ports = new Set<number>()
  c.on('peers', (p) => p.forEach((x) => ports.add(x.port)))
  c.start()
  await waitFor('peers from both answering tiers', () => ports.size === 2, 2000)
  assert.equal([...ports].sort(), [7001, 7002])
  assert.is(silent.requests.length, 1)
  assert.is(parseUdpAnnounce(u.packets[1].data).event, 2)
})

test('re-announces on the interval, without event, and clamps a silly interval', async () => {
  const t = await fakeHttp(() => ({ interval: 1, peers: Buffer.alloc(0) }))
  const c = client([[`${t.origin}/announce`]], { minIntervalMs: 300, maxIntervalMs: 400 })
  const times: number[] = []
  c.on('announce', () => times.push(Date.now()))
  c.start()
  await waitFor('three announces', () => times.length === 3, 3000)
  const gaps = [times[1] - times[0], times[2] - times[1]]
  // The tracker asked for 1 s; maxIntervalMs clamps that to 400 ms.
  for (const g of gaps) assert.ok(g >= 380 && g < 900, `gaps ${gaps}`)
  assert.equal(t.requests.map((r) => param(r, 'event')), ['started', undefined, undefined])
  assert.is(param(t.requests[1], 'left'), '100')
})

test('announceNow respects the min interval', async () => {
  const t = await fakeHttp(() => ({ interval: 600, 'min interval': 1, peers: Buffer.alloc(0) }))
  const c = client([[`${t.origin}/announce`]])
  const times: number[] = []
  c.on('announce', () => times.push(Date.now()))
  c.start()
  await waitFor('first announce', () => times.length === 1, 2000)
  c.announceNow()
  c.announceNow()
  await delay(300)
  assert.is(t.requests.length, 1)
  await waitFor('second announce', () => times.length === 2, 2000)
  assert.ok(times[1] - times[0] >= 950, `second after ${times[1] - times[0]} ms`)
  await delay(100)
  assert.is(t.requests.length, 2)
})

test('failures back off (growing gaps) and each distinct message warns once', async () => {
  let reason = 'overloaded'
  const t = await fakeHttp(() => ({ 'failure reason': reason }))
  const url = `${t.origin}/announce`
  const c = client([[url]], { retryBaseMs: 50, retryMaxMs: 200 })
  const warnings: string[] = []
  c.on('warning', (u, m) => { assert.is(u, url); warnings.push(m) })
  c.start()
  await waitFor('five tries', () => t.requests.length >= 5, 3000)
  assert.equal(warnings, [`${url}: tracker said "overloaded"`])
  reason = 'gone fishing'
  await waitFor('second warning', () => warnings.length === 2, 2000)
  assert.equal(warnings[1], `${url}: tracker said "gone fishing"`)
  await c.stop()
  const n = t.requests.length
  await delay(500)
  assert.is(t.requests.length, n, 'no announce after stop()')
  // Every try sends `started`: the tracker never answered one.
  assert.ok(t.requests.every((r) => param(r, 'event') === 'started'))
})

test('back-off gaps grow and are capped', async () => {
  const times: number[] = []
  const t = await fakeHttp(() => { times.push(Date.now()); return { 'failure reason': 'no' } })
  const c = client([[`${t.origin}/announce`]], { retryBaseMs: 60, retryMaxMs: 250 })
  c.start()
  await waitFor('six tries', () => times.length >= 6, 4000)
  await c.stop()
  const gaps = times.slice(1).map((x, i) => x - times[i])
  // 60, 120, 240, 250, 250
  assert.ok(gaps[0] >= 55 && gaps[0] < 110, `gaps ${gaps}`)
  assert.ok(gaps[1] >= 110 && gaps[1] < 200, `gaps ${gaps}`)
  assert.ok(gaps[2] >= 230 && gaps[2] < 330, `gaps ${gaps}`)
  assert.ok(gaps[3] >= 240 && gaps[3] < 340, `gaps ${gaps}`)
})

test('tracker warning message is a warning, once', async () => {
  const t = await fakeHttp(() => ({ interval: 1, 'warning message': 'ratio low', peers: Buffer.alloc(0) }))
  const url = `${t.origin}/announce`
  const c = client([[url]], { minIntervalMs: 50, maxIntervalMs: 50 })
  const warnings: string[] = []
  c.on('warning', (_u, m) => warnings.push(m))
  c.start()
  await waitFor('three announces', () => t.requests.length >= 3, 2000)
  assert.equal(warnings, [`${url}: tracker warns "ratio low"`])
})

test('completed is sent once, at once; stopped on stop() to the trackers that have us', async () => {
  const t = await fakeHttp(() => ({ interval: 600, 'min interval': 300, peers: Buffer.alloc(0) }))
  const u = await startFakeUdpTracker((pkt, reply) => {
    if (pkt.action === 0) reply(udpConnectReply(pkt.transactionId, Buffer.alloc(8, 9)))
    else if (pkt.action === 1) reply(udpAnnounceReply(pkt.transactionId, { interval: 600, leechers: 0, seeders: 0 }))
  })
  cleanup.push(() => u.close())
  const dead = await deadUrl()
  let left = 100
  const c = new TrackerClient({
    tiers: [[`${t.origin}/announce`], [u.url], [dead]], infoHash, peerId, port: 6881, timeoutMs: 1000,
    stats: () => ({ uploaded: 0, downloaded: 100 - left, left }), retryBaseMs: 5000,
  })
  cleanup.push(() => c.stop())
  let announces = 0
  c.on('announce', () => announces++)
  c.start()
  await waitFor('both live tiers', () => announces === 2, 2000)
  left = 0
  c.completed()
  c.completed()
  await waitFor('completed on both', () => announces === 4, 2000)
  const udpEvents = () => u.packets.filter((p) => p.action === 1).map((p) => parseUdpAnnounce(p.data).event)
  assert.equal(t.requests.map((r) => [param(r, 'event'), param(r, 'left')]), [['started', '100'], ['completed', '0']])
  assert.equal(udpEvents(), [2, 1])
  const started = Date.now()
  await c.stop()
  assert.ok(Date.now() - started < 1000)
  assert.equal(t.requests.map((r) => param(r, 'event')), ['started', 'completed', 'stopped'])
  assert.is(param(t.requests[2], 'numwant'), '0')
  assert.equal(udpEvents(), [2, 1, 3])
  await c.stop() // idempotent
  assert.is(t.requests.length, 3)
})

test('stop() is bounded when a tracker stops answering', async () => {
  let answer = true
  const t = await fakeHttp(() => (answer ? { interval: 600, peers: Buffer.alloc(0) } : undefined))
  const c = client([[`${t.origin}/announce`]], { stopTimeoutMs: 300 })
  let announced = false
  c.on('announce', () => { announced = true })
  c.start()
  await waitFor('first announce', () => announced, 2000)
  answer = false
  const started = Date.now()
  await c.stop()
  const took = Date.now() - started
  assert.ok(took >= 250 && took < 800, `stop took ${took} ms`)
  assert.is(param(t.requests[1], 'event'), 'stopped')
})

test('stop() while the first announce is in flight sends nothing more and returns at once', async () => {
  const t = await fakeHttp(() => undefined)
  const c = client([[`${t.origin}/announce`]], { timeoutMs: 5000 })
  c.start()
  await waitFor('the request', () => t.requests.length === 1, 2000)
  const started = Date.now()
  await c.stop()
  assert.ok(Date.now() - started < 200)
  await delay(100)
  assert.is(t.requests.length, 1)
})

test.run()
