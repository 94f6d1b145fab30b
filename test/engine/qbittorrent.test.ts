// bt and qBittorrent-nox (Debian) on 127.0.0.1, both directions, with .torrent files and with magnet links: bt
// through its CLI, qBittorrent through its Web API v2. One qBittorrent runs for the whole file (its settings and
// loopback pitfalls are in test/helpers/qbittorrent.ts). It keeps its default transports: it dials bt over uTP.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bt, killSpawned, spawnBt } from '../helpers/cli.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { startQbittorrent, type QbtHandle } from '../helpers/qbittorrent.js'
import { makeTestTorrent, type TestTorrent } from '../helpers/swarm.js'
import { tmpDir } from '../helpers/tmp.js'

const MiB = 1024 * 1024
let qbt: QbtHandle

test.before(async () => {
  qbt = await startQbittorrent()
})
test.after(async () => {
  await qbt?.stop()
})
test.after.each(() => killSpawned())

const env = () => ({ XDG_DATA_HOME: tmpDir('bt-xdg-') })
let started = 0
test.before.each(() => { started = Date.now() })
test.after.each((ctx) => console.error(`  ${ctx.__test__}: ${Date.now() - started} ms`))

/** qBittorrent seeds tt from its seed directory (it checks the data first). */
async function qbtSeeds(tt: TestTorrent): Promise<void> {
  await qbt.addTorrent(readFileSync(tt.torrentPath), tt.seedDir)
  await qbt.complete(tt.metainfo.infoHash, 15_000)
}

test('bt downloads a multi-file torrent from qBittorrent (--peer)', async () => {
  const tt = await makeTestTorrent([900_000, 2 * MiB + 5, 7], { pieceLength: 65536, seed: 101 })
  await qbtSeeds(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--no-dht', '--peer', qbt.addr], { env: env(), timeoutMs: 30_000 })
  assert.is(r.code, 0, `${r.stderr}\n${qbt.log()}`)
  await assertSameMd5(tt, out)
})

test('bt downloads a magnet (x.pe only) from qBittorrent', async () => {
  const tt = await makeTestTorrent([1 * MiB + 333], { pieceLength: 32768, seed: 102 })
  await qbtSeeds(tt)
  const out = tmpDir('bt-out-')
  const r = await bt(['download', `magnet:?xt=urn:btih:${tt.metainfo.infoHash}&x.pe=${qbt.addr}`, '-o', out, '--port', '0', '--no-dht'], { env: env(), timeoutMs: 30_000 })
  assert.is(r.code, 0, `${r.stderr}\n${qbt.log()}`)
  await assertSameMd5(tt, out)
})

test('qBittorrent downloads a multi-file torrent from bt seed (bt dials it)', async () => {
  const tt = await makeTestTorrent([700_000, 1 * MiB + 3, 5], { pieceLength: 65536, seed: 103 })
  const out = tmpDir('qbt-out-')
  await qbt.addTorrent(readFileSync(tt.torrentPath), out)
  const seed = spawnBt(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--peer', qbt.addr, '--json'], env())
  await qbt.complete(tt.metainfo.infoHash, 30_000).catch((err) => {
    throw new Error(`${err.message}\nbt: ${seed.stderr()}`)
  })
  await assertSameMd5(tt, out)
})

test('qBittorrent downloads a magnet (x.pe naming bt seed) from bt', async () => {
  const tt = await makeTestTorrent([1 * MiB + 77], { pieceLength: 32768, seed: 104 })
  const seed = spawnBt(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--json'], env())
  const deadline = Date.now() + 10_000
  while (!seed.events.some((e) => e.event === 'seeding') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const ready = seed.events.find((e) => e.event === 'seeding')
  assert.ok(ready, `bt seed did not start: ${seed.stderr()}`)
  const out = tmpDir('qbt-out-')
  await qbt.addMagnet(`magnet:?xt=urn:btih:${tt.metainfo.infoHash}&x.pe=127.0.0.1:${ready.port}`, out)
  await qbt.complete(tt.metainfo.infoHash, 30_000).catch((err) => {
    throw new Error(`${err.message}\nbt: ${seed.stderr()}`)
  })
  await assertSameMd5(tt, out)
})

test.run()
