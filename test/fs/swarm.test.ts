// torrentfs (the command, in a child process) against a real bt seeder on 127.0.0.1: whole-file and random-offset
// reads return the source bytes, two readers at once, only what is read (plus readahead) is downloaded, and
// SIGTERM / kill -9 with a read waiting on a piece no peer has.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, openSync, writeSync, closeSync, copyFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { isMounted, preadChild, delay, within, watchdog } from './helpers.js'
import { KiB, MiB, copyTorrent, md5Range, mountDirs, resumePieces, startTorrentfs, stopTorrentfs, withMount, assertPreads } from './swarm-cli.js'
import { catMd5, ddMd5 } from './helpers.js'

watchdog(58_000)

let multi: TestTorrent // multi/f0.bin (3 MiB + 1234), multi/sub/f1.bin (2 MiB + 77)
let single: TestTorrent // file.bin, 8 MiB
let multiAddr: string
let singleAddr: string
let halfAddr: string // a seeder of file.bin holding only its first half

test.before(async () => {
  multi = await makeTestTorrent([3 * MiB + 1234, 2 * MiB + 77], { pieceLength: 64 * KiB, seed: 7 })
  single = await makeTestTorrent([8 * MiB], { pieceLength: 64 * KiB, seed: 11 })
  multiAddr = (await seedWith(multi)).addr
  singleAddr = (await seedWith(single)).addr
  // Same torrent, second half zeroed: the check finds only the first 64 pieces, and stream+seed serves just those.
  const halfDir = join(tmpDir('bt-swarmfs-half-'), 'seed')
  mkdirSync(halfDir)
  copyFileSync(join(single.seedDir, 'file.bin'), join(halfDir, 'file.bin'))
  const fd = openSync(join(halfDir, 'file.bin'), 'r+')
  writeSync(fd, Buffer.alloc(4 * MiB), 0, 4 * MiB, 4 * MiB)
  closeSync(fd)
  halfAddr = (await seedWith({ ...single, seedDir: halfDir }, { stream: true })).addr
})

test.after(async () => {
  await stopAll()
})

test('random offsets (pread, dd skip/count) return the source bytes, cold', async () => {
  const dirs = mountDirs()
  copyTorrent(multi, dirs)
  const m = await startTorrentfs(dirs, ['--peer', multiAddr], ['multi'])
  await withMount(m, async () => {
    const src0 = join(multi.seedDir, 'multi/f0.bin')
    const f0 = join(m.mnt, 'multi/f0.bin')
    // Inside a piece, across piece boundaries, the last bytes of the file, and a read past its end.
    const ranges: Array<[number, number]> = [
      [2 * MiB + 5, 1000],
      [64 * KiB - 10, 20],
      [777_777, 200 * KiB],
      [3 * MiB + 1000, 234],
      [3 * MiB + 1200, 4096],
      [12_345, 1],
    ]
    await assertPreads(f0, src0, 3 * MiB + 1234, ranges)
    // dd on the second file (it starts mid-piece: 3 MiB + 1234 is not a multiple of 64 KiB).
    const src1 = join(multi.seedDir, 'multi/sub/f1.bin')
    assert.is(await ddMd5(join(m.mnt, 'multi/sub/f1.bin'), 4096, 300, 7), md5Range(src1, 300 * 4096, 7 * 4096))
    assert.is(await ddMd5(join(m.mnt, 'multi/sub/f1.bin'), 100_000, 20, 3), md5Range(src1, 2_000_000, 2 * MiB + 77 - 2_000_000))
  })
})

test('cat | md5sum of two files read at once by two processes, cold', async () => {
  const dirs = mountDirs()
  copyTorrent(multi, dirs)
  const m = await startTorrentfs(dirs, ['--peer', multiAddr], ['multi'])
  await withMount(m, async () => {
    const [a, b] = await Promise.all([catMd5(join(m.mnt, 'multi/f0.bin')), catMd5(join(m.mnt, 'multi/sub/f1.bin'))])
    assert.is(a, multi.md5.get('multi/f0.bin'))
    assert.is(b, multi.md5.get('multi/sub/f1.bin'))
    // Now complete on disk: served again without the network.
    assert.is(await catMd5(join(m.mnt, 'multi/f0.bin')), multi.md5.get('multi/f0.bin'))
  })
})

test('a .magnet file: metadata from the --peer, then reads', async () => {
  const dirs = mountDirs()
  writeFileSync(join(dirs.torrents, 'm.magnet'), `magnet:?xt=urn:btih:${multi.metainfo.infoHash}&dn=multi\n`)
  const m = await startTorrentfs(dirs, ['--peer', multiAddr], ['multi'])
  await withMount(m, async () => {
    assert.is(statSync(join(m.mnt, 'multi/sub/f1.bin')).size, 2 * MiB + 77)
    assert.is(await catMd5(join(m.mnt, 'multi/sub/f1.bin')), multi.md5.get('multi/sub/f1.bin'))
  })
})

test('only what is read, plus readahead, is downloaded (8 MiB file, first 256 KiB, --readahead 1M)', async () => {
  const dirs = mountDirs()
  copyTorrent(single, dirs)
  const m = await startTorrentfs(dirs, ['--peer', singleAddr, '--readahead', '1M'], ['file.bin'])
  let allocated = 0
  await withMount(m, async () => {
    const r = preadChild(join(m.mnt, 'file.bin'), [[0, 256 * KiB]])
    assert.is(await r.exited, 0, r.stderr())
    assert.equal(r.results(), [{ offset: 0, n: 256 * KiB, md5: md5Range(join(single.seedDir, 'file.bin'), 0, 256 * KiB) }])
    await delay(1500) // let the readahead that is coming arrive
    allocated = statSync(join(dirs.data, 'file.bin')).blocks * 512
  })
  const { have, pieceCount } = resumePieces(dirs.xdg)
  assert.is(pieceCount, 128)
  if (process.env.TEST_VERBOSE) process.stderr.write(`read 256 KiB: ${have} pieces verified, ${allocated} bytes allocated\n`)
  // 4 pieces read; readahead of at most 1 MiB (16 pieces); the kernel's own readahead adds a little.
  assert.ok(have >= 4 && have <= 4 + 16 + 8, `verified pieces after unmount: ${have} of 128`)
  assert.ok(allocated >= 256 * KiB && allocated <= 2 * MiB, `allocated on disk: ${allocated} bytes of 8 MiB`)
})

test('SIGTERM while a read waits for a piece no peer has: the read fails, torrentfs unmounts and exits 0', async () => {
  const dirs = mountDirs()
  copyTorrent(single, dirs)
  const m = await startTorrentfs(dirs, ['--peer', halfAddr], ['file.bin'])
  const file = join(m.mnt, 'file.bin')
  const src = join(single.seedDir, 'file.bin')
  // The first half is there: proves the connection works.
  const ok = preadChild(file, [[MiB, 100 * KiB]])
  assert.is(await ok.exited, 0, ok.stderr())
  assert.equal(ok.results(), [{ offset: MiB, n: 100 * KiB, md5: md5Range(src, MiB, 100 * KiB) }])
  const blocked = preadChild(file, [[6 * MiB, 10]])
  await delay(1500)
  assert.is(blocked.results().length, 0, `a read of a piece nobody has returned: ${blocked.stdout()}`)
  assert.is(blocked.proc.exitCode, null)
  await stopTorrentfs(m)
  assert.is(await blocked.exited, 0, blocked.stderr())
  const res = blocked.results()
  assert.is(res.length, 1)
  assert.ok(res[0].error !== undefined, `the waiting read should fail, got ${JSON.stringify(res[0])}`)
  assert.ok(statSync(m.mnt).isDirectory())
})

test('kill -9: a new torrentfs on the same mount point starts and serves reads', async () => {
  const dirs = mountDirs()
  copyTorrent(single, dirs)
  const first = await startTorrentfs(dirs, ['--peer', singleAddr], ['file.bin'])
  const src = join(single.seedDir, 'file.bin')
  assert.is(await ddMd5(join(first.mnt, 'file.bin'), 64 * KiB, 3, 5), md5Range(src, 3 * 64 * KiB, 5 * 64 * KiB))
  process.kill(first.child.proc.pid!, 'SIGKILL')
  await within(first.child.exited, 5000, 'the killed torrentfs')
  const second = await startTorrentfs(dirs, ['--peer', singleAddr], ['file.bin'])
  await withMount(second, async () => {
    assert.ok(isMounted(second.mnt))
    assert.is(await catMd5(join(second.mnt, 'file.bin')), single.md5.get('file.bin'))
  })
})

test.run()
