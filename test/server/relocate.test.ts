// Transmission RPC methods that change where and under what names a torrent's data lives, driven by Debian's
// transmission-remote where it has a switch: file priorities (-ph; the high file completes first from a throttled
// seeder), --move (files move, nothing is downloaded again), --find (data found in another directory),
// torrent-rename-path (a folder and the torrent's own folder, on disk and in the file list; bad names refused),
// all surviving a restart; and --exit (session-close) stopping bt serve cleanly.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { run } from '../helpers/cli.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { tmpDir } from '../helpers/tmp.js'
import { startServe, rpc, KiB, type Serve } from './helpers.js'

const timer = setTimeout(() => {
  console.error('relocate.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
timer.unref()

const KEY = 'relocate-key'
const auth = { 'X-Api-Key': KEY }
let m: TestTorrent
let s: Serve
let seederAddr: string
let keyFile: string
let id: number
const tr = (...args: string[]) => run('transmission-remote', [`127.0.0.1:${s.port}`, '--auth', `u:${KEY}`, ...args], { timeoutMs: 15_000 })
const get = async (fields: string[]) => (await rpc(s.url, 'torrent-get', { ids: [id], fields }, auth)).arguments.torrents[0]

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test.before(async () => {
  // Two files of 24 pieces each; the seeder sends 400 KiB/s, so the whole torrent takes about two seconds.
  m = await makeTestTorrent([384 * KiB, 384 * KiB + 7], { pieceLength: 16 * KiB, seed: 77, name: 'multi' })
  const seeder = await seedWith(m, {}, { uploadLimit: 400 * KiB })
  seederAddr = seeder.addr
  keyFile = join(tmpDir(), 'key')
  writeFileSync(keyFile, KEY)
  s = await startServe({ args: ['--api-key-file', keyFile, '--peer', seederAddr] })
})

test.after(async () => {
  await s?.stop()
  await stopAll()
})

test('priority-high (-ph): the high file completes first; -f and torrent-get report it', async () => {
  const added = await rpc(s.url, 'torrent-add', { metainfo: readFileSync(m.torrentPath).toString('base64'), paused: true, 'priority-low': [1] }, auth)
  assert.is(added.result, 'success', JSON.stringify(added))
  id = added.arguments['torrent-added'].id
  assert.equal((await get(['priorities'])).priorities, [0, -1], 'priorities given at add time')
  const ph = await tr('-t', String(id), '-ph', '1')
  assert.is(ph.code, 0, ph.stderr + ph.stdout)
  assert.equal((await get(['priorities'])).priorities, [0, 1])
  const files = await tr('-t', String(id), '-f')
  assert.match(files.stdout, /0:\s+0% Normal\s+Yes.*f0\.bin/)
  assert.match(files.stdout, /1:\s+0% High\s+Yes.*f1\.bin/)
  // A bad index is Transmission's error, not a crash.
  assert.is.not((await rpc(s.url, 'torrent-set', { ids: [id], 'priority-low': [9] }, auth)).result, 'success')
  assert.is((await tr('-t', String(id), '-s')).code, 0)
  const len = m.metainfo.files.map((f) => f.length)
  const at = await until('file 1 complete', async () => {
    const t = await get(['fileStats'])
    return t.fileStats[1].bytesCompleted === len[1] ? t : undefined
  }, 20_000)
  assert.ok(at.fileStats[0].bytesCompleted < len[0] * 0.6, `file 0 had ${at.fileStats[0].bytesCompleted} of ${len[0]} when the high file completed`)
  await until('seeding', async () => (await get(['status', 'leftUntilDone'])).leftUntilDone === 0, 20_000)
  await assertSameMd5(m, s.downloadDir)
  // Back to normal (-pn with no list would be all files: Transmission's "all").
  assert.is((await rpc(s.url, 'torrent-set', { ids: [id], 'priority-normal': [] }, auth)).result, 'success')
  assert.equal((await get(['priorities'])).priorities, [0, 0])
  assert.is((await tr('-t', String(id), '-pl', '0')).code, 0)
  assert.equal((await get(['priorities', 'fileStats'])).priorities, [-1, 0])
})

test('--move moves the data (nothing downloaded again); --find points at a copy', async () => {
  const before = await get(['downloadedEver'])
  const moved = join(tmpDir('bt-move-'), 'new home')
  const r = await tr('-t', String(id), '--move', moved)
  assert.is(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /success/)
  assert.not.ok(existsSync(join(s.downloadDir, 'multi')), 'the old folder is gone')
  await assertSameMd5(m, moved)
  const t = await until('seeding in the new place', async () => {
    const t = await get(['downloadDir', 'status', 'leftUntilDone', 'downloadedEver'])
    return t.status === 6 && t.leftUntilDone === 0 ? t : undefined
  }, 10_000)
  assert.is(t.downloadDir, moved)
  assert.is(t.downloadedEver, before.downloadedEver)
  // --find: the data is already elsewhere (a copy); it is checked there, not fetched.
  const other = tmpDir('bt-find-')
  cpSync(join(moved, 'multi'), join(other, 'multi'), { recursive: true })
  assert.is((await tr('-t', String(id), '--find', other)).code, 0)
  const t2 = await until('seeding from the found copy', async () => {
    const t = await get(['downloadDir', 'status', 'leftUntilDone', 'downloadedEver'])
    return t.downloadDir === other && t.status === 6 && t.leftUntilDone === 0 ? t : undefined
  }, 10_000)
  assert.is(t2.downloadedEver, before.downloadedEver)
  assert.ok(existsSync(join(moved, 'multi')), '--find moves nothing')
  // A relative path is refused and changes nothing.
  assert.is.not((await rpc(s.url, 'torrent-set-location', { ids: [id], location: 'rel/dir', move: true }, auth)).result, 'success')
  assert.is((await get(['downloadDir'])).downloadDir, other)
})

test('torrent-rename-path: a folder, then the torrent folder; bad names refused', async () => {
  const dir = (await get(['downloadDir'])).downloadDir
  const r = await rpc(s.url, 'torrent-rename-path', { ids: [id], path: 'multi/sub', name: 'extras' }, auth)
  assert.is(r.result, 'success', JSON.stringify(r))
  assert.equal(r.arguments, { id, path: 'multi/sub', name: 'extras' })
  assert.ok(existsSync(join(dir, 'multi', 'extras', 'f1.bin')))
  assert.not.ok(existsSync(join(dir, 'multi', 'sub')))
  for (const [path, name] of [['multi/f0.bin', '../escape'], ['multi/f0.bin', '..'], ['nope/f0.bin', 'x'], ['multi/f0.bin', 'extras']]) {
    const bad = await rpc(s.url, 'torrent-rename-path', { ids: [id], path, name }, auth)
    assert.is.not(bad.result, 'success', `${path} -> ${name}`)
  }
  const top = await rpc(s.url, 'torrent-rename-path', { ids: [id], path: 'multi', name: 'Show' }, auth)
  assert.is(top.result, 'success', JSON.stringify(top))
  const t = await until('seeding after the renames', async () => {
    const t = await get(['name', 'files', 'status', 'leftUntilDone'])
    return t.status === 6 && t.leftUntilDone === 0 ? t : undefined
  }, 10_000)
  assert.is(t.name, 'Show')
  assert.equal(t.files.map((f: any) => f.name), ['Show/f0.bin', 'Show/extras/f1.bin'])
  assert.is(readFileSync(join(dir, 'Show', 'extras', 'f1.bin')).length, m.metainfo.files[1].length)
  // The stream URL follows the new path.
  const res = await fetch(`${s.url}/stream/${m.metainfo.infoHash}/Show/extras/f1.bin`, { headers: { ...auth, Range: 'bytes=0-9' } })
  assert.is(res.status, 206)
  await res.arrayBuffer()
})

test('renames, location and priorities survive a restart; --exit stops bt serve', async () => {
  const before = await get(['downloadDir', 'priorities'])
  await s.stop()
  s = await startServe({ dataDir: s.dataDir, downloadDir: s.downloadDir, args: ['--api-key-file', keyFile, '--peer', seederAddr] })
  const t = await until('seeding after the restart', async () => {
    const t = await get(['name', 'files', 'downloadDir', 'priorities', 'status', 'leftUntilDone'])
    return t.status === 6 && t.leftUntilDone === 0 ? t : undefined
  }, 15_000)
  assert.is(t.name, 'Show')
  assert.equal(t.files.map((f: any) => f.name), ['Show/f0.bin', 'Show/extras/f1.bin'])
  assert.is(t.downloadDir, before.downloadDir)
  assert.equal(t.priorities, before.priorities)
  const exit = await tr('--exit')
  assert.is(exit.code, 0, exit.stderr + exit.stdout)
  const r = await Promise.race([s.exit, new Promise((r) => setTimeout(() => r('still running'), 10_000))])
  assert.equal(r, { code: 0, signal: null })
  assert.match(s.stderr(), /session-close/)
})

test.run()
