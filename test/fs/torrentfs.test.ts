// torrentfs mounted in this process over scripted torrents, read by child processes (cat, pread): bytes, layout,
// read-only behaviour, blocking on missing pieces, one Reader per open file, EIO on removal and on unmount.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync } from 'node:fs'
import { mkdir, readdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { makeFixture, md5, type Fixture } from '../stream/scripted-torrent.js'
import { TorrentFS } from '../../src/fs/torrentfs.js'
import { Priority } from '../../src/session/priority.js'
import { cleanupMount, delay, isMounted, preadChild, runChild, waitFor, watchdog, catMd5 } from './helpers.js'

watchdog()

const KiB = 1024
const MiB = 1024 * 1024
const dir = tmpDir('bt-torrentfs-')
const mnt = join(dir, 'mnt')
let album: Fixture
let movie: Fixture
let fs: TorrentFS
const created = new Date('2024-05-06T07:08:09Z')

function allUnavailable(f: Fixture): void {
  f.torrent.makeUnavailable(...Array.from({ length: f.torrent.metainfo.pieceCount }, (_, i) => i))
}

test.before(async () => {
  mkdirSync(mnt)
  album = await makeFixture(dir, 'album', { 'one.bin': 3 * MiB + 5, 'sub/two.bin': MiB + 777, 'sub/deep/three.txt': 100, empty: 0 }, 64 * KiB, { creationDate: created })
  movie = await makeFixture(dir, 'movie.bin', { 'movie.bin': 6 * MiB }, 256 * KiB, { single: true, creationDate: created })
  album.torrent.makeAllAvailable()
  movie.torrent.makeAllAvailable()
  fs = new TorrentFS(mnt, { readahead: 16 * MiB })
  cleanupMount(mnt)
  await fs.mount()
  fs.add(album.torrent)
  fs.add(movie.torrent)
})

test.after(async () => {
  await fs.unmount().catch(() => {})
})

test('one directory per torrent (the file itself for a single-file torrent), sizes, modes, mtime', async () => {
  assert.equal((await readdir(mnt)).sort(), ['album', 'movie.bin'])
  assert.equal((await readdir(join(mnt, 'album'))).sort(), ['empty', 'one.bin', 'sub'])
  assert.equal((await readdir(join(mnt, 'album/sub'))).sort(), ['deep', 'two.bin'])
  const d = await stat(join(mnt, 'album/sub'))
  assert.ok(d.isDirectory())
  assert.is(d.mode & 0o7777, 0o555)
  const f = await stat(join(mnt, 'album/sub/deep/three.txt'))
  assert.ok(f.isFile())
  assert.is(f.mode & 0o7777, 0o444)
  assert.is(f.size, 100)
  assert.is(f.mtime.getTime(), created.getTime())
  assert.is((await stat(join(mnt, 'movie.bin'))).size, 6 * MiB)
  assert.is((await stat(join(mnt, 'album/empty'))).size, 0)
  await stat(join(mnt, 'album/nope')).then(() => assert.unreachable('stat of a missing file'), (err) => assert.is(err.code, 'ENOENT'))
})

test('writes fail: EROFS', async () => {
  const expectCode = async (p: Promise<unknown>, codes: string[]) => {
    await p.then(() => assert.unreachable('a write succeeded'), (err) => assert.ok(codes.includes(err.code), `got ${err.code}`))
  }
  await expectCode(writeFile(join(mnt, 'album/one.bin'), 'x'), ['EROFS', 'EACCES'])
  await expectCode(writeFile(join(mnt, 'album/new.txt'), 'x'), ['EROFS', 'EACCES'])
  await expectCode(mkdir(join(mnt, 'album/newdir')), ['EROFS', 'EACCES'])
  await expectCode(unlink(join(mnt, 'album/one.bin')), ['EROFS', 'EACCES'])
  await expectCode(rmdir(join(mnt, 'album/sub/deep')), ['EROFS', 'EACCES', 'ENOTEMPTY'])
  assert.is((await stat(join(mnt, 'album/one.bin'))).size, 3 * MiB + 5)
})

test('cat of whole files equals the source bytes, with one Reader per open file', async () => {
  for (const rel of ['one.bin', 'sub/two.bin', 'sub/deep/three.txt', 'empty']) {
    const handles = album.torrent.handlesCreated
    assert.is(await catMd5(join(mnt, 'album', rel)), md5(album.files.get(rel)!), rel)
    assert.ok(album.torrent.handlesCreated - handles <= 1, `${rel}: ${album.torrent.handlesCreated - handles} priority handles for one open`)
  }
  assert.is(await catMd5(join(mnt, 'movie.bin')), md5(movie.files.get('movie.bin')!))
  await waitFor('readers released', () => album.torrent.wishes.size === 0 && movie.torrent.wishes.size === 0)
  assert.is(album.torrent.badReads + movie.torrent.badReads, 0)
})

test('reads at random offsets (pread) return the right bytes', async () => {
  const data = album.files.get('one.bin')!
  let seed = 12345
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const ranges: Array<[number, number]> = []
  for (let i = 0; i < 60; i++) ranges.push([rnd(data.length + 1000), 1 + rnd(300 * KiB)])
  ranges.push([data.length - 10, 100], [0, 1], [data.length, 10])
  const c = preadChild(join(mnt, 'album/one.bin'), ranges)
  assert.is(await c.exited, 0, c.stderr())
  const results = c.results()
  assert.is(results.length, ranges.length)
  ranges.forEach(([o, l], i) => {
    const want = data.subarray(Math.min(o, data.length), Math.min(o + l, data.length))
    assert.is(results[i].n, want.length, `length at ${o}`)
    assert.is(results[i].md5, md5(want), `bytes at ${o}`)
  })
})

test('a file complete at open is read straight from its descriptor; one with a missing piece waits through its Reader', async () => {
  const t = album.torrent
  await waitFor('earlier files to be released', () => t.leasesHeld === 0 && t.wishes.size === 0)
  const [reads, handles, leases] = [t.readAtCalls, t.handlesCreated, t.leasesOpened]
  assert.is(await catMd5(join(mnt, 'album/one.bin')), md5(album.files.get('one.bin')!))
  assert.is(t.leasesOpened - leases, 1, 'one descriptor for the open')
  assert.is(t.readAtCalls - reads, 0, 'no read went through readAt')
  assert.is(t.handlesCreated - handles, 0, 'no priority handle for a complete file')
  await waitFor('the descriptor to be released', () => t.leasesHeld === 0)

  // two.bin starts at 3 MiB + 5 with 64 KiB pieces: its bytes at 1000 are in piece 48, bytes that ARE on disk.
  const data = album.files.get('sub/two.bin')!
  const piece = Math.floor((3 * MiB + 5 + 1000) / (64 * KiB))
  t.makeUnavailable(piece)
  const c = preadChild(join(mnt, 'album/sub/two.bin'), [[1000, 4096]])
  await waitFor('the read to wait for the piece', () => t.priority(piece) === Priority.now)
  assert.is(t.leasesOpened - leases, 1, 'no descriptor for an incomplete file')
  await delay(100)
  assert.equal(c.results(), [], 'answered before the piece was verified')
  t.makeAvailable(piece)
  assert.is(await c.exited, 0)
  assert.is(c.results()[0].md5, md5(data.subarray(1000, 5096)))
  assert.is(t.badReads, 0)
})

test('two processes read different files at once', async () => {
  const [a, b] = await Promise.all([catMd5(join(mnt, 'album/one.bin')), catMd5(join(mnt, 'movie.bin'))])
  assert.is(a, md5(album.files.get('one.bin')!))
  assert.is(b, md5(movie.files.get('movie.bin')!))
})

test('a read of a missing piece blocks until it arrives; sequential reads grew the readahead window', async () => {
  const t = movie.torrent
  const pl = t.metainfo.pieceLength // 256 KiB
  allUnavailable(movie)
  t.makeAvailable(0, 1, 2, 3, 4, 5, 6, 7)
  const handles = t.handlesCreated
  const cat = runChild('sh', ['-c', `cat "$1" | md5sum`, 'sh', join(mnt, 'movie.bin')])
  await waitFor('cat to block on piece 8', () => t.priority(8) === Priority.now)
  await delay(300)
  let finished = false
  void cat.then(() => (finished = true))
  await delay(10)
  assert.is(finished, false, 'cat finished without piece 8')
  assert.is(t.handlesCreated - handles, 1, 'one Reader for the whole cat')
  // 2 MiB read contiguously: the window covers several pieces past the one being waited for.
  const ahead = t.piecesAt(Priority.readahead)
  assert.ok(ahead.length >= 4, `readahead covers ${ahead.length} pieces: ${ahead}`)
  assert.ok(ahead.every((p) => p > 8 && p * pl < 6 * MiB))
  t.makeAllAvailable()
  const r = await cat
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout.split(' ')[0], md5(movie.files.get('movie.bin')!))
  assert.is(t.badReads, 0)
})

test('a blocked read resumes after a seek elsewhere is served (pread in two places)', async () => {
  const t = movie.torrent
  const pl = t.metainfo.pieceLength
  const data = movie.files.get('movie.bin')!
  allUnavailable(movie)
  t.makeAvailable(3)
  // The first range is on disk and answers at once; the second waits for piece 20.
  const c = preadChild(join(mnt, 'movie.bin'), [[3 * pl + 10, 1000], [20 * pl + 5, 70_000]])
  await waitFor('the read of piece 20 to wait', () => t.priority(20) === Priority.now)
  assert.is(c.results().length, 1)
  assert.is(c.results()[0].md5, md5(data.subarray(3 * pl + 10, 3 * pl + 1010)))
  t.makeAvailable(20)
  assert.is(await c.exited, 0)
  assert.is(c.results()[1].md5, md5(data.subarray(20 * pl + 5, 20 * pl + 70_005)))
})

test('removing a torrent ends its blocked reads with EIO and hides it', async () => {
  const t = movie.torrent
  allUnavailable(movie)
  // The previous test waited on piece 20 too: its wish goes when its file is released, which can lag under load, and
  // a stale wish would pass the wait below before this read has even opened the file.
  await waitFor('the previous reads to be released', () => t.wishes.size === 0)
  const c = preadChild(join(mnt, 'movie.bin'), [[5 * MiB, 4096]])
  await waitFor('the read to wait', () => t.priority(20) === Priority.now)
  fs.remove(t)
  assert.is(await c.exited, 0)
  assert.equal(c.results(), [{ offset: 5 * MiB, error: 'EIO' }])
  assert.equal(await readdir(mnt), ['album'])
  await waitFor('priorities released', () => t.wishes.size === 0)
  fs.add(t)
  assert.equal((await readdir(mnt)).sort(), ['album', 'movie.bin'])
})

test('a blocked read ends with EIO on unmount, and the mount goes away', async () => {
  const t = movie.torrent
  allUnavailable(movie)
  await waitFor('the previous reads to be released', () => t.wishes.size === 0)
  const c = preadChild(join(mnt, 'movie.bin'), [[4 * MiB + 3, 10_000]])
  await waitFor('the read to wait', () => t.priority(16) === Priority.now)
  await fs.unmount()
  assert.is(await c.exited, 0)
  assert.equal(c.results(), [{ offset: 4 * MiB + 3, error: 'EIO' }])
  await waitFor('the mount to go', () => !isMounted(mnt))
  assert.is(t.wishes.size, 0)
})

test.run()
