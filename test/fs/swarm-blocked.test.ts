// torrentfs (the command, in a child process): a read of a piece no peer has waits, and completes with the right
// bytes once a seeder appears, whether torrentfs re-dials a --peer that was not listening yet (back-off: 10 s,
// 20 s, …), the seeder dials torrentfs's --port itself, or the seeder goes away and comes back; many reads waiting at
// once on one open file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, openSync, writeSync, closeSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { preadChild, delay, start, within, watchdog } from './helpers.js'
import { KiB, MiB, copyTorrent, freePort, md5Range, mountDirs, seederState, startTorrentfs, stopTorrentfs, withMount } from './swarm-cli.js'

watchdog(58_000)

let tt: TestTorrent // file.bin, 4 MiB, 64 KiB pieces
let src: string
const lts: LtHandle[] = []
let manyReadsStderr: string | undefined
const log = (line: string) => { if (process.env.TEST_VERBOSE) process.stderr.write(line + '\n') }

test.before(async () => {
  tt = await makeTestTorrent([4 * MiB], { pieceLength: 64 * KiB, seed: 31 })
  src = join(tt.seedDir, 'file.bin')
})

test.after(async () => {
  await stopAll()
  await Promise.allSettled(lts.map((l) => l.stop()))
})

// N reads at once on one open file (a thread pool big enough for all of them), one JSON line of {offset, md5}s; each
// read says on stderr when it ends, so a timeout shows which ones did.
const CONCURRENT = `const { open } = require('node:fs/promises'); const { createHash } = require('node:crypto');
(async () => { const [file, ...offs] = process.argv.slice(1); const fh = await open(file, 'r'); const t0 = Date.now();
  const out = await Promise.all(offs.map(async (o) => { const b = Buffer.alloc(1000);
    const { bytesRead } = await fh.read(b, 0, 1000, Number(o)); process.stderr.write('read ' + o + ' done at ' + (Date.now() - t0) + ' ms\\n');
    return { offset: Number(o), md5: createHash('md5').update(b.subarray(0, bytesRead)).digest('hex') } }));
  console.log(JSON.stringify(out)); await fh.close() })().catch((e) => { console.log(JSON.stringify({ error: e.code })); process.exit(1) })`

/** Start a pread that must still be waiting after `ms`. */
async function blockedRead(file: string, offset: number, length: number, ms = 1500) {
  const r = preadChild(file, [[offset, length]])
  await delay(ms)
  assert.is(r.results().length, 0, `a read of a piece nobody has returned: ${r.stdout()} ${r.stderr()}`)
  assert.is(r.proc.exitCode, null, `the reader exited: ${r.stderr()}`)
  return r
}

test('a --peer that is not listening yet: the read completes once a bt seeder starts on that port', async () => {
  const port = await freePort()
  const dirs = mountDirs()
  copyTorrent(tt, dirs)
  const m = await startTorrentfs(dirs, ['--peer', `127.0.0.1:${port}`], ['file.bin'])
  const mountedAt = Date.now()
  await withMount(m, async () => {
    // Twenty-four reads waiting at once on one open file, as a multi-threaded reader makes them.
    const offsets = Array.from({ length: 24 }, (_, i) => MiB + i * 64 * KiB + i)
    const many = start(process.execPath, ['-e', CONCURRENT, join(m.mnt, 'file.bin'), ...offsets.map(String)], { env: { UV_THREADPOOL_SIZE: '32' } })
    const r = await blockedRead(join(m.mnt, 'file.bin'), 3 * MiB + 100, 200 * KiB)
    assert.is(many.stdout(), '', 'reads of pieces nobody has returned')
    const seededAt = Date.now()
    const seeder = await seedWith(tt, {}, { port })
    await within(r.exited, 30_000, () => `the blocked read after the seeder started\n${seederState(seeder.torrent)}`)
    log(`re-dial: read done ${Date.now() - seededAt} ms after the seeder started, ${Date.now() - mountedAt} ms after mount`)
    assert.equal(r.results(), [{ offset: 3 * MiB + 100, n: 200 * KiB, md5: md5Range(src, 3 * MiB + 100, 200 * KiB) }])
    // On a timeout: which of the reads ended (the child's stderr), and torrentfs's own list of the reads it still
    // has (withMount appends its log: --verbose lists reads waiting over 5 s, the pieces they miss, the peers).
    const ended = () => many.stderr().split('\n').filter((l) => l.startsWith('read ')).length
    assert.is(await within(many.exited, 10_000, () => `the twenty-four reads (${ended()} ended ${Date.now() - seededAt} ms after the seeder started):\n${many.stderr()}${seederState(seeder.torrent)}`), 0, many.stdout() + many.stderr())
    assert.equal(JSON.parse(many.stdout()), offsets.map((o) => ({ offset: o, md5: md5Range(src, o, 1000) })))
    manyReadsStderr = m.child.stderr()
  })
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
  await withMount(m, async () => {
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
    assert.ok(took < 12_000, `the read took ${took} ms after the seeder connected`)
  })
})

test('the seeder goes away and comes back on the same port: a read that waited in between completes', async () => {
  const port = await freePort()
  let seeder = await seedWith(tt, {}, { port })
  const dirs = mountDirs()
  copyTorrent(tt, dirs)
  const m = await startTorrentfs(dirs, ['--peer', `127.0.0.1:${port}`, '--readahead', '64K'], ['file.bin'])
  await withMount(m, async () => {
    const file = join(m.mnt, 'file.bin')
    const first = preadChild(file, [[0, 100 * KiB]])
    assert.is(await first.exited, 0, first.stderr())
    assert.equal(first.results(), [{ offset: 0, n: 100 * KiB, md5: md5Range(src, 0, 100 * KiB) }])
    await seeder.client.destroy()
    const r = await blockedRead(file, 3 * MiB + 5, 10 * KiB)
    const backAt = Date.now()
    seeder = await seedWith(tt, {}, { port })
    await within(r.exited, 30_000, 'the blocked read after the seeder came back')
    log(`seeder restart: read done ${Date.now() - backAt} ms after the seeder came back`)
    assert.equal(r.results(), [{ offset: 3 * MiB + 5, n: 10 * KiB, md5: md5Range(src, 3 * MiB + 5, 10 * KiB) }])
  })
})

// More than ten reads waiting on one open file once made Node print MaxListenersExceededWarning on the user's
// terminal (an abort listener per waiting read on the Reader's close signal); whether it shows depends on how many of
// the reads the kernel has in flight at once, so a pass here is weaker evidence than a failure.
test('no Node warnings on stderr after many reads waited at once on one open file', () => {
  assert.ok(manyReadsStderr !== undefined, 'the first test did not get that far')
  assert.not.match(manyReadsStderr!, /MaxListenersExceededWarning/)
})

test.run()
