// A seeder learns of new leechers only when it announces. When it is seeding with no peers, or only seeders, it asks
// the tracker again as soon as the tracker's `min interval` allows (as libtorrent does), not after the full interval
// (often 30 minutes). Against a fake HTTP tracker on 127.0.0.1 whose interval is an hour.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import Wire from 'bittorrent-protocol'
import { TrackerClient } from '../../src/discovery/tracker.js'
import { startFakeHttpTracker, sendBencoded, param, type FakeHttpTracker } from '../helpers/fake-tracker.js'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { delay, waitFor } from '../helpers/wait.js'

const trackers: FakeHttpTracker[] = []
const sockets: net.Socket[] = []
let client: TrackerClient | undefined
test.after.each(async () => {
  await client?.stop()
  client = undefined
  for (const s of sockets.splice(0)) s.destroy()
  await stopAll()
  await Promise.all(trackers.splice(0).map((t) => t.close()))
})

/** Announce times (ms since `t0`). */
function announceTimes(tr: FakeHttpTracker, t0: number, stamps: number[]): number[] {
  return stamps.filter((_, i) => param(tr.requests[i], 'event') !== 'stopped').map((t) => t - t0)
}

async function hourlyTracker(minInterval?: number): Promise<{ tr: FakeHttpTracker; stamps: number[] }> {
  const stamps: number[] = []
  const tr = await startFakeHttpTracker((_req, res) => {
    stamps.push(Date.now())
    sendBencoded(res, { interval: 3600, ...(minInterval !== undefined ? { 'min interval': minInterval } : {}), peers: Buffer.alloc(0) })
  })
  trackers.push(tr)
  return { tr, stamps }
}

test('TrackerClient: hungry re-announces at the min interval; not hungry waits the interval; replan() switches', async () => {
  const { tr, stamps } = await hourlyTracker(1)
  let hungry = true
  const t0 = Date.now()
  client = new TrackerClient({
    tiers: [[`${tr.origin}/announce`]], infoHash: randomBytes(20), peerId: randomBytes(20), port: 6881,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }), minIntervalMs: 100, hungry: () => hungry,
  })
  client.start()
  await waitFor('three announces while hungry', () => stamps.length >= 3, 4000)
  const times = announceTimes(tr, t0, stamps)
  assert.ok(times[1] - times[0] >= 950 && times[1] - times[0] < 1600, `gap ${times[1] - times[0]} ms`)
  assert.ok(times[2] - times[1] >= 950 && times[2] - times[1] < 1600, `gap ${times[2] - times[1]} ms`)
  // Fed: the next announce moves to the full interval (an hour).
  hungry = false
  client.replan()
  const n = stamps.length
  await delay(2500)
  assert.is(stamps.length, n, 'no announce while not hungry')
  // Hungry again: the min interval has long passed, so it announces at once.
  hungry = true
  const before = Date.now()
  client.replan()
  await waitFor('an announce once hungry again', () => stamps.length > n, 1000)
  assert.ok(Date.now() - before < 500)
})

test('TrackerClient: without a min interval, a hungry torrent waits the bounded default, not the interval', async () => {
  const { tr, stamps } = await hourlyTracker()
  client = new TrackerClient({
    tiers: [[`${tr.origin}/announce`]], infoHash: randomBytes(20), peerId: randomBytes(20), port: 6881,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }), minIntervalMs: 100, hungry: () => true,
  })
  client.start()
  await waitFor('the first announce', () => stamps.length >= 1, 2000)
  await delay(1500)
  assert.is(stamps.length, 1, 'a tracker that sets no min interval is not hammered')
})

/** A leecher that has nothing: it handshakes with the seeder at `port`, sends an empty bitfield and stays. */
async function idleLeecher(tt: TestTorrent, port: number): Promise<Wire> {
  const socket = net.connect(port, '127.0.0.1')
  sockets.push(socket)
  socket.on('error', () => {})
  const wire = new Wire()
  wire.on('error', () => {})
  socket.pipe(wire).pipe(socket)
  wire.handshake(tt.metainfo.infoHash, randomBytes(20))
  await new Promise<void>((resolve) => wire.once('handshake', () => resolve()))
  wire.bitfield(Buffer.alloc(Math.ceil(tt.metainfo.pieceCount / 8)))
  wire.interested()
  return wire
}

test('a bt seeder with no peers re-announces after the tracker\'s min interval (30 s), not its interval (1 h); one with a leecher does not', async () => {
  // Two seeders at once, each with its own tracker: one alone, one with a leecher that has nothing.
  const alone = await hourlyTracker(30)
  const fed = await hourlyTracker(30)
  const tt = await makeTestTorrent([200_000], { seed: 91, trackers: [[`${alone.tr.origin}/announce`]] })
  const tt2 = await makeTestTorrent([200_000], { seed: 92, trackers: [[`${fed.tr.origin}/announce`]] })
  const [seed, seed2] = await Promise.all([seedWith(tt), seedWith(tt2)])
  assert.is(seed.torrent.state, 'seeding')
  await idleLeecher(tt2, seed2.client.port())
  await waitFor('the leecher to be a peer', () => seed2.torrent.stats().peers === 1, 5000)
  await waitFor('the first announces', () => alone.stamps.length >= 1 && fed.stamps.length >= 1, 5000)
  await delay(1000)
  // One announce: `started`, after the data was checked, so with nothing left (and no `completed` for a download
  // that never happened).
  assert.is(alone.stamps.length, 1)
  assert.is(param(alone.tr.requests[0], 'event'), 'started')
  assert.is(param(alone.tr.requests[0], 'left'), '0')
  const first = alone.stamps.length
  const last = alone.stamps[first - 1]
  await waitFor('the next announce', () => alone.stamps.length > first, 40_000)
  const gap = alone.stamps[first] - last
  assert.ok(gap >= 29_500 && gap < 33_000, `next announce ${gap} ms after the first round`)
  const req = alone.tr.requests[first]
  assert.is(param(req, 'event'), undefined)
  assert.is(param(req, 'left'), '0')
  // The seeder with a leecher waits the tracker's interval: still one announce, past its own min interval too.
  await delay(Math.max(0, fed.stamps[0] + 33_000 - Date.now()))
  assert.is(seed2.torrent.stats().peers, 1, 'the leecher is still there')
  assert.is(fed.stamps.length, 1, 'no early re-announce with a leecher to serve')
})

test.run()
