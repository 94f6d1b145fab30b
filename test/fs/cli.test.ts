// The torrentfs command as a user runs it: flags (anacrolix single-dash and --kebab-case), usage errors, missing FUSE,
// serving a directory of torrents, SIGTERM/SIGINT unmounting, and recovering the mount point after kill -9.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { ROOT } from '../helpers/cli.js'
import { makeFixture, md5, type Fixture } from '../stream/scripted-torrent.js'
import { cleanupMount, isMounted, runChild, start, waitFor, watchdog, within, type Child, catMd5 } from './helpers.js'

watchdog()

const CMD = join(ROOT, 'cmd/torrentfs.ts')
const dir = tmpDir('bt-torrentfs-cli-')
const mnt = join(dir, 'mnt')
const torrents = join(dir, 'torrents')
const data = join(dir, 'data')
let fx: Fixture

// One-shot runs (help, usage errors) use the built launcher: starting under tsx costs seconds each on a busy machine.
const LAUNCHER = join(ROOT, 'bin/torrentfs.js')
const torrentfs = (args: string[], env?: NodeJS.ProcessEnv) => runChild(process.execPath, [LAUNCHER, ...args], 30_000, { env })
const startTorrentfs = (args: string[]) => start(process.execPath, ['--import', 'tsx', CMD, ...args], { cwd: ROOT })

/** Wait until the child says it mounted and the torrent shows, then check a read. */
async function expectServing(c: Child): Promise<void> {
  await waitFor('torrentfs to mount', () => /mounted/.test(c.stderr()) || c.proc.exitCode !== null, 20_000)
  assert.ok(c.proc.exitCode === null, `torrentfs exited: ${c.stderr()}`)
  await waitFor('the torrent to show', async () => (await readdir(mnt).catch(() => [] as string[])).includes('show'), 5000)
  assert.is(await catMd5(join(mnt, 'show/movie.bin')), md5(fx.files.get('movie.bin')!))
}

test.before(async () => {
  for (const d of [mnt, torrents, data]) mkdirSync(d)
  cleanupMount(mnt)
  fx = await makeFixture(join(dir), 'show', { 'movie.bin': 3 * 1024 * 1024 + 11, 'notes.txt': 1234 }, 64 * 1024)
  renameSync(join(dir, 'data-show', 'show'), join(data, 'show'))
  writeFileSync(join(torrents, 'show.torrent'), fx.torrentFile)
})

test('--help lists the flags; --version prints the version', async () => {
  const h = await torrentfs(['--help'])
  assert.is(h.code, 0, h.stderr)
  for (const flag of ['--mountDir', '--mount-dir', '--metainfoDir', '--downloadDir', '--readahead', '--port', '--upload', '--verbose', '--version']) {
    assert.ok(h.stdout.includes(flag), `help mentions ${flag}`)
  }
  const v = await torrentfs(['--version'])
  assert.is(v.code, 0)
  assert.match(v.stdout, /^\d+\.\d+\.\d+/)
})

test('usage errors: one line, exit 2', async () => {
  const cases = [
    [],
    ['-mountDir', join(dir, 'nope'), '-metainfoDir', torrents],
    ['-mountDir', mnt, '-metainfoDir', join(dir, 'nope')],
    ['-mountDir', mnt, '-metainfoDir', torrents, '--readahead', 'lots'],
    ['-mountDir', mnt, '-metainfoDir', torrents, '--frobnicate'],
  ]
  for (const args of cases) {
    const r = await torrentfs(args)
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, /^torrentfs: [^\n]+\n$/)
    assert.is(r.stdout, '')
  }
  // Every flag in anacrolix's single-dash form, each message naming the flag.
  const single: Array<[string[], RegExp]> = [
    [['-readahead', 'lots'], /^torrentfs: --readahead: "lots" is not a size/],
    [['-port', '99999'], /^torrentfs: --port: "99999" is not a port number/],
    [['-dht-port', '0'], /^torrentfs: --dht-port: "0" is not a port number \(1-65535\)/],
    [['-peer', 'nonsense'], /^torrentfs: --peer: "nonsense" is not host:port/],
    [['-t', 'garbage'], /^torrentfs: --tracker: "garbage": not a URL/],
    [['-frobnicate'], /^torrentfs: Unknown argument: frobnicate\n$/],
  ]
  for (const [extra, what] of single) {
    const r = await torrentfs(['-mountDir', mnt, '-metainfoDir', torrents, ...extra])
    assert.is(r.code, 2, `${extra.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, what)
    assert.match(r.stderr, /^torrentfs: [^\n]+\n$/)
  }
})

test('a non-empty mountDir and a bad downloadDir: one line of ours, nothing mounted', async () => {
  const full = join(dir, 'full')
  mkdirSync(full)
  writeFileSync(join(full, 'keep.txt'), 'x')
  const r = await torrentfs(['-mountDir', full, '-metainfoDir', torrents, '-downloadDir', data])
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /^torrentfs: \S+\/full: not empty \(1 entries\); torrentfs mounts only on an empty directory\n$/)
  assert.not.match(r.stderr, /nonempty/)
  assert.not.ok(isMounted(full))
  const file = join(dir, 'a-file')
  writeFileSync(file, 'x')
  const bad = await torrentfs(['-mountDir', mnt, '-metainfoDir', torrents, '-downloadDir', join(file, 'sub')])
  assert.is(bad.code, 4, bad.stderr)
  assert.match(bad.stderr, /^torrentfs: \S+\/a-file\/sub: a parent of this path is not a directory\n$/)
  assert.not.ok(isMounted(mnt))
})

test('without FUSE tools: one line saying what to install, exit 2', async () => {
  const r = await torrentfs(['-mountDir', mnt, '-metainfoDir', torrents], { PATH: '/nonexistent' })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /^torrentfs: FUSE is not available \(no fusermount on PATH\); install it with: apt-get install libfuse2 fuse\n$/)
  assert.not.ok(isMounted(mnt))
})

test('serves a directory of torrents (anacrolix flags); SIGTERM unmounts and exits 0', async () => {
  const c = startTorrentfs(['-mountDir', mnt, '-metainfoDir', torrents, '-downloadDir', data, '-readahead', '8M', '-no-dht', '-port', '0', '-no-upload'])
  await expectServing(c)
  assert.is(await catMd5(join(mnt, 'show/notes.txt')), md5(fx.files.get('notes.txt')!))
  assert.is((await stat(join(mnt, 'show/movie.bin'))).mode & 0o777, 0o444)
  c.proc.kill('SIGTERM')
  assert.is(await within(c.exited, 10_000, 'exit after SIGTERM'), 0, c.stderr())
  assert.not.ok(isMounted(mnt))
})

test('after kill -9 a restart recovers the mount point; SIGINT exits 130', async () => {
  const first = startTorrentfs(['--mount-dir', mnt, '--metainfo-dir', torrents, '--download-dir', data])
  await expectServing(first)
  process.kill(first.proc.pid!, 'SIGKILL')
  await within(first.exited, 5000, 'the killed torrentfs')
  const second = startTorrentfs(['--mount-dir', mnt, '--metainfo-dir', torrents, '--download-dir', data])
  await expectServing(second)
  second.proc.kill('SIGINT')
  assert.is(await within(second.exited, 10_000, 'exit after SIGINT'), 130, second.stderr())
  assert.not.ok(isMounted(mnt))
})

test('a dead mount left without auto-unmount is cleared at start', async () => {
  // A bare fuse-native mount with no auto_unmount helper, killed: the kernel keeps a dead mount (ENOTCONN).
  const script = `const Fuse = require('fuse-native'); const f = new Fuse(process.argv[1], {}, { timeout: false });
    f.mount((err) => { if (err) { console.error(err.message); process.exit(1) } console.log('up') })`
  const dead = start(process.execPath, ['-e', script, mnt], { cwd: ROOT })
  await waitFor('the bare mount', () => /up/.test(dead.stdout()) || dead.proc.exitCode !== null, 10_000)
  assert.ok(isMounted(mnt), dead.stderr())
  process.kill(dead.proc.pid!, 'SIGKILL')
  await within(dead.exited, 5000, 'the killed bare mount')
  const err = await stat(mnt).then(() => undefined, (e: NodeJS.ErrnoException) => e.code)
  assert.is(err, 'ENOTCONN')
  const c = startTorrentfs(['-mountDir', mnt, '-metainfoDir', torrents, '-downloadDir', data])
  await expectServing(c)
  c.proc.kill('SIGTERM')
  assert.is(await within(c.exited, 10_000, 'exit after SIGTERM'), 0, c.stderr())
  assert.not.ok(isMounted(mnt))
})

test.run()
