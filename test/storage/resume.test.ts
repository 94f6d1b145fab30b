// Resume state (save/load/remove, torn and corrupt files, changed files) and checkExisting, which decides at start
// what of an output directory can be trusted, re-hashed, or skipped without reading.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { pieceSize } from '../../src/metainfo/metainfo.js'
import { FileStorage } from '../../src/storage/file-storage.js'
import { verifyPieces, type VerifyOptions } from '../../src/storage/verify.js'
import { ResumeStore, stateDir } from '../../src/storage/resume.js'
import { checkExisting } from '../../src/storage/check.js'
import { ones } from '../helpers/assert.js'
import { tmpDir } from '../helpers/tmp.js'
import { buildTorrent, type FileSpec } from '../helpers/handmade-torrent.js'


// Piece length 16 KiB. a: pieces 0-2, pad to 49152, b: pieces 3-4 (b ends at 81920), c: 5-6, empty file.
const FILES: FileSpec[] = [
  { path: ['a.bin'], length: 40000 },
  { path: ['.pad', '9152'], length: 9152, pad: true },
  { path: ['b.bin'], length: 32768 },
  { path: ['empty'], length: 0 },
  { path: ['sub', 'c.bin'], length: 20000 },
]
const { m, payload } = buildTorrent(FILES, 16384)
const ALL = Array.from({ length: m.pieceCount }, (_, i) => i)

/** The real hash check, recording the pieces each call was asked to read into `checked`. */
function recordingVerify(checked: number[][]): typeof verifyPieces {
  return (s: FileStorage, opts: VerifyOptions = {}) => {
    const list = opts.pieces ? [...opts.pieces] : ALL
    checked.push(list)
    return verifyPieces(s, { ...opts, pieces: list })
  }
}

/** An output dir holding the complete torrent, written through FileStorage, and the pieces checkExisting reads via `verify`. */
async function complete(): Promise<{ dir: string; s: FileStorage; checked: number[][]; verify: typeof verifyPieces }> {
  const dir = tmpDir()
  const s = new FileStorage(m, dir)
  for (const i of ALL) await s.writePiece(i, payload.subarray(i * m.pieceLength, i * m.pieceLength + pieceSize(m, i)))
  const checked: number[][] = []
  return { dir, s, checked, verify: recordingVerify(checked) }
}

/** Flip a byte of `path` at `at`, keeping its size. */
function corrupt(path: string, at: number): void {
  const data = readFileSync(path)
  data[at] ^= 0x55
  writeFileSync(path, data)
}

test('stateDir follows XDG_DATA_HOME, else ~/.local/share/bt', () => {
  const saved = process.env.XDG_DATA_HOME
  try {
    process.env.XDG_DATA_HOME = '/x/data'
    assert.is(stateDir(), '/x/data/bt')
    process.env.XDG_DATA_HOME = 'relative/ignored'
    assert.is(stateDir(), join(homedir(), '.local', 'share', 'bt'))
    delete process.env.XDG_DATA_HOME
    assert.is(stateDir(), join(homedir(), '.local', 'share', 'bt'))
    assert.is(new ResumeStore().dir, join(homedir(), '.local', 'share', 'bt', 'resume'))
  } finally {
    if (saved === undefined) delete process.env.XDG_DATA_HOME
    else process.env.XDG_DATA_HOME = saved
  }
})

test('save and load round trip; other directory; remove; no temp files left', async () => {
  const { dir, s } = await complete()
  const store = new ResumeStore(join(tmpDir(), 'state', 'resume'))
  assert.is(await store.load(m, dir), undefined)
  const have = new Uint8Array(m.pieceCount)
  have[0] = have[3] = have[m.pieceCount - 1] = 1
  await store.save(m, dir, have)
  const state = await store.load(m, dir + '/') // same directory spelt differently
  assert.ok(state)
  assert.equal([...state!.have], [...have])
  assert.equal(state!.changedFiles, [])
  assert.is(await store.load(m, tmpDir()), undefined, 'saved for another directory')
  assert.equal(readdirSync(store.dir).filter((f) => !f.endsWith('.resume')), [])
  assert.equal(readdirSync(store.dir).length, 1)
  await store.save(m, dir, new Uint8Array(m.pieceCount).fill(1)) // overwrite
  assert.equal(ones((await store.load(m, dir))!.have), ALL)
  await store.remove(m, dir)
  assert.is(await store.load(m, dir), undefined)
  await store.remove(m, dir) // twice is fine
  await s.close()
})

test('load reports changed and missing files', async () => {
  const { dir, s } = await complete()
  const store = new ResumeStore(tmpDir())
  await store.save(m, dir, new Uint8Array(m.pieceCount).fill(1))
  const b = join(dir, 'tor', 'b.bin')
  utimesSync(b, new Date(), new Date(Date.now() + 5000))
  unlinkSync(join(dir, 'tor', 'sub', 'c.bin'))
  assert.equal((await store.load(m, dir))!.changedFiles, [2, 4])
  await s.close()
})

test('corrupt, truncated or foreign resume files are ignored, never trusted', async () => {
  const { dir, s } = await complete()
  const store = new ResumeStore(tmpDir())
  await store.save(m, dir, new Uint8Array(m.pieceCount).fill(1))
  const file = store.fileFor(m, dir)
  const good = readFileSync(file, 'utf8')
  const saved = JSON.parse(good)
  const bad = [
    '',
    good.slice(0, good.length >> 1), // torn write
    'garbage\0\xff',
    'null',
    '[]',
    JSON.stringify({ ...saved, have: 'AAAA' }), // wrong bitfield length
    JSON.stringify({ ...saved, pieceCount: saved.pieceCount + 1 }),
    JSON.stringify({ ...saved, infoHash: '0'.repeat(40) }),
    JSON.stringify({ ...saved, files: saved.files.slice(1) }),
    JSON.stringify({ ...saved, files: saved.files.map(() => ({ size: 'x' })) }),
    JSON.stringify({ ...saved, version: 99 }),
  ]
  for (const text of bad) {
    writeFileSync(file, text)
    assert.is(await store.load(m, dir), undefined, JSON.stringify(text.slice(0, 40)))
  }
  // checkExisting falls back to hashing everything, and finds the data good.
  writeFileSync(file, good.slice(0, 30))
  assert.equal(ones(await checkExisting(s, store)), ALL)
  // A temp file left by a process killed mid-save is not the resume file.
  unlinkSync(file)
  writeFileSync(file + '.123.abcd.tmp', good)
  assert.is(await store.load(m, dir), undefined)
  await s.close()
})

test('checkExisting: empty directory reads nothing', async () => {
  const dir = tmpDir()
  const s = new FileStorage(m, dir)
  const checked: number[][] = []
  const have = await checkExisting(s, new ResumeStore(tmpDir()), {}, recordingVerify(checked))
  assert.equal(ones(have), [])
  assert.equal(checked, [])
  await s.close()
})

test('checkExisting without resume state: data from another client is hashed; absent files are not read', async () => {
  const { dir: full, s: s0 } = await complete()
  await s0.close()
  const dir = tmpDir()
  cpSync(join(full, 'tor'), join(dir, 'tor'), { recursive: true })
  unlinkSync(join(dir, 'tor', 'sub', 'c.bin'))
  corrupt(join(dir, 'tor', 'a.bin'), 20000) // piece 1
  const s = new FileStorage(m, dir)
  const checked: number[][] = []
  const have = await checkExisting(s, new ResumeStore(tmpDir()), {}, recordingVerify(checked))
  assert.equal(ones(have), [0, 2, 3, 4])
  assert.equal(checked, [[0, 1, 2, 3, 4]], 'pieces of c.bin (5, 6) not read')
  await s.close()
})

test('checkExisting trusts resume state for untouched files, re-checks changed ones, force checks all', async () => {
  const { dir, s, checked, verify } = await complete()
  const store = new ResumeStore(tmpDir())
  const have = new Uint8Array(m.pieceCount).fill(1)
  have[6] = 0 // the session had not finished the last piece
  const b = join(dir, 'tor', 'b.bin')
  const stamp = new Date(1_700_000_000_000) // a whole second, so it can be put back exactly
  utimesSync(b, stamp, stamp)
  await store.save(m, dir, have)

  // Nothing changed: nothing is read, and the unfinished piece stays missing although its data is on disk.
  assert.equal(ones(await checkExisting(s, store, {}, verify)), [0, 1, 2, 3, 4, 5])
  assert.equal(checked, [])

  // Corrupt b.bin but put its mtime back: undetectable without force, by design (it is trusted).
  corrupt(b, 100) // piece 3
  utimesSync(b, stamp, stamp)
  assert.equal(ones(await checkExisting(s, store, {}, verify)), [0, 1, 2, 3, 4, 5])
  assert.equal(checked, [])

  // force: every piece with data is hashed, and the corruption is found.
  assert.equal(ones(await checkExisting(s, store, { force: true }, verify)), [0, 1, 2, 4, 5, 6])
  assert.equal(checked, [ALL])
  checked.length = 0

  // Modify c.bin with a new mtime: only its pieces are re-hashed, from scratch (the finished piece 6 is found too).
  const c = join(dir, 'tor', 'sub', 'c.bin')
  corrupt(c, 1) // piece 5 (c starts at 81920)
  utimesSync(c, new Date(), new Date(Date.now() + 10000))
  let progress: [number, number] | undefined
  const got = await checkExisting(s, store, { onProgress: (d, t) => (progress = [d, t]) }, verify)
  assert.equal(ones(got), [0, 1, 2, 3, 4, 6])
  assert.equal(checked, [[5, 6]])
  assert.equal(progress, [pieceSize(m, 5) + pieceSize(m, 6), pieceSize(m, 5) + pieceSize(m, 6)])
  checked.length = 0

  // A file deleted since the save: its pieces are lost without reading them.
  unlinkSync(c)
  assert.equal(ones(await checkExisting(s, store, {}, verify)), [0, 1, 2, 3, 4])
  assert.equal(checked, [])
  await s.close()
})

test('checkExisting: a piece spanning an unchanged and a changed file is re-checked', async () => {
  const spans = buildTorrent([{ path: ['x'], length: 20000 }, { path: ['y'], length: 20000 }], 16384, 3)
  const dir = tmpDir()
  const s = new FileStorage(spans.m, dir)
  for (let i = 0; i < spans.m.pieceCount; i++) {
    await s.writePiece(i, spans.payload.subarray(i * 16384, i * 16384 + pieceSize(spans.m, i)))
  }
  const store = new ResumeStore(tmpDir())
  await store.save(spans.m, dir, new Uint8Array(spans.m.pieceCount).fill(1))
  const y = join(dir, 'tor', 'y')
  corrupt(y, 0) // torrent byte 20000: piece 1, which also holds the end of x
  utimesSync(y, new Date(), new Date(Date.now() + 10000))
  assert.equal(ones(await checkExisting(s, store)), [0, 2])
  await s.close()
})

test('checkExisting after a save that raced a later write: the newer mtime forces a re-check', async () => {
  // The session saved `have` without piece 2, then wrote piece 2, then was killed before the next save.
  const dir = tmpDir()
  mkdirSync(join(dir, 'tor'))
  const s = new FileStorage(m, dir)
  const store = new ResumeStore(tmpDir())
  for (const i of [0, 1]) await s.writePiece(i, payload.subarray(i * 16384, (i + 1) * 16384))
  const have = new Uint8Array(m.pieceCount)
  have[0] = have[1] = 1
  await store.save(m, dir, have)
  const a = join(dir, 'tor', 'a.bin')
  const before = statSync(a).mtimeMs
  await new Promise((r) => setTimeout(r, 20))
  await s.writePiece(2, payload.subarray(2 * 16384, 3 * 16384))
  if (statSync(a).mtimeMs === before) utimesSync(a, new Date(), new Date(before + 1000)) // coarse clocks
  assert.equal(ones(await checkExisting(s, store)), [0, 1, 2])
  await s.close()
})

test.run()
