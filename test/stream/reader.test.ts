// Reader and createReadStream over a scripted torrent: bytes, waiting for pieces, readahead growth and collapse,
// concurrent out-of-order reads, close/abort releasing priorities.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { tmpDir } from '../helpers/tmp.js'
import { rejects } from '../helpers/assert.js'
import { delay } from '../helpers/wait.js'
import { Reader, ReaderClosedError, createReadStream } from '../../src/stream/reader.js'
import { Priority } from '../../src/session/priority.js'
import { BtError } from '../../src/errors.js'
import { makeFixture, md5, type Fixture } from './scripted-torrent.js'

const KiB = 1024
const MiB = 1024 * 1024
const dir = tmpDir()
let multi: Fixture // 16 KiB pieces, several files
let big: Fixture // 64 KiB pieces, one 8 MiB file

/** Resolve to 'pending' if p has not settled within ms. */
const settled = <T>(p: Promise<T>, ms = 50) => Promise.race([p.then(() => 'resolved', () => 'rejected'), delay(ms).then(() => 'pending')])

test.before(async () => {
  multi = await makeFixture(dir, 'multi', { 'a.bin': 100_000, 'sub/b.bin': 50_000 + 3, 'sub/empty': 0, 'z.bin': 7 }, 16 * KiB)
  big = await makeFixture(dir, 'big.bin', { 'big.bin': 8 * MiB }, 64 * KiB, { single: true })
})

test('reads of available data return the bytes of each file, short only at the end', async () => {
  const t = multi.torrent
  t.makeAllAvailable()
  for (const f of t.metainfo.files) {
    const want = multi.files.get(f.path.slice(1).join('/'))!
    const r = new Reader(t, { start: f.offset, end: f.offset + f.length })
    assert.is(r.length, f.length)
    const got = Buffer.alloc(f.length + 5000)
    let pos = 0
    for (;;) {
      const n = await r.read(got.subarray(pos, pos + 4096 + 13), pos)
      if (n === 0) break
      pos += n
    }
    assert.is(pos, f.length, f.path.join('/'))
    assert.ok(got.subarray(0, pos).equals(want), f.path.join('/'))
    assert.is(await r.read(Buffer.alloc(10), f.length + 100), 0)
    r.close()
  }
  assert.is(t.badReads, 0)
  // A read across a file boundary, from a Reader over the whole torrent.
  const whole = new Reader(t)
  const a = multi.files.get('a.bin')!
  const buf = Buffer.alloc(1000)
  assert.is(await whole.read(buf, a.length - 500), 1000)
  assert.ok(buf.subarray(0, 500).equals(a.subarray(a.length - 500)))
  assert.ok(buf.subarray(500).equals(multi.files.get('sub/b.bin')!.subarray(0, 500)))
  whole.close()
  await rejects(() => whole.read(buf, 0), ReaderClosedError)
})

test('a read of a missing piece waits, marks it now, and completes when the piece arrives', async () => {
  const t = big.torrent
  const pl = t.metainfo.pieceLength
  const r = new Reader(t)
  const buf = Buffer.alloc(4096)
  const p = r.read(buf, 5 * pl + 100)
  assert.is(await settled(p), 'pending')
  assert.is(t.priority(5), Priority.now)
  assert.is(t.priority(6), Priority.readahead)
  assert.is(t.readAtCalls, 0)
  t.makeAvailable(5)
  assert.is(await p, 4096)
  assert.ok(buf.equals(big.files.get('big.bin')!.subarray(5 * pl + 100, 5 * pl + 100 + 4096)))
  // A read spanning pieces 6 and 7 waits for both.
  const q = r.read(Buffer.alloc(pl), 6 * pl + 10)
  t.makeAvailable(7)
  assert.is(await settled(q), 'pending')
  assert.equal([t.priority(6), t.priority(7)], [Priority.now, Priority.now])
  t.makeAvailable(6)
  assert.is(await q, pl)
  r.close()
  assert.is(t.badReads, 0)
  assert.is(t.wishes.size, 0)
})

test('readahead grows with contiguous reads, never passes the end, and collapses on a seek', async () => {
  const t = big.torrent
  t.makeAllAvailable()
  const pl = t.metainfo.pieceLength // 64 KiB
  const r = new Reader(t, { readahead: 2 * MiB })
  const buf = Buffer.alloc(16 * KiB)
  await r.read(buf, 0)
  // One piece at least right away.
  assert.is(r.readaheadWindow, pl)
  const ahead0 = t.piecesAt(Priority.readahead).length
  assert.ok(ahead0 >= 1 && ahead0 <= 2, `window after the first read: ${ahead0}`)
  for (let pos = 16 * KiB; pos < 1 * MiB; pos += 16 * KiB) await r.read(buf, pos)
  assert.is(r.readaheadWindow, 1 * MiB)
  assert.equal(t.piecesAt(Priority.now), [16])
  assert.equal(t.piecesAt(Priority.readahead), Array.from({ length: 15 }, (_, i) => 17 + i))
  for (let pos = 1 * MiB; pos < 3 * MiB; pos += 16 * KiB) await r.read(buf, pos)
  assert.is(r.readaheadWindow, 2 * MiB, 'clamped to the max')
  assert.is(t.piecesAt(Priority.readahead).length, 31)
  // Seek far ahead: the window collapses to a piece at the new place.
  await r.read(buf, 6 * MiB + 5)
  assert.is(r.readaheadWindow, pl)
  assert.equal(t.piecesAt(Priority.now), [96])
  assert.ok(t.piecesAt(Priority.readahead).every((p) => p >= 96 && p <= 98))
  // Near the end the window stops at the last piece.
  for (let pos = 6 * MiB + 16 * KiB; pos < 8 * MiB; pos += 16 * KiB) await r.read(buf, pos)
  assert.equal(t.piecesAt(Priority.readahead), [])
  assert.equal(t.piecesAt(Priority.now), [])
  // A Reader over part of the torrent never wishes for pieces past its end.
  const part = new Reader(t, { start: 0, end: 10 * pl, readahead: 64 * MiB })
  for (let pos = 0; pos < 5 * pl; pos += 16 * KiB) await part.read(buf, pos)
  assert.ok(Math.max(...t.piecesAt(Priority.readahead)) <= 9)
  part.close()
  r.close()
  assert.is(t.wishes.size, 0)
})

test('concurrent reads arriving out of order are served right and do not count as seeks', async () => {
  const t = big.torrent
  t.makeUnavailable(...Array.from({ length: t.metainfo.pieceCount }, (_, i) => i))
  const pl = t.metainfo.pieceLength
  const data = big.files.get('big.bin')!
  const r = new Reader(t, { readahead: 8 * MiB })
  const chunk = 128 * KiB
  t.makeAvailable(0, 1, 2, 3, 4, 5, 6, 7)
  for (let base = 0; base < 4 * MiB; base += 4 * chunk) {
    // Like the kernel: four reads in flight, issued in a shuffled order.
    const offsets = [base + 2 * chunk, base, base + 3 * chunk, base + chunk]
    const bufs = offsets.map(() => Buffer.alloc(chunk))
    const reads = offsets.map((o, i) => r.read(bufs[i], o))
    // Data arrives piece by piece as the swarm would deliver it.
    const firstPiece = Math.floor(base / pl)
    for (let p = firstPiece; p < firstPiece + (4 * chunk) / pl + 8 && p < t.metainfo.pieceCount; p++) t.makeAvailable(p)
    const got = await Promise.all(reads)
    offsets.forEach((o, i) => {
      assert.is(got[i], chunk)
      assert.ok(bufs[i].equals(data.subarray(o, o + chunk)), `bytes at ${o}`)
    })
  }
  assert.is(r.readaheadWindow, 4 * MiB, 'the window kept growing')
  assert.is(t.badReads, 0)
  r.close()
})

test('close rejects waiting reads and releases priorities; abort rejects one read', async () => {
  const t = big.torrent
  t.makeUnavailable(...Array.from({ length: t.metainfo.pieceCount }, (_, i) => i))
  const r = new Reader(t)
  const created = t.handlesCreated
  const ctl = new AbortController()
  const a = r.read(Buffer.alloc(100), 10 * t.metainfo.pieceLength, ctl.signal)
  const b = r.read(Buffer.alloc(100), 20 * t.metainfo.pieceLength)
  assert.is(t.handlesCreated, created + 1, 'one handle per Reader')
  assert.is(t.priority(10), Priority.now)
  assert.is(t.priority(20), Priority.now)
  ctl.abort(new Error('caller gave up'))
  await rejects(() => a, /caller gave up/)
  assert.is(t.priority(10) === Priority.now, false, 'an aborted read stops wishing for its piece')
  assert.is(await settled(b), 'pending')
  r.close()
  await rejects(() => b, ReaderClosedError)
  assert.is(t.wishes.size, 0)
  assert.is(t.handlesReleased, t.handlesCreated)
})

test('a waiting read fails when the torrent goes away', async () => {
  const f = await makeFixture(dir, 'gone', { 'gone': 100_000 }, 16 * KiB, { single: true })
  const r = new Reader(f.torrent)
  const p = r.read(Buffer.alloc(10), 50_000)
  assert.is(await settled(p), 'pending')
  f.torrent.destroy()
  await rejects(() => p, (err: unknown) => err instanceof BtError && /removed/.test(err.message))
  r.close()
})

test('createReadStream streams a byte range as pieces arrive, and destroy releases it', async () => {
  const t = big.torrent
  t.makeUnavailable(...Array.from({ length: t.metainfo.pieceCount }, (_, i) => i))
  const data = big.files.get('big.bin')!
  const start = 100_001
  const end = 3 * MiB + 17
  const s = createReadStream(t, { start, end })
  const chunks: Buffer[] = []
  s.on('data', (c: Buffer) => chunks.push(c))
  const done = new Promise((res, rej) => {
    s.on('end', res)
    s.on('error', rej)
  })
  // Deliver pieces in order, a few at a time, as a swarm would.
  let next = 0
  const timer = setInterval(() => {
    for (let k = 0; k < 4 && next < t.metainfo.pieceCount; k++) t.makeAvailable(next++)
  }, 2)
  await done
  clearInterval(timer)
  assert.is(md5(Buffer.concat(chunks)), md5(data.subarray(start, end)))
  assert.ok(chunks.every((c) => c.length <= 256 * KiB))
  assert.is(t.wishes.size, 0, 'the stream closed its Reader at the end')

  t.makeUnavailable(...Array.from({ length: t.metainfo.pieceCount }, (_, i) => i))
  const s2 = createReadStream(t, { start: 0 })
  s2.resume()
  await delay(20)
  assert.is(t.priority(0), Priority.now)
  s2.destroy()
  await delay(10)
  assert.is(t.wishes.size, 0)
  assert.is(t.badReads, 0)
})

test.run()
