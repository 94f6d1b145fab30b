// uTP in the engine, against python3-libtorrent with TCP switched off both ways (so only uTP can carry the data):
// bt download from a uTP-only seeder, a uTP-only leecher fetching from bt seed (its DHT sharing the uTP port), and
// the --no-utp / --no-tcp switches.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bt, btUntil as btUntilIn } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { startLibtorrent } from '../helpers/libtorrent.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { within } from '../helpers/wait.js'

const MiB = 1024 * 1024
const UTP_ONLY = { enable_outgoing_tcp: false, enable_incoming_tcp: false }
const stoppers: Array<{ stop(): Promise<void> }> = []
test.after.each(async () => {
  await Promise.allSettled(stoppers.splice(0).reverse().map((s) => s.stop()))
})
const env = () => ({ XDG_DATA_HOME: tmpDir('bt-xdg-'), BT_DHT_BOOTSTRAP: 'none', NO_COLOR: '1' })
const btUntil = (args: string[], match: (e: Record<string, any>) => boolean, ms: number) => btUntilIn(args, match, ms, env())

test('bt download from a libtorrent seeder that speaks only uTP (default, then --no-tcp)', async () => {
  const tt = await makeTestTorrent([3 * MiB + 11], { pieceLength: 256 * 1024, seed: 141 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, utp: true, settings: UTP_ONLY })
  stoppers.push(lt)
  for (const extra of [[], ['--no-tcp']]) {
    const out = tmpDir('bt-out-')
    const t0 = Date.now()
    const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--no-dht', '--json', '--peer', `127.0.0.1:${lt.port}`, ...extra], { env: env(), timeoutMs: 40_000 })
    assert.is(r.code, 0, r.stderr + r.stdout.slice(-2000))
    await assertSameMd5(tt, out)
    console.error(`  bt ${extra.join(' ') || '(default)'} <- libtorrent over uTP: ${Date.now() - t0} ms wall`)
  }
})

test('a libtorrent leecher that speaks only uTP downloads from bt seed (DHT on, sharing the uTP port)', async () => {
  const tt = await makeTestTorrent([2 * MiB + 3], { pieceLength: 256 * 1024, seed: 142 })
  const seeder = btUntil(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--dht-bootstrap', 'none', '--json'], (e) => e.event === 'seeding', 15_000)
  stoppers.push(seeder)
  const { port } = await seeder.result
  const out = tmpDir('lt-out-')
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: out, utp: true, settings: UTP_ONLY, peers: [`127.0.0.1:${port}`] })
  stoppers.push(lt)
  await within(lt.done, 30_000, () => lt.log().slice(-2000) + seeder.output().slice(-1000))
  await assertSameMd5(tt, out)
})

test('bt seed --no-utp: a uTP-only libtorrent leecher gets nothing', async () => {
  const tt = await makeTestTorrent([512 * 1024], { pieceLength: 256 * 1024, seed: 143 })
  const seeder = btUntil(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--no-utp', '--json'], (e) => e.event === 'seeding', 15_000)
  stoppers.push(seeder)
  const { port } = await seeder.result
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tmpDir('lt-out-'), utp: true, settings: UTP_ONLY, peers: [`127.0.0.1:${port}`] })
  stoppers.push(lt)
  await new Promise((r) => setTimeout(r, 4000))
  assert.is(lt.stats().done, 0, 'no data without uTP')
  assert.is(lt.stats().peers, 0)
})

test('--no-utp with --no-tcp is a usage error', async () => {
  const r = await bt(['download', 'x.torrent', '--no-utp', '--no-tcp'], { env: env(), timeoutMs: 10_000 })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /--no-utp and --no-tcp/)
})

test.run()
