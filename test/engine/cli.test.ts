// `bt download` and `bt seed` as a user runs them: output, --json events, --quiet, file selection, errors and exit
// codes, info hashes and magnets with --peer, --download-limit, --help, and Ctrl-C.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bt, killSpawned, spawnBt, jsonLines } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { assertSameFiles, makeTestTorrent, md5, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'

const MiB = 1024 * 1024

test.after.each(async () => {
  killSpawned()
  await stopAll()
})

/** A fresh XDG_DATA_HOME so resume state never touches the real home. */
function xdg(home = tmpDir('bt-xdg-')): NodeJS.ProcessEnv {
  return { XDG_DATA_HOME: home }
}



/** One line, no stack trace. */
function assertOneLineError(stderr: string, what: RegExp): void {
  const lines = stderr.trim().split('\n')
  assert.is(lines.length, 1, `one line on stderr: ${stderr}`)
  assert.match(lines[0], what)
}

// --- output --------------------------------------------------------------------------------------------------------

test('prints the downloaded path on stdout and exits 0 (single file and multi-file)', async () => {
  const single = await makeTestTorrent([1 * MiB + 3], { seed: 71 })
  const multi = await makeTestTorrent([200_000, 300_000], { seed: 72 })
  for (const tt of [single, multi]) {
    const seed = await seedWith(tt)
    const out = tmpDir('bt-out-')
    const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr], { env: xdg(), timeoutMs: 20_000 })
    assert.is(r.code, 0, r.stderr)
    assert.is(r.stdout, join(out, tt.metainfo.name) + '\n')
    assertSameFiles(tt, out)
  }
})

test('--json: one JSON object per line with added, metadata, progress and done events', async () => {
  const tt = await makeTestTorrent([4 * MiB], { pieceLength: 65536, seed: 73 })
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  // Limited to 2 MiB/s so the download outlasts the 1 s progress interval.
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--json', '--download-limit', '2M'], { env: xdg(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  const events = jsonLines(r.stdout) // throws on any line that is not JSON
  const names = events.map((e) => e.event)
  assert.is(names[0], 'added')
  assert.is(names[names.length - 1], 'done')
  assert.ok(names.includes('progress'), names.join(','))
  const progress = events.filter((e) => e.event === 'progress')
  assert.ok(progress.every((e) => typeof e.have === 'number' && typeof e.downloaded === 'number' && e.infoHash === tt.metainfo.infoHash))
  const done = events[events.length - 1]
  assert.is(done.path, join(out, 'file.bin'))
  assert.is(done.length, tt.metainfo.length)
  assert.is(done.infoHash, tt.metainfo.infoHash)
  // A .torrent's metadata is known at once, and the event must still reach a listener that subscribes right after
  // Client.add() (torrents start on the next tick).
  assert.ok(names.includes('metadata'), `events: ${[...new Set(names)].join(',')}`)
  assert.ok(names.indexOf('metadata') < names.indexOf('done'))
})

test('--quiet: nothing on stderr', async () => {
  const tt = await makeTestTorrent([1 * MiB], { seed: 74 })
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--quiet'], { env: xdg(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stderr, '')
  assertSameFiles(tt, out)
})

// --- selection -----------------------------------------------------------------------------------------------------

/** A torrent of .txt and .bin files, 32 KiB pieces. */
async function mixedTorrent(): Promise<TestTorrent> {
  const base = tmpDir('bt-mixed-')
  const seedDir = join(base, 'seed')
  const root = join(seedDir, 'pack')
  mkdirSync(join(root, 'sub'), { recursive: true })
  // In torrent order (as mktorrent sorts): a.txt b.bin c.txt d.txt e.txt sub/f.bin. d.txt shares no piece with a .bin.
  const spec: Array<[string, number]> = [['a.txt', 100_000], ['b.bin', 300_000], ['c.txt', 150_000], ['d.txt', 200_000], ['e.txt', 120_000], ['sub/f.bin', 170_000]]
  const md5s = new Map<string, string>()
  spec.forEach(([rel, size], i) => md5s.set(join('pack', rel), md5(writeRandomFile(join(root, rel), size, 80 + i))))
  const bytes = await createTorrent(root, { pieceLength: 32768, creationDate: null })
  const torrentPath = join(base, 'pack.torrent')
  writeFileSync(torrentPath, bytes)
  return { metainfo: parseTorrent(bytes), torrentPath, seedDir, md5: md5s }
}

/** Selected files are complete; the others are absent, or hold at most the bytes of pieces they share. */
function assertSelected(tt: TestTorrent, out: string, selected: string[]): void {
  assertSameFiles(tt, out, selected)
  const m = tt.metainfo
  for (const f of m.files) {
    const rel = f.path.join('/')
    if (selected.includes(join(...f.path))) continue
    const path = join(out, ...f.path)
    if (!existsSync(path)) continue
    // Bytes of this file inside pieces that also hold selected files: at most one piece at each end.
    const data = readFileSync(path)
    const orig = readFileSync(join(tt.seedDir, ...f.path))
    let same = 0
    for (let i = 0; i < Math.min(data.length, orig.length); i++) if (data[i] === orig[i]) same++
    assert.ok(same <= 2 * m.pieceLength + 512, `${rel}: ${same} bytes present though not selected`)
  }
}

test('--select 1 downloads only file 1', async () => {
  const tt = await mixedTorrent()
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--select', '1'], { env: xdg(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  const want = join(...tt.metainfo.files[1].path)
  assert.is(want, join('pack', 'b.bin'))
  assertSelected(tt, out, [want])
  for (const far of ['d.txt', 'e.txt', join('sub', 'f.bin')]) assert.not.ok(existsSync(join(out, 'pack', far)) && statSync(join(out, 'pack', far)).size > 0, `${far} not written`)
  assert.ok(seed.torrent.stats().uploaded < tt.metainfo.length / 2, `fetched ${seed.torrent.stats().uploaded} bytes`)
})

test("--select-glob '*.bin' downloads only the .bin files", async () => {
  const tt = await mixedTorrent()
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--select-glob', '*.bin'], { env: xdg(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  const bins = tt.metainfo.files.filter((f) => f.path[f.path.length - 1].endsWith('.bin')).map((f) => join(...f.path))
  assert.equal(bins, [join('pack', 'b.bin'), join('pack', 'sub', 'f.bin')])
  assertSelected(tt, out, bins)
  const lonely = join(out, 'pack', 'd.txt')
  assert.ok(!existsSync(lonely) || statSync(lonely).size === 0, 'd.txt, which shares no piece with a .bin, was not written')
})

// --- errors --------------------------------------------------------------------------------------------------------

test('--select 99: exit 2 with a one-line error', async () => {
  const tt = await mixedTorrent()
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--select', '99'], { env: xdg(), timeoutMs: 10_000 })
  assert.is(r.code, 2, r.stderr)
  assertOneLineError(r.stderr, /^bt: .*99/)
  assert.is(readdirSync(out).length, 0, 'nothing written')
})

test('a torrent file that does not exist: exit 2', async () => {
  const dir = tmpDir()
  const r = await bt(['download', join(dir, 'nope.torrent'), '-o', join(dir, 'out'), '--port', '0'], { env: xdg(), timeoutMs: 10_000 })
  assert.is(r.code, 2, r.stderr)
  assertOneLineError(r.stderr, /^bt: .*nope\.torrent/)
})

test('a corrupt torrent file: exit 2, "not a valid torrent"', async () => {
  const dir = tmpDir()
  const bad = join(dir, 'bad.torrent')
  writeFileSync(bad, 'd8:announce3:foo4:infod4:name')
  const r = await bt(['download', bad, '-o', join(dir, 'out'), '--port', '0'], { env: xdg(), timeoutMs: 10_000 })
  assert.is(r.code, 2, r.stderr)
  assertOneLineError(r.stderr, /not a valid torrent/)
})

// --- info hashes, magnets, bt seed ---------------------------------------------------------------------------------

test('infohash:HEX --peer: metadata from the peer, then the data', async () => {
  const tt = await makeTestTorrent([300_000, 1 * MiB + 7, 5], { seed: 75 })
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', `infohash:${tt.metainfo.infoHash}`, '-o', out, '--port', '0', '--peer', seed.addr, '--json'], { env: xdg(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-1000))
  const names = jsonLines(r.stdout).map((e) => e.event)
  assert.ok(names.includes('metadata'), names.join(','))
  assertSameFiles(tt, out)
})

test('bt seed FILE prints a magnet; another bt downloads it with --peer', async () => {
  const dir = tmpDir()
  const file = join(dir, 'shared.bin')
  const sum = md5(writeRandomFile(file, 2 * MiB + 333, 76))
  const seeder = spawnBt(['seed', file, '--port', '0'], xdg())
  await waitFor('a magnet on stdout', () => seeder.lines.length > 0 || seeder.child.exitCode !== null, 15_000)
  const magnet = seeder.lines[0]
  assert.match(magnet, /^magnet:\?xt=urn:btih:[0-9a-f]{40}/)
  // The port is in the x.pe of the second magnet, on stderr.
  await waitFor('the seeding line on stderr', () => /seeding .* on port \d+/.test(seeder.stderr()), 5000)
  const port = Number(/on port (\d+)/.exec(seeder.stderr())![1])
  const out = tmpDir('bt-out-')
  const r = await bt(['download', magnet, '-o', out, '--port', '0', '--peer', `127.0.0.1:${port}`], { env: xdg(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout, join(out, 'shared.bin') + '\n')
  assert.is(md5(readFileSync(join(out, 'shared.bin'))), sum)
})

// --- rate limit ----------------------------------------------------------------------------------------------------

test('--download-limit 1M: 4 MiB takes about 4 s', async () => {
  const tt = await makeTestTorrent([4 * MiB], { pieceLength: 65536, seed: 77 })
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--json', '--download-limit', '1M'], { env: xdg(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  assertSameFiles(tt, out)
  const events = jsonLines(r.stdout)
  const ms = Date.parse(events.find((e) => e.event === 'done')!.time) - Date.parse(events.find((e) => e.event === 'added')!.time)
  console.error(`  4 MiB at --download-limit 1M: ${ms} ms`)
  // 1M is 1 MiB/s; the bucket may start with a quarter second of burst, so 3.75 s is the floor.
  assert.ok(ms >= 3600 && ms <= 4400, `took ${ms} ms`)
})

// --- help and signals ----------------------------------------------------------------------------------------------

test('bt download --help and bt seed --help exit 0', async () => {
  for (const cmd of ['download', 'seed']) {
    const r = await bt([cmd, '--help'], { env: xdg(), timeoutMs: 10_000 })
    assert.is(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`bt ${cmd}`))
    assert.match(r.stdout, /--port/)
  }
})

test('SIGINT during a download: exit 130, resume state left behind', async () => {
  const tt = await makeTestTorrent([8 * MiB], { pieceLength: 65536, seed: 78 })
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const home = tmpDir('bt-xdg-')
  const dl = spawnBt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '--json', '--download-limit', '1M'], xdg(home))
  await waitFor('progress with data', () => dl.events.some((e) => e.event === 'progress' && e.have > 0) || dl.child.exitCode !== null, 10_000)
  dl.child.kill('SIGINT')
  const r = await dl.exit
  assert.is(r.code, 130, dl.stderr())
  const resumeDir = join(home, 'bt', 'resume')
  const files = existsSync(resumeDir) ? readdirSync(resumeDir).filter((f) => f.endsWith('.resume')) : []
  assert.is(files.length, 1, `resume files: ${files}`)
  const saved = JSON.parse(readFileSync(join(resumeDir, files[0]), 'utf8'))
  assert.is(saved.infoHash, tt.metainfo.infoHash)
  assert.ok(Buffer.from(saved.have, 'base64').some((b: number) => b !== 0), 'resume state records pieces')
})

test.run()
