// DHT interop with python3-libtorrent on 127.0.0.1: libtorrent joins our local DHT (bittorrent-dht nodes) and
// announces, and our lookup finds it; our announce lets a libtorrent magnet leecher find a seeder through the DHT.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { DhtNode } from '../../src/discovery/dht.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent, type Metainfo } from '../../src/metainfo/metainfo.js'
import { startDhtSwarm, watchAnnounces, type DhtSwarm } from '../helpers/dht-swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { within } from '../helpers/wait.js'

let swarm: DhtSwarm
let dir: string
let torrentPath: string
let meta: Metainfo
let payload: Buffer
const cleanups: Array<() => Promise<void>> = []

test.before(async () => {
  swarm = await startDhtSwarm(10)
  dir = tmpDir()
  mkdirSync(join(dir, 'seed'))
  payload = writeRandomFile(join(dir, 'seed', 'payload.bin'), 700_000, 42)
  const bytes = await createTorrent(join(dir, 'seed', 'payload.bin'), { pieceLength: 65536 })
  torrentPath = join(dir, 'payload.torrent')
  writeFileSync(torrentPath, bytes)
  meta = parseTorrent(bytes)
})

test.after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {})
  await swarm?.stop()
})

async function lt(opts: Parameters<typeof startLibtorrent>[0]): Promise<LtHandle> {
  const h = await startLibtorrent(opts)
  cleanups.push(() => h.stop())
  return h
}

test('a libtorrent seeder announcing into our DHT is found by a DhtNode lookup', async () => {
  const hash = Buffer.from(meta.infoHash, 'hex')
  const announced = watchAnnounces(swarm, hash)
  const seeder = await lt({ torrentPath, saveDir: join(dir, 'seed'), seed: true, dhtBootstrap: swarm.bootstrap })
  // libtorrent announces once its files are checked, after a get_peers walk of its own: a lookup started before the
  // announce_peer lands finds nothing and retries 5 s, then 15 s later. What this test checks is our lookup, so it
  // starts once the swarm holds the announce, and must then find the seeder in its first round (well under 5 s).
  await within(announced(seeder.port), 20_000, () => `libtorrent did not announce into our DHT:\n${seeder.log()}`)
  const node = new DhtNode({ host: '127.0.0.1', bootstrap: swarm.bootstrap })
  cleanups.push(() => node.destroy())
  await node.listen()
  const seen: PeerAddress[] = []
  let cancel = () => {}
  await within(new Promise<void>((resolve) => {
    cancel = node.lookup(hash, (peers) => {
      seen.push(...peers)
      if (peers.some((p) => p.host === '127.0.0.1' && p.port === seeder.port)) resolve()
    })
  }), 4_000, () => `libtorrent (port ${seeder.port}) not found; saw ${JSON.stringify(seen)}\n${seeder.log()}`).finally(() => cancel())
})

test('libtorrent keeps answering a loopback DHT that sends it many queries (no DoS ban on 127.0.0.1)', async () => {
  // Every node of our DHT is 127.0.0.1, which libtorrent's DoS blocker would ban for 5 minutes after 50 packets in
  // 10 s; lt_node.py turns that off. Without it a seeder that served a few lookups goes silent, and later libtorrent
  // peers wait out their 15 s query timeout on it (this file's leecher test then took 15+ s, and sometimes failed).
  const seeder = await lt({ torrentPath, saveDir: join(dir, 'seed'), seed: true, dhtBootstrap: swarm.bootstrap })
  const node = new DhtNode({ host: '127.0.0.1', bootstrap: false })
  cleanups.push(() => node.destroy())
  await node.listen()
  const krpc = node.krpc! as unknown as { id: Buffer; query(to: { host: string; port: number }, m: object, cb: (err: Error | null) => void): void }
  const ping = () => new Promise<boolean>((resolve) => krpc.query({ host: '127.0.0.1', port: seeder.port }, { q: 'ping', a: { id: krpc.id } }, (err) => resolve(!err)))
  let answered = 0
  for (let round = 0; round < 7; round++) answered += (await Promise.all(Array.from({ length: 10 }, ping))).filter(Boolean).length
  assert.is(answered, 70, `libtorrent answered ${answered} of 70 pings\n${seeder.log()}`)
})

test('a libtorrent magnet leecher finds, through our DHT, a seeder that only we announced', async () => {
  // Another torrent than the first test's (whose seeder announced itself), and a seeder without DHT: the only way to
  // it is the announce_peer our node makes for its port.
  mkdirSync(join(dir, 'seed2'))
  payload = writeRandomFile(join(dir, 'seed2', 'payload.bin'), 900_000, 43)
  const bytes = await createTorrent(join(dir, 'seed2', 'payload.bin'), { pieceLength: 65536 })
  torrentPath = join(dir, 'payload2.torrent')
  writeFileSync(torrentPath, bytes)
  meta = parseTorrent(bytes)
  const seeder = await lt({ torrentPath, saveDir: join(dir, 'seed2'), seed: true })
  const node = new DhtNode({ host: '127.0.0.1', bootstrap: swarm.bootstrap })
  cleanups.push(() => node.destroy())
  await node.listen()
  const announced = new Promise<number>((resolve) => node.once('announced', (_h: Buffer, n: number) => resolve(n)))
  node.announce(Buffer.from(meta.infoHash, 'hex'), seeder.port)
  assert.ok((await within(announced, 5000, 'announce did not complete')) > 0)

  mkdirSync(join(dir, 'leech'))
  const leecher = await lt({ magnet: `magnet:?xt=urn:btih:${meta.infoHash}`, saveDir: join(dir, 'leech'), dhtBootstrap: swarm.bootstrap })
  await within(leecher.done, 40_000, () => `leecher did not finish:\n${leecher.log()}`)
  const got = readFileSync(join(dir, 'leech', 'payload.bin'))
  assert.is(createHash('md5').update(got).digest('hex'), createHash('md5').update(payload).digest('hex'))
})

test.run()
