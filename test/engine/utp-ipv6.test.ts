// uTP over IPv6 (bt's own libutp binding, native/utp): bt ↔ bt over uTP on ::1 with TCP switched off on both sides,
// and bt ↔ python3-libtorrent over uTP on ::1 both ways (libtorrent with TCP off and listening on [::1] only, so only
// uTP over IPv6 can carry the data). md5 checked each time. The IPv4 counterparts are in test/engine/utp.test.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bt, btUntil as btUntilIn } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { startLibtorrent } from '../helpers/libtorrent.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { within } from '../helpers/wait.js'
import { utpBinding } from '../../src/net/utp.js'

const MiB = 1024 * 1024
const UTP_ONLY_V6 = { enable_outgoing_tcp: false, enable_incoming_tcp: false, listen_interfaces: '[::1]:0' }
const stoppers: Array<{ stop(): Promise<void> }> = []
test.after.each(async () => {
  await Promise.allSettled(stoppers.splice(0).reverse().map((s) => s.stop()))
})
const env = () => ({ XDG_DATA_HOME: tmpDir('bt-xdg-'), BT_DHT_BOOTSTRAP: 'none', NO_COLOR: '1', BT_UTP_BINDING: 'own' })
const btUntil = (args: string[], match: (e: Record<string, any>) => boolean, ms: number) => btUntilIn(args, match, ms, env())

test('the own binding is built and is the default', () => {
  assert.is(utpBinding(), 'own', 'npm run build compiles native/utp')
})

test('bt seed → bt download over uTP on ::1, TCP off on both sides', async () => {
  const tt = await makeTestTorrent([2 * MiB + 5], { pieceLength: 256 * 1024, seed: 161 })
  const seeder = btUntil(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--no-tcp', '--json'], (e) => e.event === 'seeding', 15_000)
  stoppers.push(seeder)
  const { port } = await seeder.result
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--no-dht', '--no-tcp', '--json', '--peer', `[::1]:${port}`], { env: env(), timeoutMs: 40_000 })
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-2000) + seeder.output().slice(-1000))
  await assertSameMd5(tt, out)
})

test('bt download from a libtorrent seeder on [::1] that speaks only uTP', async () => {
  const tt = await makeTestTorrent([3 * MiB + 7], { pieceLength: 256 * 1024, seed: 162 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, utp: true, settings: UTP_ONLY_V6 })
  stoppers.push(lt)
  const out = tmpDir('bt-out-')
  const t0 = Date.now()
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--no-dht', '--no-tcp', '--json', '--peer', `[::1]:${lt.port}`], { env: env(), timeoutMs: 40_000 })
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-2000) + lt.log().slice(-1000))
  await assertSameMd5(tt, out)
  console.error(`  bt <- libtorrent over uTP on ::1: ${Date.now() - t0} ms wall`)
})

test('a libtorrent leecher on [::1] that speaks only uTP downloads from bt seed', async () => {
  const tt = await makeTestTorrent([2 * MiB + 9], { pieceLength: 256 * 1024, seed: 163 })
  const seeder = btUntil(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--json'], (e) => e.event === 'seeding', 15_000)
  stoppers.push(seeder)
  const { port } = await seeder.result
  const out = tmpDir('lt-out-')
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: out, utp: true, settings: UTP_ONLY_V6, peers: [`[::1]:${port}`] })
  stoppers.push(lt)
  await within(lt.done, 30_000, () => lt.log().slice(-2000) + seeder.output().slice(-1000))
  await assertSameMd5(tt, out)
})

test.run()
