// A reader's `now` piece does not wait behind the deep request queue a download already keeps at the seeder: the
// queued lower-class requests are cancelled and the reader's blocks asked for first (src/session/preempt.ts). A bt
// seeder limited to 512 KiB/s holds the leecher's queue of 64+ blocks (1 MiB+: two seconds); the reader's first
// 16 KiB must come much sooner than that queue could drain.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Reader } from '../../src/stream/reader.js'
import { parsePeerAddress } from '../../src/discovery/peer-address.js'
import { makeTestTorrent, seedWith, startClient, stopAll, whenReady, type TestTorrent } from '../helpers/swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor, within } from '../helpers/wait.js'
import { Priority } from '../../src/session/priority.js'

const KiB = 1024
const MiB = 1024 * 1024
let tt: TestTorrent

test.before(async () => {
  tt = await makeTestTorrent([16 * MiB], { pieceLength: 64 * KiB, seed: 91, name: 'preempt.bin' })
})
test.after(async () => {
  await stopAll()
})

test('a read of a piece nobody asked for is served ahead of the queue a running download keeps at the seeder', async () => {
  const rate = 512 * KiB
  const seeder = await seedWith(tt, {}, { uploadLimit: rate })
  const leecher = await startClient()
  const t = leecher.add(tt.metainfo, { dir: tmpDir('bt-preempt-'), peers: [parsePeerAddress(seeder.addr)!] })
  await whenReady(t)
  // The download is under way with a full pipeline: at least a second of blocks queued at the seeder.
  const peer = await waitFor('a deep queue at the seeder', () => {
    const p = [...t.peers.values()][0]
    return p && p.outstanding.size >= rate / (16 * KiB) && t.down.total > 256 * KiB ? p : undefined
  }, 20_000)
  const p = t.picker!
  let target = -1
  for (let i = p.pieceCount - 1; i >= 0 && target < 0; i--) if (!p.have[i] && !p.inProgress.has(i)) target = i
  assert.ok(target > 0, 'a piece not yet asked for')
  const queued = peer!.outstanding.size
  const r = new Reader(t, { readahead: 0 })
  try {
    const started = Date.now()
    const buf = Buffer.alloc(16 * KiB)
    const n = await within(r.read(buf, target * tt.metainfo.pieceLength), 10_000, 'the read')
    const ms = Date.now() - started
    assert.is(n, buf.length)
    const queueMs = (queued * 16 * KiB * 1000) / rate
    // Without preemption the read waits for the whole queue (≥ 2000 ms); with it, about one piece (128 ms) + a round trip.
    assert.ok(ms < queueMs / 2, `first 16 KiB of piece ${target} after ${ms} ms; the queue ahead of it was ${queued} blocks (${queueMs.toFixed(0)} ms at the seeder's rate)`)
    assert.is(p.priority[target], Priority.now)
  } finally {
    r.close()
  }
})

test.run()
