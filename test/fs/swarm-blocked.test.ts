// torrentfs (the command, in a child process): a read of a piece no peer has waits, and completes with the right
// bytes once a seeder appears, whether torrentfs re-dials a --peer that was not listening yet (back-off: 10 s,
// 20 s, …) or the seeder dials torrentfs's --port itself.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, openSync, writeSync, closeSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { preadChild, delay, within, watchdog } from './helpers.js'
import { KiB, MiB, copyTorrent, freePort, md5Range, mountDirs, startTorrentfs, stopTorrentfs } from './swarm-cli.js'

watchdog(58_000)

let tt: TestTorrent // file.bin, 4 MiB, 64 KiB pieces
let src: string
const lts: LtHandle[] = []
const log = (line: string) => { if (process.env.TEST_VERBOSE) process.stderr.write(line + '\n') }

test.before(async () => {
  tt = await makeTestTorrent([4 * MiB], { pieceLength: 64 * KiB, seed: 31 })
  src = join(tt.seedDir, 'file.bin')
})

test.after(async () => {
  await stopAll()
  await Promise.allSettled(lts.map((l) => l.stop()))
})

/** Start a pread that must still be waiting after `ms`. */
async function blockedRead(file: string, offset: number, length: number, ms = 1500) {
  const r = preadChild(file, [[offset, length]])
  await delay(ms)
  assert.is(r.results().length, 0, `a read of a piece nobody has returned: ${r.stdout()}`)
  assert.is(r.proc.exitCode, null)
  return r
}

test('a --peer that is not listening yet: the read completes once a bt seeder starts on that port', async () => {
  const port = await freePort()
  const dirs = mountDirs()
  copyTorrent(tt, dirs)
  const m = await startTorrentfs(dirs, ['--peer', `127.0.0.1:${port}`], ['file.bin'])
  const mountedAt = Date.now()
  try {
    const r = await blockedRead(join(m.mnt, 'file.bin'), 3 * MiB + 100, 200 * KiB)
    const seededAt = Date.now()
    await seedWith(tt, {}, { port })
    await within(r.exited, 30_000, 'the blocked read after the seeder started')
    log(`re-dial: read done ${Date.now() - seededAt} ms after the seeder started, ${Date.now() - mountedAt} ms after mount`)
    assert.equal(r.results(), [{ offset: 3 * MiB + 100, n: 200 * KiB, md5: md5Range(src, 3 * MiB + 100, 200 * KiB) }])
  } finally {
    await stopTorrentfs(m)
  }
})

test('a partial seeder, and a libtorrent seeder that dials torrentfs later: the waiting read completes at once', async () => {
  // Same torrent with its second half zeroed: its check finds only the first half.
  const halfDir = join(tmpDir('bt-swarmfs-half-'), 'seed')
  mkdirSync(halfDir)
  copyFileSync(src, join(halfDir, 'file.bin'))
  const fd = openSync(join(halfDir, 'file.bin'), 'r+')
  writeSync(fd, Buffer.alloc(2 * MiB), 0, 2 * MiB, 2 * MiB)
  closeSync(fd)
  const half = await seedWith({ ...tt, seedDir: halfDir }, { stream: true })
  const listenPort = await freePort()
  const dirs = mountDirs()
  copyTorrent(tt, dirs)
  const m = await startTorrentfs(dirs, ['--peer', half.addr, '--port', String(listenPort)], ['file.bin'])
  try {
    const file = join(m.mnt, 'file.bin')
    const ok = preadChild(file, [[MiB - 7, 64 * KiB]])
    assert.is(await ok.exited, 0, ok.stderr())
    assert.equal(ok.results(), [{ offset: MiB - 7, n: 64 * KiB, md5: md5Range(src, MiB - 7, 64 * KiB) }])
    const r = await blockedRead(file, 2 * MiB + 64 * KiB - 3, 130 * KiB)
    const startedAt = Date.now()
    lts.push(await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, peers: [`127.0.0.1:${listenPort}`] }))
    await within(r.exited, 15_000, 'the blocked read after libtorrent connected')
    const took = Date.now() - startedAt
    log(`incoming seeder: read done ${took} ms after libtorrent started`)
    assert.equal(r.results(), [{ offset: 2 * MiB + 64 * KiB - 3, n: 130 * KiB, md5: md5Range(src, 2 * MiB + 64 * KiB - 3, 130 * KiB) }])
    assert.ok(took < 8000, `the read took ${took} ms after the seeder connected`)
  } finally {
    await stopTorrentfs(m)
  }
})

test.run()
