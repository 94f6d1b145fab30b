// Trackerless interop with python3-libtorrent on 127.0.0.1: bt finds a libtorrent seeder through a local DHT and
// fetches its metadata given only the info hash; a libtorrent session fetches metadata from a bt seeder by magnet.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { md5File } from '../helpers/clients.js'
import { tmpDir } from '../helpers/tmp.js'
import { assertSameFiles, makeTestTorrent, seedWith, startClient, stopAll, whenDone } from '../helpers/swarm.js'

let swarm: DhtSwarm | undefined
const lts: LtHandle[] = []
test.after.each(async () => {
  await Promise.allSettled(lts.splice(0).map((h) => h.stop()))
  await stopAll()
  await swarm?.stop()
  swarm = undefined
})

test('bt downloads a bare info hash from a libtorrent seeder found on the DHT', async () => {
  swarm = await startDhtSwarm(12)
  const tt = await makeTestTorrent([2_500_000], { pieceLength: 65536, seed: 21 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, dhtBootstrap: swarm.bootstrap })
  lts.push(lt)
  const c = await startClient({ dht: { bootstrap: swarm.bootstrap, statePath: join(tmpDir(), 'dht.json') } })
  const dir = tmpDir()
  const t = c.add({ infoHash: tt.metainfo.infoHash }, { dir })
  await whenDone(t, 40_000)
  assertSameFiles(tt, dir)
})

test('a libtorrent magnet leecher gets metadata and data from a bt seeder', async () => {
  const tt = await makeTestTorrent([1_200_000, 70_000], { pieceLength: 32768, seed: 22 })
  const seed = await seedWith(tt)
  const dir = tmpDir()
  const lt = await startLibtorrent({ magnet: `magnet:?xt=urn:btih:${tt.metainfo.infoHash}`, saveDir: dir, peers: [seed.addr] })
  lts.push(lt)
  let timer: NodeJS.Timeout | undefined
  await Promise.race([lt.done, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`libtorrent not done: ${lt.log().slice(-2000)}`)), 40_000)))])
  clearTimeout(timer)
  for (const [rel, sum] of tt.md5) assert.is(await md5File(join(dir, rel)), sum, rel)
})

test.run()
