// Every way a newcomer can get the command line wrong gets one useful line and the right exit code, before bt
// touches the disk: yargs failures in full, numbers out of range, bad URLs, output files and directories, and
// system errors in words (never EISDIR/ENOENT and a syscall name).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import dgram from 'node:dgram'
import { join } from 'node:path'
import { bt } from '../helpers/cli.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'

const dir = tmpDir('bt-errors-')
const file = join(dir, 'f.bin')
const torrent = join(dir, 'f.torrent')
const HASH = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'

test.before(async () => {
  writeRandomFile(file, 100_000, 5)
  const r = await bt(['create', file, '-q', '-o', torrent])
  assert.is(r.code, 0, r.stderr)
})

/** Exit code, exactly one line on stderr matching `what`, nothing on stdout, no stack, no raw errno. */
async function oneLine(args: string[], code: number, what: RegExp, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await bt(args, { env: { XDG_DATA_HOME: join(dir, 'xdg'), ...env }, timeoutMs: 15_000 })
  assert.is(r.code, code, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`)
  assert.match(r.stderr, /^bt: [^\n]+\n$/, `${args.join(' ')}: ${JSON.stringify(r.stderr)}`)
  assert.match(r.stderr, what, `${args.join(' ')}: ${r.stderr}`)
  assert.not.match(r.stderr, /:\s*\n$/, 'the message is whole, not cut after its first line')
  // An errno code standing alone (a temp dir's random name like bt-test-EAXEGL is not one).
  assert.not.match(r.stderr, /(?<![\w/.-])E[A-Z]{3,}\b|internal error|at .*\.js/, r.stderr)
  assert.is(r.stdout, '')
  return r.stderr
}

test('yargs failures: the whole message in one line, exit 2', async () => {
  assert.is(
    await oneLine(['metainfo', torrent, 'bogus'], 2, /verb/),
    'bt: verb: "bogus" is not one of magnet, info, files, pieces, json, save\n',
  )
  await oneLine(['metainfo'], 2, /Not enough non-option arguments: got 0, need at least 1/)
  await oneLine(['frobnicate'], 2, /Unknown argument: frobnicate/)
  await oneLine(['metainfo', torrent, '-o'], 2, /^bt: -o needs a value$/m)
  await oneLine(['download'], 2, /Not enough non-option arguments/)
  await oneLine(['download', torrent, '--port'], 2, /--port needs a value/)
  await oneLine(['download', torrent, '--bogus-flag'], 2, /Unknown argument: bogus-flag/)
  await oneLine(['create'], 2, /Not enough non-option arguments/)
  await oneLine(['seed', file, 'extra'], 2, /Unknown argument: extra/)
})

test('numbers are checked up front with the value and what was wanted; nothing is created', async () => {
  const out = join(dir, 'never')
  const cases: Array<[string[], RegExp]> = [
    [['-p', 'abc'], /^bt: --port: "abc" is not a port number \(0-65535\)$/m],
    [['-p', '70000'], /--port: "70000" is not a port number/],
    [['--max-peers', '0'], /--max-peers: "0" is not a number of connections from 1 to 10000/],
    [['--max-peers', '-3'], /--max-peers: "-3"/],
    [['--metadata-timeout', '-1'], /--metadata-timeout: "-1" is not a number of seconds/],
    [['--dht-port', '99999'], /--dht-port: "99999" is not a port number/],
    [['-D', 'fast'], /--download-limit: "fast" is not a rate such as 500k or 10M/],
    [['-U', '-5'], /--upload-limit: "-5" is not a rate/],
    [['--select', '5'], /--select: f\.bin has 1 file \(0\); there is no file 5/],
    [['--select-glob', '*.mkv'], /--select-glob: no file of f\.bin matches/],
    [['--peer', 'nonsense'], /--peer: "nonsense" is not host:port/],
    [['--dht-bootstrap', 'x'], /--dht-bootstrap: "x" is not host:port/],
  ]
  for (const [extra, what] of cases) {
    await oneLine(['download', torrent, '-o', out, '--peer', '127.0.0.1:9', ...extra], 2, what)
    assert.not.ok(existsSync(out), `${extra.join(' ')} left ${out} behind`)
  }
  // The same checks for bt metainfo of a magnet and bt seed.
  await oneLine(['metainfo', `magnet:?xt=urn:btih:${HASH}`, '-p', '99999'], 2, /--port: "99999"/)
  await oneLine(['seed', torrent, '--max-peers', '0'], 2, /--max-peers: "0"/)
})

test('info hashes: an empty or short one says so, not "no such file"', async () => {
  await oneLine(['download', 'infohash:', '--peer', '127.0.0.1:9'], 2, /infohash:: not a valid info hash \(40 hex or 32 base32 characters\)/)
  await oneLine(['download', 'infohash:abc', '--peer', '127.0.0.1:9'], 2, /not a valid info hash/)
  await oneLine(['metainfo', 'infohash:', '--peer', '127.0.0.1:9'], 2, /not a valid info hash/)
})

test('bt create: refuses to overwrite without --force, a directory as -o, and bad tracker or web seed URLs', async () => {
  const existing = join(dir, 'existing.torrent')
  writeFileSync(existing, 'keep me')
  await oneLine(['create', file, '-o', existing], 2, /existing\.torrent: already exists \(--force to overwrite\)/)
  assert.is(readFileSync(existing, 'utf8'), 'keep me')
  const forced = await bt(['create', file, '-q', '-o', existing, '--force'])
  assert.is(forced.code, 0, forced.stderr)
  assert.is.not(readFileSync(existing, 'utf8'), 'keep me')
  // The default output name is refused the same way.
  const cwd = tmpDir()
  writeFileSync(join(cwd, 'f.bin.torrent'), 'keep me too')
  const again = await bt(['create', file, '-q'], { cwd })
  assert.is(again.code, 2)
  assert.match(again.stderr, /f\.bin\.torrent: already exists/)

  const outDir = join(dir, 'outdir')
  mkdirSync(outDir)
  await oneLine(['create', file, '-o', outDir], 2, /outdir: is a directory; give a file name to write/)
  for (const [args, what] of [
    [['-t', 'garbage'], /--tracker: "garbage": not a URL/],
    [['-t', ''], /--tracker: "": empty tracker URL/],
    [['-t', 'http://a.example/announce,'], /--tracker: "": empty tracker URL/],
    [['-t', 'wss://tracker.example'], /WebTorrent/],
    [['-w', 'not a url'], /--web-seed: "not a url" is not an http or https URL/],
    [['-w', 'ftp://a.example/f'], /--web-seed: "ftp:\/\/a\.example\/f"/],
  ] as Array<[string[], RegExp]>) {
    const out = join(dir, 'bad.torrent')
    await oneLine(['create', file, '-o', out, ...args], 2, what)
    assert.not.ok(existsSync(out), `${args.join(' ')} wrote a torrent`)
  }
})

test('system errors in words: a file as the output directory, a read-only file system, a missing parent', async () => {
  await oneLine(['download', torrent, '-o', join(file, 'sub'), '--peer', '127.0.0.1:9'], 4, /f\.bin\/sub: a parent of this path is not a directory/)
  await oneLine(['download', torrent, '-o', file, '--peer', '127.0.0.1:9'], 4, /f\.bin: not a directory/)
  await oneLine(['metainfo', dir], 2, /is a directory, not a torrent file/)
  // A read-only file system (root can mount one; skipped elsewhere).
  const ro = join(tmpDir(), 'ro')
  mkdirSync(ro)
  let mounted = false
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { stdio: 'ignore' })
    mounted = true
  } catch {
    console.error('  (no tmpfs mount here: read-only case skipped)')
  }
  try {
    if (mounted) {
      await oneLine(['download', torrent, '-o', join(ro, 'a', 'b'), '--peer', '127.0.0.1:9'], 4, /ro\/a\/b: cannot create .*\/ro\/a: read-only file system/)
    }
  } finally {
    if (mounted) execFileSync('umount', [ro])
  }
  assert.is(readdirSync(ro).length, 0)
})

test('a port in use, for every command that listens: "address in use" in one line, exit 3, no -o directory left', async () => {
  // One port held for TCP and UDP on 127.0.0.1.
  const tcp = net.createServer()
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
  const port = (tcp.address() as net.AddressInfo).port
  const udp = dgram.createSocket('udp4')
  try {
    await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(port, '127.0.0.1', resolve) })
    const out = join(dir, 'never-made')
    await oneLine(['download', torrent, '-p', String(port), '--peer', '127.0.0.1:9', '-o', out], 3, /cannot listen on port \d+: address in use$/m)
    assert.not.ok(existsSync(out), 'the -o directory was made before listening failed')
    await oneLine(['serve', '--port', String(port), '--peer-port', '0', '--no-dht', '--download-dir', join(dir, 'dl')], 3, /cannot listen on 127\.0\.0\.1:\d+: address in use$/m)
    await oneLine(['tracker', '--udp-port', String(port), '--http-port', '-1', '--memory'], 3, /cannot listen for UDP on 127\.0\.0\.1:\d+: address in use$/m)
    await oneLine(['crawl', '--port', String(port), '--db', join(dir, 'crawl.db')], 3, /cannot bind UDP port \d+: address in use$/m)
  } finally {
    udp.close()
    tcp.close()
  }
})

test('files named by options: the reason in words, not ENOENT/ENOTDIR and a syscall', async () => {
  await oneLine(['serve', '--api-key-file', join(dir, 'no-such-key'), '--port', '0'], 2, /--api-key-file \S+no-such-key: no such file or directory$/m)
  await oneLine(['serve', '--tracker', '--tracker-whitelist', join(file, 'x'), '--port', '0', '--peer-port', '0', '--no-dht', '--download-dir', join(dir, 'dl')], 2, /f\.bin\/x: a parent of this path is not a directory$/m)
  await oneLine(['import', join(dir, 'no-such-dump.jsonl'), '--db', join(dir, 'i.db')], 2, /no-such-dump\.jsonl: no such file or directory$/m)
})

test.run()
