// Resuming `bt download`: after kill -9 it continues where it was; data that is already complete is not fetched
// again; --verify re-checks everything and re-fetches only the pieces that are bad.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, utimesSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { bt, killSpawned, spawnBt } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'
import { tmpDir } from '../helpers/tmp.js'
import { assertSameFiles, makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'

const MiB = 1024 * 1024

test.after.each(async () => {
  killSpawned()
  await stopAll()
})



/** The pieces a resume file under `xdgHome` marks as present (0 when there is none yet). */
function resumePieces(xdgHome: string): number {
  const dir = join(xdgHome, 'bt', 'resume')
  if (!existsSync(dir)) return 0
  let n = 0
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.resume'))) {
    try {
      const have = Buffer.from(JSON.parse(readFileSync(join(dir, f), 'utf8')).have, 'base64')
      for (const byte of have) for (let b = byte; b; b &= b - 1) n++
    } catch {} // caught mid-rename: try again on the next poll
  }
  return n
}

test('kill -9 mid-download, then the same command finishes with less than the whole', async () => {
  const tt = await makeTestTorrent([8 * MiB], { pieceLength: 256 * 1024, seed: 61 })
  const seed = await seedWith(tt, { seed: true })
  const out = tmpDir('bt-out-')
  const home = tmpDir('bt-xdg-')
  const args = [tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--download-limit', '1M']

  const first = spawnBt(['download', ...args, '--json'], { XDG_DATA_HOME: home })
  // Resume state is written every few seconds; kill once it records some pieces, well before the end (8 s at 1M/s).
  await waitFor('resume state with some pieces', () => resumePieces(home) > 0 || first.child.exitCode !== null, 15_000)
  assert.is(first.child.exitCode, null, `the first run ended early: ${first.stderr()}`)
  const progress = first.events.filter((e) => e.event === 'progress')
  assert.ok(progress.some((e) => e.have > 0), 'progress events report data before the kill')
  first.child.kill('SIGKILL')
  const r1 = await first.exit
  assert.is(r1.signal, 'SIGKILL')
  const savedPieces = resumePieces(home)
  const upBefore = seed.torrent.stats().uploaded
  assert.ok(upBefore < tt.metainfo.length, `killed before the end (seeder sent ${upBefore} bytes)`)

  const second = spawnBt(['download', ...args, '--json'], { XDG_DATA_HOME: home })
  const killer = setTimeout(() => second.child.kill('SIGKILL'), 20_000)
  const r2 = await second.exit
  clearTimeout(killer)
  assert.is(r2.code, 0, second.stderr())
  assertSameFiles(tt, out)
  const secondBytes = seed.torrent.stats().uploaded - upBefore
  const done = second.events.find((e) => e.event === 'done')
  assert.ok(done, 'a done event')
  console.error(`  first run: ${upBefore} bytes (resume: ${savedPieces} pieces), second run: ${secondBytes} bytes of ${tt.metainfo.length}`)
  assert.ok(secondBytes < tt.metainfo.length, `the second run fetched ${secondBytes} bytes, the whole is ${tt.metainfo.length}`)
  // It fetched at most what the resume state did not cover (pieces finished after the last save are re-fetched or
  // found by hashing; they never cost more than that).
  assert.ok(secondBytes <= tt.metainfo.length - savedPieces * tt.metainfo.pieceLength, `second run ${secondBytes} bytes; resume covered ${savedPieces} pieces`)
})

test('complete data copied in from elsewhere: nothing is fetched, exit 0 quickly', async () => {
  const tt = await makeTestTorrent([3 * MiB + 5, 1 * MiB, 77], { pieceLength: 65536, seed: 62 })
  const out = tmpDir('bt-out-')
  cpSync(tt.seedDir, out, { recursive: true })
  const seed = await seedWith(tt)
  const started = Date.now()
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--json'], { env: { XDG_DATA_HOME: tmpDir('bt-xdg-') }, timeoutMs: 20_000 })
  const ms = Date.now() - started
  assert.is(r.code, 0, r.stderr)
  assert.ok(r.stdout.includes('"event":"done"'), r.stdout)
  assertSameFiles(tt, out)
  assert.is(seed.torrent.stats().uploaded, 0, 'nothing was fetched from the seeder')
  assert.ok(ms < 5000, `took ${ms} ms`)
})

test('complete data and no peers at all: the check alone completes it', async () => {
  const tt = await makeTestTorrent([2 * MiB + 1], { pieceLength: 32768, seed: 63 })
  const out = tmpDir('bt-out-')
  cpSync(tt.seedDir, out, { recursive: true })
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0'], { env: { XDG_DATA_HOME: tmpDir('bt-xdg-') }, timeoutMs: 15_000 })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout.trim(), join(out, 'file.bin'))
  assertSameFiles(tt, out)
})

/** Flip one byte at `offset` of `path`, keeping size (and, if given, mtime). */
function corrupt(path: string, offset: number, keepMtime?: Date): void {
  const fd = openSync(path, 'r+')
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, offset)
  b[0] ^= 0xff
  writeSync(fd, b, 0, 1, offset)
  closeSync(fd)
  if (keepMtime) utimesSync(path, keepMtime, keepMtime)
}
test('--verify on corrupted data that resume state trusts re-fetches only the bad piece', async () => {
  const pieceLength = 65536
  const tt = await makeTestTorrent([2 * MiB + 300, 1 * MiB], { pieceLength, seed: 64 })
  const out = tmpDir('bt-out-')
  cpSync(tt.seedDir, out, { recursive: true })
  const target = join(out, 'multi', 'f0.bin')
  // A whole-second mtime can be put back exactly after the corruption, so resume state still trusts the file.
  const mtime = new Date(1_700_000_000_000)
  utimesSync(target, mtime, mtime)
  const home = tmpDir('bt-xdg-')
  const r0 = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--quiet'], { env: { XDG_DATA_HOME: home }, timeoutMs: 15_000 })
  assert.is(r0.code, 0, r0.stderr)
  assert.is(resumePieces(home), tt.metainfo.pieceCount, 'resume state records every piece')

  corrupt(target, 5 * pieceLength + 1234, mtime)
  assert.is(statSync(target).mtimeMs, mtime.getTime())
  const seed = await seedWith(tt)
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--verify', '--quiet'], { env: { XDG_DATA_HOME: home }, timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stderr, '')
  assertSameFiles(tt, out)
  assert.is(seed.torrent.stats().uploaded, pieceLength, 'exactly the one bad piece was fetched again')
})

test('a file changed since the resume state was saved is re-checked without --verify', async () => {
  const pieceLength = 65536
  const tt = await makeTestTorrent([2 * MiB + 300, 1 * MiB], { pieceLength, seed: 65 })
  const out = tmpDir('bt-out-')
  cpSync(tt.seedDir, out, { recursive: true })
  const home = tmpDir('bt-xdg-')
  const r0 = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--quiet'], { env: { XDG_DATA_HOME: home }, timeoutMs: 15_000 })
  assert.is(r0.code, 0, r0.stderr)
  // The second file starts inside piece 32 (2 MiB + 300): corrupt its piece 40, changing the file's mtime.
  const second = join(out, 'multi', 'sub', 'f1.bin')
  const before = statSync(second).mtimeMs
  await new Promise((r) => setTimeout(r, 20))
  corrupt(second, 40 * pieceLength - (2 * MiB + 300) + 10)
  assert.ok(statSync(second).mtimeMs !== before)
  const seed = await seedWith(tt)
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--quiet'], { env: { XDG_DATA_HOME: home }, timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  assertSameFiles(tt, out)
  assert.is(seed.torrent.stats().uploaded, pieceLength, 'only the damaged piece was fetched again')
})

test.run()
