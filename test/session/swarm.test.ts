// Loopback swarms of bt clients only: a seeder and several leechers, a late joiner, partial seeders.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parsePeerAddress } from '../../src/discovery/peer-address.js'
import { tmpDir } from '../helpers/tmp.js'
import { assertSameFiles, makeTestTorrent, seedWith, startClient, stopAll, whenDone } from '../helpers/swarm.js'

test.after.each(stopAll)

test('one seeder, three leechers, multi-file', async () => {
  const tt = await makeTestTorrent([300_000, 1_000_000, 0, 77_777, 2_000_000], { pieceLength: 32768 })
  const seed = await seedWith(tt)
  const leechers = await Promise.all([1, 2, 3].map(async () => {
    const c = await startClient()
    const dir = tmpDir()
    const t = c.add(tt.metainfo, { dir, peers: [parsePeerAddress(seed.addr)!] })
    return { c, t, dir }
  }))
  await Promise.all(leechers.map((l) => whenDone(l.t)))
  for (const l of leechers) assertSameFiles(tt, l.dir)
  assert.ok(seed.torrent.stats().uploaded > 0)
})

test('late joiner gets data from leechers and the seed', async () => {
  const tt = await makeTestTorrent([3_000_000], { pieceLength: 65536, seed: 5 })
  const seed = await seedWith(tt)
  const first = await startClient()
  const d1 = tmpDir()
  const t1 = first.add(tt.metainfo, { dir: d1, seed: true, peers: [parsePeerAddress(seed.addr)!] })
  await whenDone(t1)
  const late = await startClient()
  const d2 = tmpDir()
  const t2 = late.add(tt.metainfo, { dir: d2, peers: [parsePeerAddress(seed.addr)!, { host: '127.0.0.1', port: first.port() }] })
  await whenDone(t2)
  assertSameFiles(tt, d2)
})

test('two partial seeders that each have half', async () => {
  const tt = await makeTestTorrent([10 * 65536 + 1234, 5 * 65536], { pieceLength: 65536, seed: 9 })
  // Each partial seeder downloads only one file from the full seed, then the full seed goes away.
  const full = await seedWith(tt)
  const halves = await Promise.all([[0], [1]].map(async (select) => {
    const c = await startClient()
    const dir = tmpDir()
    const t = c.add(tt.metainfo, { dir, select, seed: true, peers: [parsePeerAddress(full.addr)!] })
    await whenDone(t)
    return { c, t, dir }
  }))
  await full.client.destroy()
  const c = await startClient()
  const dir = tmpDir()
  const t = c.add(tt.metainfo, { dir, peers: halves.map((h) => ({ host: '127.0.0.1', port: h.c.port() })) })
  await whenDone(t)
  assertSameFiles(tt, dir)
  // The first partial seeder never created the second file beyond the piece they share.
  assert.ok(existsSync(join(halves[0].dir, 'multi', 'f0.bin')))
})

test('--upload-limit holds: 4 MiB from a seeder limited to 1 MiB/s takes about 4 s', async () => {
  const tt = await makeTestTorrent([4 * 1024 * 1024], { pieceLength: 65536, seed: 15 })
  const seed = await seedWith(tt, {}, { uploadLimit: 1024 * 1024 })
  const c = await startClient()
  const dir = tmpDir()
  const started = Date.now()
  const t = c.add(tt.metainfo, { dir, peers: [parsePeerAddress(seed.addr)!] })
  await whenDone(t, 20_000)
  const secs = (Date.now() - started) / 1000
  assertSameFiles(tt, dir)
  // The bucket starts with a quarter second of burst: 3.75 s at the exact rate; allow for a loaded machine above.
  assert.ok(secs > 3.4 && secs < 5.5, `took ${secs.toFixed(2)} s`)
})

test.run()
