// A bt leecher next to a misbehaving peer (test/helpers/hostile-peer.ts) and an honest bt seeder: it must still
// finish byte-identical within a bound, drop or ban the bad peer, and keep its memory bounded.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parsePeerAddress } from '../../src/discovery/peer-address.js'
import type { Torrent } from '../../src/session/torrent.js'
import { tmpDir } from '../helpers/tmp.js'
import { assertSameFiles, makeTestTorrent, seedWith, startClient, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { startHostilePeer, type HostileMode, type HostilePeer, type HostileOptions } from '../helpers/hostile-peer.js'
import { rssWatch } from '../helpers/rss.js'

const MiB = 1024 * 1024
const hostiles: HostilePeer[] = []

// An exception thrown inside the engine's socket handlers would end this process and hide the remaining tests:
// record it, fail the scenario that is waiting, and check at the end of each test (assertNoCrash).
const uncaught: Error[] = []
let onCrash: ((err: Error) => void) | undefined
process.on('uncaughtException', (err) => {
  uncaught.push(err)
  if (process.env.DBG) console.log(err.stack?.split('\n').slice(0, 25).join('\n'))
  onCrash?.(err)
})
/** Like whenDone, but also fails at once when the engine throws; leaves no timer behind either way. */
function doneOrCrash(t: Torrent, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(timer)
      onCrash = undefined
      if (err) reject(err)
      else resolve()
    }
    const timer = setTimeout(() => finish(new Error(`${t.name}: not done after ${ms} ms (${JSON.stringify(t.stats())})`)), ms)
    onCrash = (err) => finish(new Error(`uncaught exception in the engine: ${describe(err)}`))
    if (t.done) return finish()
    t.once('done', () => finish())
    t.once('error', (err: Error) => finish(err))
  })
}
function describe(err: Error): string {
  return err.stack?.split('\n').slice(0, 6).join('\n') ?? String(err)
}

test.after.each(async () => {
  onCrash = undefined
  await stopAll()
  await Promise.allSettled(hostiles.splice(0).map((h) => h.stop()))
  uncaught.length = 0
})

/** Fails the running test if the engine threw an uncaught exception since the scenario started. */
function assertNoCrash(): void {
  if (uncaught.length) throw new Error(`uncaught exception in the engine: ${describe(uncaught[0])}`)
}

interface Run {
  tt: TestTorrent
  hostile: HostilePeer
  leech: Torrent
  seedTorrent: Torrent
  warnings: string[]
  seedWarnings: string[]
  ms: number
  rssGrowth: number
}

/**
 * Seeder + hostile peer, a leecher told about both (the hostile one first); waits until the leecher is done.
 * Without a hostile peer this download takes ~1.8 s (4 MiB from a seeder limited to 2 MiB/s).
 */
async function scenario(mode: HostileMode, opts: { seed: number; boundMs: number; hostile?: HostileOptions; hostileDialsSeeder?: boolean }): Promise<Run> {
  const tt = await makeTestTorrent([4 * MiB + 1000], { pieceLength: 65536, seed: opts.seed })
  // A rate-limited seeder keeps the download going for a couple of seconds, long enough for the misbehaviour to
  // matter; unlimited, a loopback download of 4 MiB is over before the hostile peer gets a word in.
  const seed = await seedWith(tt, {}, { uploadLimit: 2 * MiB })
  const seedWarnings: string[] = []
  seed.torrent.on('warning', (w: string) => seedWarnings.push(w))
  const hostile = await startHostilePeer(tt.metainfo, mode, opts.hostile)
  hostiles.push(hostile)
  const client = await startClient()
  const dir = tmpDir()
  const warnings: string[] = []
  const rss = rssWatch()
  const started = Date.now()
  if (opts.hostileDialsSeeder) hostile.connect(seed.client.port())
  const leech = client.add(tt.metainfo, { dir, peers: [parsePeerAddress(hostile.addr)!, parsePeerAddress(seed.addr)!] })
  leech.on('warning', (w: string) => warnings.push(w))
  try {
    await doneOrCrash(leech, opts.boundMs)
  } catch (err) {
    rss.stop()
    throw new Error(`${(err as Error).message}\nwarnings: ${warnings.join(' | ')}\nhostile: ${JSON.stringify(hostile.stats)}`)
  }
  const ms = Date.now() - started
  const rssGrowth = rss.stop()
  assertSameFiles(tt, dir)
  console.error(`  ${mode}: done in ${ms} ms, RSS +${(rssGrowth / MiB).toFixed(1)} MiB, hostile ${JSON.stringify(hostile.stats)}`)
  return { tt, hostile, leech, seedTorrent: seed.torrent, warnings, seedWarnings, ms, rssGrowth }
}

test('corrupt blocks: download completes and the liar is banned', async () => {
  const r = await scenario('corrupt', { seed: 31, boundMs: 20_000 })
  assert.ok(r.hostile.stats.corruptBlocks > 0, 'the hostile peer was asked for blocks and answered with garbage')
  const ban = r.warnings.find((w) => w.includes('banned') && w.includes(r.hostile.addr))
  assert.ok(ban, `leecher banned ${r.hostile.addr}; warnings: ${r.warnings.join(' | ')}`)
  assert.ok(r.warnings.some((w) => w.includes('failed its hash check')))
  assert.ok(r.ms < 6000, `took ${r.ms} ms`)
  // Banned means it is not dialled again: its connection count stays at what it was when banned.
  const handshakes = r.hostile.stats.handshakes
  await new Promise((res) => setTimeout(res, 1500))
  assert.is(r.hostile.stats.handshakes, handshakes)
  assertNoCrash()
})

test('100 MB length prefix: connection dropped, nothing like 100 MB buffered', async () => {
  const r = await scenario('huge-message', { seed: 32, boundMs: 20_000 })
  await r.hostile.closedCount(1, 5000)
  assert.ok(r.hostile.stats.fillerBytes < 50 * MiB, `bt read ${r.hostile.stats.fillerBytes} filler bytes before dropping the connection`)
  assert.ok(r.rssGrowth < 50 * MiB, `RSS grew by ${(r.rssGrowth / MiB).toFixed(1)} MiB`)
  assert.ok(r.warnings.some((w) => w.includes('banned') && w.includes('message of')), r.warnings.join(' | '))
  assert.ok(r.ms < 6000, `took ${r.ms} ms`)
  assertNoCrash()
})

test('a peer that never answers requests does not stall the download', async () => {
  const r = await scenario('silent', { seed: 33, boundMs: 30_000 })
  assert.ok(r.hostile.stats.requestsSeen > 0, 'the silent peer was asked for blocks')
  // Its requests time out only after 12 s; the blocks must be fetched from the seeder long before that.
  assert.ok(r.ms < 6000, `took ${r.ms} ms`)
  assertNoCrash()
})

test('request flood against the leecher and the seeder', async () => {
  const r = await scenario('flood', { seed: 35, boundMs: 20_000, hostileDialsSeeder: true, hostile: { floodCount: 20_000 } })
  assert.ok(r.hostile.stats.floodRequests >= 20_000, `hostile flooded ${r.hostile.stats.floodRequests} requests`)
  // The seeder has every block and so must bound what it queues for a peer that asks without reading.
  await r.hostile.closedCount(1, 5000)
  assert.ok(r.seedWarnings.some((w) => w.includes('banned') && w.includes('request flood')), r.seedWarnings.join(' | '))
  assert.ok(r.rssGrowth < 100 * MiB, `RSS grew by ${(r.rssGrowth / MiB).toFixed(1)} MiB`)
  // The flooder's requests must not eat the seeder's upload budget: tokens are spent only on blocks actually sent
  // (it used to take them per request and stall the honest leecher for ~8 s).
  assert.ok(r.ms < 6000, `the download took ${r.ms} ms next to a request flood; about 1800 ms without one`)
  assertNoCrash()
})

// A peer that keeps asking but never reads: the seeder must stop reading blocks for it once its socket backlog is a
// few MiB (pumpUploads waits for 'drain'); its requests then pile up and past the queue cap it is dropped.
test('a peer that requests without reading cannot make the seeder buffer without bound', async () => {
  const tt = await makeTestTorrent([4 * MiB], { pieceLength: 65536, seed: 36 })
  const seed = await seedWith(tt)
  const hostile = await startHostilePeer(tt.metainfo, 'flood', { floodCount: 200, floodBursts: 80, floodIntervalMs: 50 })
  hostiles.push(hostile)
  const rss = rssWatch()
  hostile.connect(seed.client.port())
  await new Promise((r) => setTimeout(r, 4500))
  const growth = rss.stop()
  const sent = seed.torrent.stats().uploaded
  console.error(`  slow flood: ${hostile.stats.floodRequests} requests, seeder "uploaded" ${(sent / MiB).toFixed(0)} MiB, RSS +${(growth / MiB).toFixed(1)} MiB, closed ${hostile.stats.closed}`)
  assert.ok(hostile.stats.floodRequests > 0)
  assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB for a peer that reads nothing`)
  assertNoCrash()
})

// On its first request the hostile peer sends choke, HAVE(pieceCount), unchoke in one segment: the wire is ended on
// the HAVE while the unchoke is still parsed, and requests on an ending wire fail synchronously (this once recursed
// until the stack overflowed).
test('HAVE beyond the last piece: the peer is dropped, the download completes', async () => {
  const r = await scenario('bad-have', { seed: 34, boundMs: 20_000 })
  await r.hostile.closedCount(1, 5000)
  assert.ok(r.warnings.some((w) => w.includes('banned') && w.includes(`have for piece ${r.tt.metainfo.pieceCount}`)), r.warnings.join(' | '))
  assert.ok(r.ms < 6000, `took ${r.ms} ms`)
  assertNoCrash()
})

test.run()
