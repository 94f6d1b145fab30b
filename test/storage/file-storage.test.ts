// FileStorage: piece <-> file mapping (pieces spanning files, empty and pad files), selection, verify, errors,
// path confinement and the descriptor cache.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseTorrent, pieceSize, type Metainfo } from '../../src/metainfo/metainfo.js'
import { createTorrent } from '../../src/metainfo/create.js'
import { FileStorage } from '../../src/storage/file-storage.js'
import { verifyPieces } from '../../src/storage/verify.js'
import { BtError, ExitCode } from '../../src/errors.js'
import { ones, rejectsBtError } from '../helpers/assert.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { buildTorrent, type FileSpec } from '../helpers/handmade-torrent.js'


function piece(m: Metainfo, payload: Buffer, i: number): Buffer {
  return payload.subarray(i * m.pieceLength, i * m.pieceLength + pieceSize(m, i))
}

async function writeAll(s: FileStorage, m: Metainfo, payload: Buffer, order?: number[]): Promise<void> {
  for (const i of order ?? Array.from({ length: m.pieceCount }, (_, i) => i)) await s.writePiece(i, piece(m, payload, i))
}

// Pieces of 16 KiB over files of awkward sizes: a file inside one piece, pieces over three files, empty files first,
// in the middle and last.
const MIXED: FileSpec[] = [
  { path: ['empty-first'], length: 0 },
  { path: ['a.bin'], length: 40000 },
  { path: ['tiny'], length: 3 },
  { path: ['sub', 'empty-mid'], length: 0 },
  { path: ['sub', 'b.bin'], length: 5000 },
  { path: ['sub', 'deep', 'c.bin'], length: 70001 },
  { path: ['z-empty-last'], length: 0 },
]

test('round trip: files hold the payload, read and readAt give it back', async () => {
  const { m, payload } = buildTorrent(MIXED, 16384)
  const dir = tmpDir()
  const s = new FileStorage(m, dir)
  // Out of order, the last (short) piece first.
  const order = [m.pieceCount - 1, ...Array.from({ length: m.pieceCount - 1 }, (_, i) => (i * 5) % (m.pieceCount - 1))]
  assert.is(new Set(order).size, m.pieceCount)
  await writeAll(s, m, payload, order)
  m.files.forEach((f, i) => {
    const p = join(dir, ...f.path)
    assert.is(s.filePath(i), p)
    assert.ok(readFileSync(p).equals(payload.subarray(f.offset, f.offset + f.length)), f.path.join('/'))
  })
  // Blocks across file boundaries, within pieces.
  for (const [i, off, len] of [[0, 0, 16384], [2, 7000, 9000], [2, 7231, 12], [m.pieceCount - 1, 0, pieceSize(m, m.pieceCount - 1)], [3, 1, 1]]) {
    const got = await s.read(i, off, len)
    assert.ok(got.equals(payload.subarray(i * 16384 + off, i * 16384 + off + len)), `read ${i} ${off} ${len}`)
  }
  const buf = Buffer.alloc(30000)
  assert.is(await s.readAt(buf, 39000), 30000)
  assert.ok(buf.equals(payload.subarray(39000, 69000)))
  assert.is(await s.readAt(buf, m.length - 100), 100)
  assert.ok(buf.subarray(0, 100).equals(payload.subarray(m.length - 100)))
  assert.is(await s.readAt(buf, m.length), 0)
  await s.close()
})

test('single-file torrent made by createTorrent round trips', async () => {
  const src = tmpDir()
  const data = writeRandomFile(join(src, 'movie.mkv'), 200000, 3)
  const m = parseTorrent(await createTorrent(join(src, 'movie.mkv'), { pieceLength: 32768 }))
  const dir = tmpDir()
  const s = new FileStorage(m, dir)
  await writeAll(s, m, data)
  assert.ok(readFileSync(join(dir, 'movie.mkv')).equals(data))
  assert.equal(ones(await verifyPieces(s)).length, m.pieceCount)
  await s.close()
})

test('pad files are never written and read as zeros', async () => {
  const { m, payload } = buildTorrent(
    [
      { path: ['a'], length: 20000 },
      { path: ['.pad', '12768'], length: 12768, pad: true },
      { path: ['b'], length: 50000 },
      { path: ['.pad', '15536'], length: 15536, pad: true },
      { path: ['c'], length: 10 },
    ],
    32768,
  )
  assert.ok(m.files[1].padding)
  const dir = tmpDir()
  const s = new FileStorage(m, dir)
  await writeAll(s, m, payload)
  assert.not.ok(existsSync(join(dir, 'tor', '.pad')))
  assert.equal(readdirSync(join(dir, 'tor')).sort(), ['a', 'b', 'c'])
  assert.ok(readFileSync(join(dir, 'tor', 'b')).equals(payload.subarray(32768, 82768)))
  const block = await s.read(0, 19000, 13768)
  assert.ok(block.subarray(0, 1000).equals(payload.subarray(19000, 20000)))
  assert.ok(block.subarray(1000).equals(Buffer.alloc(12768)))
  assert.equal(ones(await verifyPieces(s)), [0, 1, 2, 3])
  await s.close()
})

test('selected files get their full size at creation; unselected ones only the bytes a piece puts there', async () => {
  // Piece 1 (16384..32767) spans the end of a.bin and the start of b.bin.
  const { m, payload } = buildTorrent([{ path: ['a.bin'], length: 20000 }, { path: ['b.bin'], length: 60000 }, { path: ['c.bin'], length: 30000 }], 16384)
  const dir = tmpDir()
  const s = new FileStorage(m, dir, { selected: [true, false, false] })
  const a = join(dir, 'tor', 'a.bin')
  const b = join(dir, 'tor', 'b.bin')
  const c = join(dir, 'tor', 'c.bin')
  await s.writePiece(0, piece(m, payload, 0))
  assert.is(statSync(a).size, 20000, 'sparse, full size')
  assert.ok(statSync(a).blocks * 512 < 20000 + 8192, 'not filled in')
  assert.not.ok(existsSync(b))
  await s.writePiece(1, piece(m, payload, 1))
  assert.ok(readFileSync(a).equals(payload.subarray(0, 20000)))
  assert.ok(readFileSync(b).equals(payload.subarray(20000, 32768)), 'only the bytes of piece 1')
  assert.not.ok(existsSync(c))
  // Selecting c later: its first write creates it at full size.
  s.setSelected([true, false, true])
  const last = m.pieceCount - 1
  await s.writePiece(last, piece(m, payload, last))
  assert.is(statSync(c).size, 30000)
  assert.ok(readFileSync(c).subarray(30000 - pieceSize(m, last)).equals(payload.subarray(m.length - pieceSize(m, last))))
  assert.is(statSync(b).size, 32768 - 20000)
  await s.close()
})

test('existing data survives opening (no truncation)', async () => {
  const { m, payload } = buildTorrent([{ path: ['a.bin'], length: 50000 }], 16384)
  const dir = tmpDir()
  mkdirSync(join(dir, 'tor'))
  writeFileSync(join(dir, 'tor', 'a.bin'), payload)
  const s = new FileStorage(m, dir)
  await s.writePiece(1, piece(m, payload, 1))
  assert.ok(readFileSync(join(dir, 'tor', 'a.bin')).equals(payload))
  await s.close()
})

test('verify: complete, partial, corrupted, missing, short; subsets; worker pool and main thread agree', async () => {
  const { m, payload } = buildTorrent(MIXED, 16384)
  for (const pool of [false, true]) {
    const dir = tmpDir()
    const s = new FileStorage(m, dir)
    const all = Array.from({ length: m.pieceCount }, (_, i) => i)
    assert.equal(ones(await verifyPieces(s, { pool })), [], 'nothing on disk')
    await writeAll(s, m, payload, [0, 3, 5])
    assert.equal(ones(await verifyPieces(s, { pool })), [0, 3, 5], 'partial')
    await writeAll(s, m, payload)
    let progress = 0
    const r = await verifyPieces(s, { pool, onProgress: (done, total) => { assert.is(total, m.length); progress = done } })
    assert.equal(ones(r), all)
    assert.is(progress, m.length)
    assert.equal(ones(await verifyPieces(s, { pool, pieces: [1, 2, 2, 99, -1] })), [1, 2], 'subset')
    // Corrupt one byte of c.bin at torrent offset 60000 (piece 3).
    const cPath = join(dir, 'tor', 'sub', 'deep', 'c.bin')
    const c = readFileSync(cPath)
    c[60000 - m.files[5].offset] ^= 0xff
    writeFileSync(cPath, c)
    assert.equal(ones(await verifyPieces(s, { pool })), all.filter((i) => i !== 3), 'corrupted')
    // b.bin (40003..45002) missing: pieces 2 only.
    unlinkSync(join(dir, 'tor', 'sub', 'b.bin'))
    assert.equal(ones(await verifyPieces(s, { pool })), all.filter((i) => i !== 3 && i !== 2), 'missing')
    // c.bin cut short at torrent offset 100000: pieces 6 (98304..114687) onwards go.
    truncateSync(cPath, 100000 - m.files[5].offset)
    assert.equal(ones(await verifyPieces(s, { pool })), [0, 1, 4, 5], 'short')
    await s.close()
  }
})

test('verify: many pieces over many files in the pool, with a missing file and a tiny piece length', async () => {
  const files: FileSpec[] = []
  for (let i = 0; i < 40; i++) files.push({ path: [`f${String(i).padStart(2, '0')}`], length: 1000 + i * 997 })
  const { m, payload } = buildTorrent(files, 16384, 9)
  const dir = tmpDir()
  const s = new FileStorage(m, dir, { maxOpenFiles: 4 })
  await writeAll(s, m, payload)
  unlinkSync(join(dir, 'tor', 'f20'))
  const f = m.files[20]
  const bad = new Set<number>()
  for (let p = Math.floor(f.offset / 16384); p <= Math.floor((f.offset + f.length - 1) / 16384); p++) bad.add(p)
  const expect = Array.from({ length: m.pieceCount }, (_, i) => i).filter((i) => !bad.has(i))
  assert.equal(ones(await verifyPieces(s, { pool: true })), expect)
  assert.equal(ones(await verifyPieces(s, { pool: false })), expect)
  assert.ok(s.openFiles <= 4)
  await s.close()
})

test('verify: pieces larger than the workers\' read buffer, corrupted and cut short', async () => {
  const MiB = 1024 * 1024
  const { m, payload } = buildTorrent([{ path: ['big'], length: 5 * MiB + 777 }, { path: ['small'], length: 1000 }], 2 * MiB, 13)
  const dir = tmpDir()
  const s = new FileStorage(m, dir)
  await writeAll(s, m, payload)
  assert.equal(ones(await verifyPieces(s, { pool: true })), [0, 1, 2])
  const big = join(dir, 'tor', 'big')
  const data = readFileSync(big)
  data[3 * MiB + 12345] ^= 1 // piece 1, past the first MiB of it
  writeFileSync(big, data)
  assert.equal(ones(await verifyPieces(s, { pool: true })), [0, 2])
  assert.equal(ones(await verifyPieces(s, { pool: false })), [0, 2])
  truncateSync(big, 4 * MiB + 1) // piece 2 loses its data past one byte
  assert.equal(ones(await verifyPieces(s, { pool: true })), [0])
  assert.equal(ones(await verifyPieces(s, { pool: false })), [0])
  await s.close()
})

test('verify: aborting rejects with an interrupted error', async () => {
  const { m, payload } = buildTorrent([{ path: ['a'], length: 300000 }], 16384)
  const s = new FileStorage(m, tmpDir())
  await writeAll(s, m, payload)
  const ac = new AbortController()
  ac.abort()
  await rejectsBtError(verifyPieces(s, { signal: ac.signal }), /interrupted/, ExitCode.interrupted)
  await s.close()
})

test('read errors: missing and short files name the path', async () => {
  const { m, payload } = buildTorrent([{ path: ['a.bin'], length: 30000 }, { path: ['b.bin'], length: 30000 }], 16384)
  const dir = tmpDir()
  const s = new FileStorage(m, dir)
  await s.writePiece(0, piece(m, payload, 0))
  await rejectsBtError(s.read(3, 0, 100), /b\.bin: file is missing$/, ExitCode.io)
  await s.writePiece(1, piece(m, payload, 1))
  truncateSync(join(dir, 'tor', 'a.bin'), 20000)
  await rejectsBtError(s.read(1, 0, 16384), /a\.bin: file is shorter than the torrent says/, ExitCode.io)
  await rejectsBtError(s.readAt(Buffer.alloc(10), 25000), /a\.bin: file is shorter/, ExitCode.io)
  await s.close()
})

test('write errors: a full disk and a file in the way surface as one-line I/O errors with the path', async () => {
  const { m, payload } = buildTorrent([{ path: ['full.bin'], length: 20000 }, { path: ['d', 'x.bin'], length: 20000 }], 16384)
  const dir = tmpDir()
  mkdirSync(join(dir, 'tor'))
  symlinkSync('/dev/full', join(dir, 'tor', 'full.bin')) // every write: ENOSPC
  writeFileSync(join(dir, 'tor', 'd'), 'a file where a directory belongs')
  const s = new FileStorage(m, dir)
  await rejectsBtError(s.writePiece(0, piece(m, payload, 0)), /tor\/full\.bin: no space left on device$/, ExitCode.io)
  await rejectsBtError(s.writePiece(2, piece(m, payload, 2)), /tor\/d\/x\.bin: /, ExitCode.io)
  await s.close()
  try {
    await s.read(0, 0, 1)
    assert.unreachable('closed storage read')
  } catch (err) {
    assert.match((err as Error).message, /closed/)
  }
})

test('bad arguments are refused', async () => {
  const { m, payload } = buildTorrent([{ path: ['a.bin'], length: 30000 }], 16384)
  const s = new FileStorage(m, tmpDir())
  try {
    await s.writePiece(0, payload.subarray(0, 100))
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RangeError)
  }
  try {
    await s.read(1, 10000, 10000)
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RangeError)
  }
  await s.close()
})

test('confinement: hand-built metainfo with .. or slashes is refused before touching the disk', () => {
  const { m } = buildTorrent([{ path: ['a.bin'], length: 100 }], 16384)
  const dir = tmpDir()
  for (const path of [['..', 'evil'], ['tor', '..', '..', 'evil'], ['tor', 'a/../../b'], ['tor', ''], ['.'], ['tor', '\\..\\x']]) {
    const hostile: Metainfo = { ...m, files: [{ ...m.files[0], path }] }
    try {
      new FileStorage(hostile, join(dir, 'out'))
      assert.unreachable(`accepted ${JSON.stringify(path)}`)
    } catch (err) {
      assert.instance(err, BtError, String(err))
      assert.match((err as Error).message, /unsafe path|outside/)
    }
  }
  assert.not.ok(existsSync(join(dir, 'evil')))
  assert.equal(readdirSync(dir), [])
})

test('descriptor cache: more files than the cap, all data right, descriptors released on close', async () => {
  const files: FileSpec[] = Array.from({ length: 300 }, (_, i) => ({ path: ['d' + (i % 7), `f${i}`], length: 500 + ((i * 131) % 1500) }))
  const { m, payload } = buildTorrent(files, 16384, 11)
  const dir = tmpDir()
  const fdsBefore = readdirSync('/proc/self/fd').length
  const s = new FileStorage(m, dir, { maxOpenFiles: 16 })
  // Concurrent writes and reads, to exercise eviction while descriptors are in use.
  await Promise.all(Array.from({ length: m.pieceCount }, (_, i) => s.writePiece(i, piece(m, payload, i))))
  assert.ok(s.openFiles <= 16, `open ${s.openFiles}`)
  assert.ok(readdirSync('/proc/self/fd').length - fdsBefore <= 16 + 4)
  const blocks = await Promise.all(Array.from({ length: m.pieceCount }, (_, i) => s.read(i, 0, pieceSize(m, i))))
  assert.ok(Buffer.concat(blocks).equals(payload))
  m.files.forEach((f) => assert.ok(readFileSync(join(dir, ...f.path)).equals(payload.subarray(f.offset, f.offset + f.length))))
  assert.is(ones(await verifyPieces(s, { pool: true })).length, m.pieceCount)
  assert.ok(s.openFiles <= 16)
  await s.close()
  assert.is(s.openFiles, 0)
  // Descriptors closed (allow a little slack for the runtime's own).
  assert.ok(readdirSync('/proc/self/fd').length <= fdsBefore + 2, `fds ${readdirSync('/proc/self/fd').length} vs ${fdsBefore}`)
})

test.run()
