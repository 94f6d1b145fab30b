// bt and transmission-cli on 127.0.0.1. transmission 3.00 drops 127.x peers it learns from trackers, so bt always
// dials transmission's port. Slow by transmission's own pace (it rechokes every 10 s), hence a file of its own.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { assertSameMd5, startTransmission, type TransmissionHandle } from '../helpers/clients.js'
import { within } from '../helpers/wait.js'

const MiB = 1024 * 1024
let tr: TransmissionHandle | undefined

test.after.each(async () => {
  await tr?.stop()
  tr = undefined
  await stopAll()
})



test('bt download from a transmission-cli seeder (--peer)', async () => {
  const tt = await makeTestTorrent([2 * MiB + 100], { pieceLength: 256 * 1024, seed: 49 })
  const t = (tr = await startTransmission({ torrentPath: tt.torrentPath, dir: tt.seedDir, timeoutMs: 50_000 }))
  await within(t.done, 20_000, () => t.output().slice(-500))
  const out = tmpDir('bt-out-')
  const started = Date.now()
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', `127.0.0.1:${t.port}`], {
    env: { XDG_DATA_HOME: tmpDir('bt-xdg-') },
    timeoutMs: 30_000,
  })
  assert.is(r.code, 0, r.stderr)
  console.error(`  bt <- transmission: ${Date.now() - started} ms`)
  await assertSameMd5(tt, out)
})

test('transmission-cli leecher gets a multi-file torrent from a bt seeder that dials it', async () => {
  const tt = await makeTestTorrent([700_000, 1 * MiB + 3, 5], { pieceLength: 256 * 1024, seed: 50 })
  const out = tmpDir('tr-out-')
  const t = (tr = await startTransmission({ torrentPath: tt.torrentPath, dir: out, timeoutMs: 50_000 }))
  const seed = await seedWith(tt, { peers: [{ host: '127.0.0.1', port: t.port }] })
  const { ms } = await within(t.done, 30_000, () => t.output().slice(-500))
  console.error(`  transmission <- bt: ${ms} ms`)
  await assertSameMd5(tt, out)
  assert.ok(seed.torrent.stats().uploaded >= tt.metainfo.length, 'bt uploaded it all')
})

test.run()
