// A seeder learns of new leechers only when it announces. When it is seeding with no peers, or only seeders, it asks
// the tracker again as soon as the tracker's `min interval` allows (as libtorrent does), not after the full interval
// (often 30 minutes). Against a fake HTTP tracker on 127.0.0.1 whose interval is an hour.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { TrackerClient } from '../../src/discovery/tracker.js'
import { startFakeHttpTracker, sendBencoded, param, type FakeHttpTracker } from '../helpers/fake-tracker.js'
import { makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'
import { delay, waitFor } from '../helpers/wait.js'

let tracker: FakeHttpTracker | undefined
let client: TrackerClient | undefined
test.after.each(async () => {
  await client?.stop()
  client = undefined
  await stopAll()
  await tracker?.close()
  tracker = undefined
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
  tracker = tr
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

test('a bt seeder with no peers re-announces after the tracker\'s min interval (30 s), not its interval (1 h)', async () => {
  const { tr, stamps } = await hourlyTracker(30)
  const tt = await makeTestTorrent([200_000], { seed: 91, trackers: [[`${tr.origin}/announce`]] })
  const seed = await seedWith(tt)
  assert.is(seed.torrent.state, 'seeding')
  await waitFor('the first announce', () => stamps.length >= 1, 5000)
  await delay(1000)
  // One announce: `started`, after the data was checked, so with nothing left (and no `completed` for a download
  // that never happened).
  assert.is(stamps.length, 1)
  assert.is(param(tr.requests[0], 'event'), 'started')
  assert.is(param(tr.requests[0], 'left'), '0')
  const first = stamps.length
  const last = stamps[first - 1]
  await waitFor('the next announce', () => stamps.length > first, 40_000)
  const gap = stamps[first] - last
  assert.ok(gap >= 29_500 && gap < 33_000, `next announce ${gap} ms after the first round`)
  const req = tr.requests[first]
  assert.is(param(req, 'event'), undefined)
  assert.is(param(req, 'left'), '0')
})

test.run()
