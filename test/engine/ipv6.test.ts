// IPv6 (BEP 7) against a real client: a python3-libtorrent seeder that listens on [::1] only is found by bt through
// a tracker's peers6, through PEX added6 from another bt peer, through --peer [::1]:port and a magnet's
// x.pe=[::1]:port; and a bt seeder bound to 127.0.0.1 and ::1 serves libtorrent leechers of both families.
// (The IPv6 DHT is in test/discovery/dht-ipv6.test.ts.) Loopback only: 127.0.0.1 and ::1.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { bt, spawnBt, killSpawned } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { assertSameFiles, makeTestTorrent, startClient, stopAll, whenDone, type TestTorrent } from '../helpers/swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { waitFor, within } from '../helpers/wait.js'
import { startTracker, type TrackerService } from '../../src/tracker/service.js'

let tt: TestTorrent
let seeder: LtHandle
const V6_ONLY = { listen_interfaces: '[::1]:0' }
const xdg = () => ({ XDG_DATA_HOME: tmpDir('bt-xdg-') })

test.before(async () => {
  tt = await makeTestTorrent([3 * 1024 * 1024 + 1234], { pieceLength: 65536 })
  seeder = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, settings: V6_ONLY })
})

test.after(async () => {
  killSpawned()
  await stopAll()
  await seeder?.stop()
})

test('--peer [::1]:port: bt downloads from a libtorrent seeder that listens on ::1 only', async () => {
  const out = tmpDir('bt-dl-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--peer', `[::1]:${seeder.port}`, '--no-dht', '--json', '--bind', '127.0.0.1,::1', '-p', '0'], { timeoutMs: 30_000, env: xdg() })
  assert.is(r.code, 0, r.stderr)
  await assertSameMd5(tt, out)
})

test('a magnet with x.pe=[::1]:port fetches metadata and data over IPv6', async () => {
  for (const pe of [`[::1]:${seeder.port}`, encodeURIComponent(`[::1]:${seeder.port}`)]) {
    const out = tmpDir('bt-dl-')
    const magnet = `magnet:?xt=urn:btih:${tt.metainfo.infoHash}&x.pe=${pe}`
    const r = await bt(['download', magnet, '-o', out, '--no-dht', '--json', '--bind', '::1', '-p', '0'], { timeoutMs: 30_000, env: xdg() })
    assert.is(r.code, 0, `${pe}: ${r.stderr}`)
    await assertSameMd5(tt, out)
  }
})

test('tracker peers6: bt announces over IPv4 to a dual-stack bt tracker and finds the seeder that announced over ::1', async () => {
  let tracker: TrackerService | undefined
  let lt: LtHandle | undefined
  try {
    tracker = await startTracker({ hosts: ['127.0.0.1', '::1'], udpPort: -1 })
    const port = tracker.http[0].address.port
    // A second seeder on ::1 that only this tracker knows about.
    lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, trackers: [`http://[::1]:${port}/announce`], settings: V6_ONLY })
    const out = tmpDir('bt-dl-')
    const r = await bt(['download', tt.torrentPath, '-o', out, '-t', `http://127.0.0.1:${port}/announce`, '--no-dht', '--json', '--bind', '127.0.0.1', '-p', '0'], { timeoutMs: 30_000, env: xdg() })
    assert.is(r.code, 0, r.stderr)
    await assertSameMd5(tt, out)
    const seeder2 = lt
    await waitFor('the seeder behind the tracker to report an upload', () => seeder2.stats().uploaded > 0, 3000)
  } finally {
    await lt?.stop()
    await tracker?.close()
  }
})

test('PEX added6: a bt peer that does not upload tells another bt peer where the ::1 seeder is', async () => {
  // A downloads from the seeder (dialled over ::1) but uploads nothing; B knows only A, over IPv4, so the whole file
  // can only come from the seeder, whose address B can only have learnt from A's ut_pex added6.
  const a = await startClient({ upload: false })
  const ta = a.add(tt.metainfo, { dir: tmpDir('bt-a-'), peers: [{ host: '::1', port: seeder.port }] })
  const b = await startClient()
  const dirB = tmpDir('bt-b-')
  const tb = b.add(tt.metainfo, { dir: dirB, peers: [{ host: '127.0.0.1', port: a.port() }] })
  await within(Promise.all([whenDone(ta, 30_000), whenDone(tb, 30_000)]), 35_000, () => `A ${JSON.stringify(ta.stats())}\nB ${JSON.stringify(tb.stats())}`)
  assertSameFiles(tt, dirB)
  assert.is(ta.stats().uploaded, 0, 'A uploaded nothing')
  assert.ok(tb.stats().knownPeers >= 2, `B learnt the seeder's address: ${JSON.stringify(tb.stats())}`)
})

test('an IPv4 peer that reached a dual-stack socket (::ffff:127.0.0.1) is passed on by PEX as plain IPv4', async () => {
  // A listens on an IPv6 socket bound to the IPv4-mapped loopback address and uploads nothing; the seeder S dials
  // A (so A sees it as ::ffff:127.0.0.1); B knows only A, and can only get the data from S through A's PEX.
  const a = await startClient({ hosts: ['::ffff:127.0.0.1'], upload: false })
  const ta = a.add(tt.metainfo, { dir: tmpDir('bt-a-') })
  const s = await startClient()
  s.add(tt.metainfo, { dir: tt.seedDir, seed: true, peers: [{ host: '127.0.0.1', port: a.port() }] })
  await waitFor('the seeder to connect to A', () => ta.stats().peers > 0, 10_000)
  const b = await startClient()
  const dirB = tmpDir('bt-b-')
  const tb = b.add(tt.metainfo, { dir: dirB, peers: [{ host: '127.0.0.1', port: a.port() }] })
  await within(whenDone(tb, 30_000), 35_000, () => `B ${JSON.stringify(tb.stats())}`)
  assertSameFiles(tt, dirB)
  assert.is(ta.stats().uploaded, 0, 'A uploaded nothing')
})

test('dual stack: a bt seeder bound to 127.0.0.1 and ::1 serves a libtorrent leecher on each family', async () => {
  const seed = spawnBt(['seed', tt.torrentPath, '-d', tt.seedDir, '--bind', '127.0.0.1,::1', '-p', '0', '--no-dht', '--json'], xdg())
  const ready = await within(new Promise<Record<string, any>>((resolve) => {
    const timer = setInterval(() => {
      const e = seed.events.find((x) => x.event === 'seeding')
      if (e) { clearInterval(timer); resolve(e) }
    }, 50)
  }), 20_000, () => `no seeding event:\n${seed.lines.join('\n')}\n${seed.stderr()}`)
  const port = Number(ready.port)
  assert.ok(port > 0, JSON.stringify(ready))
  const leechers: LtHandle[] = []
  try {
    for (const [listen, peer] of [['[::1]:0', `[::1]:${port}`], ['127.0.0.1:0', `127.0.0.1:${port}`]]) {
      const dir = tmpDir('lt-leech-')
      const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: dir, peers: [peer], settings: { listen_interfaces: listen } })
      leechers.push(lt)
      await within(lt.done, 30_000, () => `${peer}: ${lt.log().slice(-2000)}`)
      await assertSameMd5(tt, dir)
    }
  } finally {
    await Promise.all(leechers.map((l) => l.stop()))
  }
})

test('--bind with something that is not an address is a usage error, in one line', async () => {
  const r = await bt(['download', tt.torrentPath, '-o', tmpDir('bt-dl-'), '--bind', '127.0.0.1,example.org', '--no-dht'], { timeoutMs: 10_000, env: xdg() })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /--bind: "example.org" is not an IPv4 or IPv6 address/)
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
})

test.run()
