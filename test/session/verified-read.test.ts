// A reader waiting on a piece is served as soon as the piece verifies, from the verified bytes still in memory, not
// after its write reaches the disk: on a 1 GiB cold stream the write queues behind every other piece's write (libuv's
// four-thread pool, dirty-page throttling), which cost the first byte of a Range read 70 ms to a second. Here every
// write of the leecher's storage is held back 1.5 s (a slow disk), and a read must still end well before that.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Reader } from '../../src/stream/reader.js'
import { parsePeerAddress } from '../../src/discovery/peer-address.js'
import { makeTestTorrent, seedWith, startClient, stopAll, whenReady, type TestTorrent } from '../helpers/swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { within } from '../helpers/wait.js'

const KiB = 1024
const MiB = 1024 * 1024
const WRITE_DELAY_MS = 1500
let tt: TestTorrent
let data: Buffer

test.before(async () => {
  tt = await makeTestTorrent([4 * MiB], { pieceLength: 256 * KiB, seed: 77, name: 'verified-read.bin' })
  data = readFileSync(join(tt.seedDir, 'verified-read.bin'))
})
test.after(async () => {
  await stopAll()
})

test('a read of a missing piece ends once the piece verifies, before its slow write to disk', async () => {
  const seeder = await seedWith(tt, {})
  const leecher = await startClient()
  const t = leecher.add(tt.metainfo, { dir: tmpDir('bt-verified-read-'), peers: [parsePeerAddress(seeder.addr)!] })
  await whenReady(t)
  const storage = t.storage!
  const write = storage.writePiece.bind(storage)
  let writes = 0
  storage.writePiece = (i: number, buf: Buffer) => {
    writes++
    return new Promise((r) => setTimeout(r, WRITE_DELAY_MS)).then(() => write(i, buf))
  }
  const pl = tt.metainfo.pieceLength
  const target = 11
  const r = new Reader(t, { readahead: 0 })
  try {
    const started = Date.now()
    const buf = Buffer.alloc(64 * KiB)
    const pos = target * pl + 5000
    const n = await within(r.read(buf, pos), 10_000, 'the read')
    const ms = Date.now() - started
    assert.is(n, buf.length)
    assert.ok(buf.equals(data.subarray(pos, pos + buf.length)), 'the bytes read equal the file')
    assert.ok(writes > 0, 'the piece went through the (slow) storage write')
    assert.ok(ms < WRITE_DELAY_MS * 0.6, `read of piece ${target} took ${ms} ms; every write takes ${WRITE_DELAY_MS} ms`)
    // A read that crosses into the next piece reads both from memory too.
    const across = Buffer.alloc(32 * KiB)
    const pos2 = (target + 1) * pl - 16 * KiB
    const t2 = Date.now()
    await within(r.read(across, pos2), 10_000, 'the read across pieces')
    assert.ok(across.equals(data.subarray(pos2, pos2 + across.length)), 'bytes across the boundary equal the file')
    assert.ok(Date.now() - t2 < WRITE_DELAY_MS * 0.6, `read across pieces took ${Date.now() - t2} ms`)
  } finally {
    r.close()
  }
  // Once the writes land, the pieces are on disk (have) and read back the same.
  const done = Date.now() + 15_000
  while (!t.hasPiece(target) && Date.now() < done) await new Promise((res) => setTimeout(res, 50))
  assert.ok(t.hasPiece(target), 'the piece was written')
})

test('a read from a piece on disk into one still being written takes the second from memory, not from the disk', async () => {
  const seeder = await seedWith(tt, {})
  const leecher = await startClient()
  const t = leecher.add(tt.metainfo, { dir: tmpDir('bt-verified-read-'), peers: [parsePeerAddress(seeder.addr)!] })
  await whenReady(t)
  const pl = tt.metainfo.pieceLength
  const first = 5
  // Every piece but 5 is slow to reach the disk: piece 6 verifies long before it is written.
  const storage = t.storage!
  const write = storage.writePiece.bind(storage)
  storage.writePiece = (i: number, buf: Buffer) =>
    i === first ? write(i, buf) : new Promise((res) => setTimeout(res, 2 * WRITE_DELAY_MS)).then(() => write(i, buf))
  const r = new Reader(t, { readahead: 0 })
  try {
    await within(r.read(Buffer.alloc(KiB), first * pl), 10_000, 'piece 5')
    const done = Date.now() + 10_000
    while (!t.hasPiece(first) && Date.now() < done) await new Promise((res) => setTimeout(res, 20))
    assert.ok(t.hasPiece(first), 'piece 5 is on disk')
    const across = Buffer.alloc(64 * KiB)
    const pos = (first + 1) * pl - 16 * KiB
    await within(r.read(across, pos), 10_000, 'the read across pieces 5 and 6')
    assert.not.ok(t.hasPiece(first + 1), 'piece 6 was still being written during the read')
    assert.ok(across.equals(data.subarray(pos, pos + across.length)), 'bytes across the boundary equal the file')
  } finally {
    r.close()
  }
})

test.run()
