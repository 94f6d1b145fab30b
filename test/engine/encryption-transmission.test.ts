// Protocol encryption with transmission-cli 3.00 requiring it (settings.json `encryption: 2`, what `-er` sets), both
// ways, with bt under --encryption require (RC4 only). bt dials transmission's port in both tests (transmission
// drops 127.x peers it learns). A file of its own: transmission unchokes only at its 10 s rechoke.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'
import { assertSameMd5, startTransmission, type TransmissionHandle } from '../helpers/clients.js'
import { within } from '../helpers/wait.js'

const MiB = 1024 * 1024
let tr: TransmissionHandle | undefined

test.after.each(async () => {
  await tr?.stop()
  tr = undefined
  await stopAll()
})

test('bt download --encryption require from a transmission-cli seeder that requires encryption', async () => {
  const tt = await makeTestTorrent([1 * MiB + 100], { pieceLength: 256 * 1024, seed: 149 })
  const t = (tr = await startTransmission({ torrentPath: tt.torrentPath, dir: tt.seedDir, timeoutMs: 50_000, encryption: 'required' }))
  await within(t.done, 20_000, () => t.output().slice(-500))
  const out = tmpDir('bt-out-')
  const started = Date.now()
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--no-dht', '--encryption', 'require', '--peer', `127.0.0.1:${t.port}`], {
    env: { XDG_DATA_HOME: tmpDir('bt-xdg-'), BT_DHT_BOOTSTRAP: 'none' },
    timeoutMs: 30_000,
  })
  assert.is(r.code, 0, r.stderr)
  console.error(`  bt <- transmission (encryption required): ${Date.now() - started} ms`)
  await assertSameMd5(tt, out)
})

test('a transmission-cli leecher that requires encryption gets a torrent from bt (encryption require)', async () => {
  const tt = await makeTestTorrent([700_000, 1 * MiB + 3], { pieceLength: 256 * 1024, seed: 150 })
  const out = tmpDir('tr-out-')
  const t = (tr = await startTransmission({ torrentPath: tt.torrentPath, dir: out, timeoutMs: 50_000, encryption: 'required' }))
  const seed = await seedWith(tt, { peers: [{ host: '127.0.0.1', port: t.port }] }, { encryption: 'require' })
  const { ms } = await within(t.done, 30_000, () => t.output().slice(-500))
  console.error(`  transmission <- bt (encryption required): ${ms} ms`)
  await assertSameMd5(tt, out)
  assert.ok(seed.torrent.stats().uploaded >= tt.metainfo.length, 'bt uploaded it all')
  assert.is(seed.torrent.stats().ends.encryption, 0)
})

test.run()
