// No silent waits: when there is nowhere to look for peers bt says so at once (exit 2); trackers and peers it cannot
// use, a DHT that finds nobody, trackers that answer `de` or hang, and failing resume-state saves are each reported
// once; bt seed prints one magnet with the addresses other hosts can reach.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { networkInterfaces } from 'node:os'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bt, killSpawned, spawnBt, jsonLines } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { startFakeHttpTracker, type FakeHttpTracker } from '../helpers/fake-tracker.js'
import { assertSameFiles, makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'

const HASH = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'
const NOWHERE = 'no way to find peers: give --peer or a tracker, or enable the DHT'
const closers: Array<() => Promise<void> | void> = []

test.after.each(async () => {
  killSpawned()
  await stopAll()
  for (const c of closers.splice(0)) await c()
})

const env = () => ({ XDG_DATA_HOME: tmpDir('bt-xdg-') })

test('--no-dht and nothing else: exit 2 at once, for download and for metainfo of a magnet', async () => {
  for (const args of [
    ['download', `infohash:${HASH}`, '--no-dht'],
    ['download', HASH, '--no-dht'],
    ['metainfo', `magnet:?xt=urn:btih:${HASH}`, '--no-dht'],
  ]) {
    const out = join(tmpDir(), 'out')
    const started = Date.now()
    const r = await bt([...args, '-o', out, '--port', '0'], { env: env(), timeoutMs: 10_000 })
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.is(r.stderr, `bt: ${NOWHERE}\n`)
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
  }
})

test("unusable trackers and peers are named once each; with nothing left, exit 2", async () => {
  const magnet = `magnet:?xt=urn:btih:${HASH}&tr=garbage&tr=wss%3A%2F%2Ftracker.example&x.pe=nonsense`
  const r = await bt(['download', magnet, '--no-dht', '-t', 'garbage', '--port', '0', '-o', join(tmpDir(), 'o')], { env: env(), timeoutMs: 10_000 })
  assert.is(r.code, 2, r.stderr)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines, [
    'bt: ignoring tracker "garbage": not a URL',
    'bt: ignoring tracker "wss://tracker.example": a WebTorrent (WebSocket) tracker, which bt does not speak',
    'bt: ignoring peer "nonsense" (x.pe): not host:port',
    `bt: ${NOWHERE}`,
  ])
  // A .torrent whose only tracker is unusable, no DHT, no peer, no data yet: the same, before creating anything.
  const tt = await makeTestTorrent([100_000], { seed: 161, trackers: [['garbage']] })
  const out = join(tmpDir(), 'out')
  const t = await bt(['download', tt.torrentPath, '--no-dht', '--port', '0', '-o', out], { env: env(), timeoutMs: 10_000 })
  assert.is(t.code, 2, t.stderr)
  assert.is(t.stderr, `bt: ignoring tracker "garbage": not a URL\nbt: ${NOWHERE}\n`)
})

test('a bad -t next to a usable peer: one warning (a JSON event with --json), and the download goes on', async () => {
  const tt = await makeTestTorrent([300_000], { seed: 162 })
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-t', 'garbage', '--peer', seed.addr, '--port', '0', '-o', out, '--json'], { env: env(), timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  const warnings = jsonLines(r.stdout).filter((e) => e.event === 'warning')
  assert.equal(warnings.map((w) => w.message), ['ignoring tracker "garbage": not a URL'])
  assertSameFiles(tt, out)
})

test('a DHT whose bootstrap nodes never answer: one warning, and the node count in the metadata status', async () => {
  const r = await bt(['download', `infohash:${HASH}`, '--dht-bootstrap', '127.0.0.1:1', '--metadata-timeout', '7', '--port', '0', '-o', join(tmpDir(), 'o')], { env: env(), timeoutMs: 20_000 })
  assert.is(r.code, 3, r.stderr)
  const lines = r.stderr.trim().split('\n')
  assert.is(lines.filter((l) => /DHT: no node answered \(bootstrap: 127\.0\.0\.1:1\)/.test(l)).length, 1, r.stderr)
  assert.ok(lines.some((l) => /fetching metadata: 0 peers, 0 known, DHT 0 nodes/.test(l)), r.stderr)
  assert.match(lines[lines.length - 1], /no metadata after 7 s/)
})

test("trackers that answer 'de' or never answer: each said once", async () => {
  const empty: FakeHttpTracker = await startFakeHttpTracker((_req, res) => res.end('de'))
  closers.push(() => empty.close())
  const sockets = new Set<net.Socket>()
  const hang = net.createServer((s) => { sockets.add(s); s.on('error', () => {}) })
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve))
  closers.push(() => { for (const s of sockets) s.destroy(); hang.close() })
  const hangUrl = `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}/announce`
  // The tracker request timeout is 15 s: wait a little longer.
  const r = await bt(['download', `infohash:${HASH}`, '--no-dht', '-t', `${empty.origin}/announce`, '-t', hangUrl, '--metadata-timeout', '17', '--port', '0', '-o', join(tmpDir(), 'o')], { env: env(), timeoutMs: 30_000 })
  assert.is(r.code, 3, r.stderr)
  const said = (re: RegExp) => r.stderr.split('\n').filter((l) => re.test(l)).length
  assert.is(said(/127\.0\.0\.1:\d+\/announce: not an announce reply \(no peers, no interval\)/), 1, r.stderr)
  assert.is(said(/127\.0\.0\.1:\d+\/announce: no answer within 15 s/), 1, r.stderr)
})

test('resume state that cannot be saved: said once', async () => {
  const tt = await makeTestTorrent([300_000], { seed: 163 })
  const seed = await seedWith(tt)
  const home = join(tmpDir(), 'not-a-dir')
  writeFileSync(home, 'x') // $XDG_DATA_HOME is a file: $XDG_DATA_HOME/bt/resume cannot be made
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '--peer', seed.addr, '--no-dht', '--port', '0', '-o', out], { env: { XDG_DATA_HOME: home }, timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  assertSameFiles(tt, out)
  const lines = r.stderr.split('\n').filter((l) => /could not save resume state/.test(l))
  assert.is(lines.length, 1, r.stderr)
  assert.not.match(lines[0], /(?<![\w/.-])E[A-Z]{3,}\b/)
})

test('bt seed X.torrent: no "got metadata", one magnet with the addresses other hosts can reach, the same in --json', async () => {
  const tt = await makeTestTorrent([200_000], { seed: 164 })
  const seeder = spawnBt(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht'], env())
  await waitFor('the seeding line', () => /seeding .* on port \d+/.test(seeder.stderr()) || seeder.child.exitCode !== null, 15_000)
  const port = Number(/on port (\d+)/.exec(seeder.stderr())![1])
  assert.not.match(seeder.stderr(), /got metadata/)
  assert.is(seeder.lines.length, 1)
  const magnet = seeder.lines[0]
  assert.ok(magnet.startsWith(`magnet:?xt=urn:btih:${tt.metainfo.infoHash}`), magnet)
  assert.not.match(magnet, /x\.pe=(127\.|\[::1\])/)
  const mine = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && !/^fe80:/i.test(a.address)).map((a) => a!.address)
  const pe = [...magnet.matchAll(/x\.pe=([^&]+)/g)].map((m) => decodeURIComponent(m[1]))
  const host = (p: string) => (p.startsWith('[') ? p.slice(1, p.indexOf(']')) : p.slice(0, p.lastIndexOf(':')))
  assert.equal(pe.map(host).sort(), [...new Set(mine)].sort())
  for (const p of pe) assert.ok(p.endsWith(`:${port}`), p)
  // Only one magnet anywhere: stderr names the addresses, not a second link.
  assert.not.match(seeder.stderr(), /magnet:\?/)
  if (pe.length) assert.ok(seeder.stderr().includes(pe[0]), seeder.stderr())
  else assert.match(seeder.stderr(), /reachable from this host only/)
  seeder.child.kill('SIGTERM')
  assert.is((await seeder.exit).code, 0)

  const json = spawnBt(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--json'], env())
  await waitFor('the seeding event', () => json.events.some((e) => e.event === 'seeding') || json.child.exitCode !== null, 15_000)
  const ev = json.events.find((e) => e.event === 'seeding')!
  assert.is(ev.magnet.replace(/:\d+(&|$)/g, ':P$1'), magnet.replace(/:\d+(&|$)/g, ':P$1'))
  assert.ok(Array.isArray(ev.addresses))
  assert.not.ok(json.events.some((e) => e.event === 'metadata' && /got/.test(JSON.stringify(e))))
})

test.run()
