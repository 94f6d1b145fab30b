// torrentfs (the command, in a child process) against a python3-libtorrent seeder on 127.0.0.1: cat | md5sum,
// random-offset reads, two readers at once, and only what is read (plus readahead) downloaded.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { makeTestTorrent, type TestTorrent } from '../helpers/swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { preadChild, delay, watchdog } from './helpers.js'
import { KiB, MiB, copyTorrent, md5Range, mountDirs, resumePieces, startTorrentfs, stopTorrentfs, withMount, assertPreads } from './swarm-cli.js'
import { catMd5, ddMd5 } from './helpers.js'

watchdog(58_000)

let multi: TestTorrent // multi/f0.bin (3 MiB + 1234), multi/sub/f1.bin (2 MiB + 77)
let single: TestTorrent // file.bin, 8 MiB
let ltMulti: LtHandle
let ltSingle: LtHandle

test.before(async () => {
  multi = await makeTestTorrent([3 * MiB + 1234, 2 * MiB + 77], { pieceLength: 64 * KiB, seed: 21 })
  single = await makeTestTorrent([8 * MiB], { pieceLength: 64 * KiB, seed: 22 })
  ;[ltMulti, ltSingle] = await Promise.all([
    startLibtorrent({ torrentPath: multi.torrentPath, saveDir: multi.seedDir, seed: true }),
    startLibtorrent({ torrentPath: single.torrentPath, saveDir: single.seedDir, seed: true }),
  ])
})

test.after(async () => {
  await Promise.allSettled([ltMulti?.stop(), ltSingle?.stop()])
})

test('random offsets, then two files read at once by two processes (cat | md5sum), cold', async () => {
  const dirs = mountDirs()
  copyTorrent(multi, dirs)
  const m = await startTorrentfs(dirs, ['--peer', `127.0.0.1:${ltMulti.port}`], ['multi'])
  await withMount(m, async () => {
    const src0 = join(multi.seedDir, 'multi/f0.bin')
    const ranges: Array<[number, number]> = [
      [2 * MiB + 5, 1000],
      [64 * KiB - 10, 20],
      [777_777, 200 * KiB],
      [3 * MiB + 1200, 4096],
    ]
    await assertPreads(join(m.mnt, 'multi/f0.bin'), src0, 3 * MiB + 1234, ranges)
    const src1 = join(multi.seedDir, 'multi/sub/f1.bin')
    assert.is(await ddMd5(join(m.mnt, 'multi/sub/f1.bin'), 4096, 300, 7), md5Range(src1, 300 * 4096, 7 * 4096))

    const [a, b] = await Promise.all([catMd5(join(m.mnt, 'multi/f0.bin')), catMd5(join(m.mnt, 'multi/sub/f1.bin'))])
    assert.is(a, multi.md5.get('multi/f0.bin'))
    assert.is(b, multi.md5.get('multi/sub/f1.bin'))
  })
})

test('only what is read, plus readahead, is downloaded (8 MiB file, first 256 KiB, --readahead 1M)', async () => {
  const dirs = mountDirs()
  copyTorrent(single, dirs)
  const m = await startTorrentfs(dirs, ['--peer', `127.0.0.1:${ltSingle.port}`, '--readahead', '1M'], ['file.bin'])
  let allocated = 0
  await withMount(m, async () => {
    const r = preadChild(join(m.mnt, 'file.bin'), [[0, 256 * KiB]])
    assert.is(await r.exited, 0, r.stderr())
    assert.equal(r.results(), [{ offset: 0, n: 256 * KiB, md5: md5Range(join(single.seedDir, 'file.bin'), 0, 256 * KiB) }])
    await delay(1500)
    allocated = statSync(join(dirs.data, 'file.bin')).blocks * 512
  })
  const { have } = resumePieces(dirs.xdg)
  if (process.env.TEST_VERBOSE) process.stderr.write(`read 256 KiB: ${have} pieces verified, ${allocated} bytes allocated\n`)
  assert.ok(have >= 4 && have <= 4 + 16 + 8, `verified pieces after unmount: ${have} of 128`)
  assert.ok(allocated >= 256 * KiB && allocated <= 2 * MiB, `allocated on disk: ${allocated} bytes of 8 MiB`)
  // And then the whole file, through a new mount that trusts the resume state for what is already there.
  const again = await startTorrentfs(dirs, ['--peer', `127.0.0.1:${ltSingle.port}`], ['file.bin'])
  await withMount(again, async () => {
    assert.is(await catMd5(join(again.mnt, 'file.bin')), single.md5.get('file.bin'))
  })
})

test.run()
