// Trackerless operation with bt clients: a bare magnet found through a local DHT, metadata over ut_metadata,
// a routing table reused across restarts, PEX introductions, and `bt metainfo MAGNET save`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { assertSameFiles, makeTestTorrent, seedWith, startClient, stopAll, whenDone } from '../helpers/swarm.js'
import { bt } from '../helpers/cli.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'

let swarm: DhtSwarm | undefined
test.after.each(async () => {
  await stopAll()
  await swarm?.stop()
  swarm = undefined
})


test('bare magnet: DHT finds the seeder, metadata comes over ut_metadata, download completes', async () => {
  swarm = await startDhtSwarm(20)
  const tt = await makeTestTorrent([1_500_000, 300_000], { pieceLength: 32768, seed: 11 })
  const dht = (dir: string) => ({ bootstrap: swarm!.bootstrap, statePath: join(dir, 'dht.json') })
  const seed = await seedWith(tt, {}, { dht: dht(tmpDir()) })
  const c = await startClient({ dht: dht(tmpDir()) })
  const dir = tmpDir()
  const t = c.add({ infoHash: tt.metainfo.infoHash }, { dir })
  let sawMetadataPhase = t.state === 'metadata'
  await whenDone(t, 30_000)
  assert.ok(sawMetadataPhase)
  assert.is(t.metainfo!.infoHash, tt.metainfo.infoHash)
  assertSameFiles(tt, dir)
  assert.ok(seed.torrent.stats().uploaded > 0)
})

test('a restart reuses the saved routing table (no bootstrap needed)', async () => {
  swarm = await startDhtSwarm(12)
  const tt = await makeTestTorrent([400_000], { pieceLength: 32768, seed: 12 })
  await seedWith(tt, {}, { dht: { bootstrap: swarm.bootstrap, statePath: join(tmpDir(), 'dht.json') } })
  const statePath = join(tmpDir(), 'dht.json')
  const first = await startClient({ dht: { bootstrap: swarm.bootstrap, statePath } })
  await first.dht!.ready()
  await first.destroy()
  assert.ok(existsSync(statePath), 'routing table saved')
  const saved = JSON.parse(readFileSync(statePath, 'utf8'))
  assert.ok(JSON.stringify(saved).length > 50)
  const again = await startClient({ dht: { bootstrap: false, statePath } })
  const dir = tmpDir()
  const t = again.add({ infoHash: tt.metainfo.infoHash }, { dir })
  await whenDone(t, 30_000)
  assertSameFiles(tt, dir)
})

test('PEX: a leecher that knows one peer learns the others', async () => {
  const tt = await makeTestTorrent([2_000_000], { pieceLength: 32768, seed: 13 })
  const seed = await seedWith(tt)
  // A and B fetch nothing (stream mode) and stay connected to the seeder and each other; the leecher knows only A.
  const a = await startClient()
  const ta = a.add(tt.metainfo, { dir: tmpDir(), stream: true, peers: [{ host: '127.0.0.1', port: seed.client.port() }] })
  await waitFor('A to connect to the seeder', () => ta.peers.size >= 1, 5000)
  const b = await startClient()
  const tb = b.add(tt.metainfo, { dir: tmpDir(), stream: true, peers: [{ host: '127.0.0.1', port: seed.client.port() }, { host: '127.0.0.1', port: a.port() }] })
  await waitFor('B to connect to the seeder and A', () => tb.peers.size >= 2 && ta.peers.size >= 2, 5000)
  const l = await startClient()
  const tl = l.add(tt.metainfo, { dir: tmpDir(), seed: true, peers: [{ host: '127.0.0.1', port: a.port() }] })
  const others = [seed.client.port(), b.port()]
  await waitFor('a PEX-learned peer', () => [...tl.peers.values()].some((p) => others.includes(p.address.port)), 10_000)
  await whenDone(tl)
})

test('bt metainfo MAGNET save writes a torrent with the same info hash', async () => {
  const tt = await makeTestTorrent([700_000, 10], { pieceLength: 32768, seed: 14 })
  const seed = await seedWith(tt)
  const out = join(tmpDir(), 'got.torrent')
  const magnet = `magnet:?xt=urn:btih:${tt.metainfo.infoHash}&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce`
  const r = await bt(['metainfo', magnet, 'save', '-o', out, '--no-dht', '--peer', seed.addr, '--metadata-timeout', '20'], { timeoutMs: 30_000 })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout.trim(), out)
  const m = parseTorrent(readFileSync(out))
  assert.is(m.infoHash, tt.metainfo.infoHash)
  assert.equal(m.announce, [['http://127.0.0.1:1/announce']])
  const back = await bt(['metainfo', out, 'magnet'])
  assert.match(back.stdout, new RegExp(`xt=urn:btih:${tt.metainfo.infoHash}`))
  // nowhere to look (no DHT, tracker or peer): said at once, exit 2 (issue 15)
  const none = await bt(['metainfo', `magnet:?xt=urn:btih:${'ab'.repeat(20)}`, 'save', '--no-dht', '--metadata-timeout', '1'], { timeoutMs: 15_000 })
  assert.is(none.code, 2, none.stderr)
  assert.match(none.stderr, /^bt: no way to find peers/)
  // a tracker that finds no peer: a clear error after the timeout, exit 3
  const dead = await bt(['metainfo', `magnet:?xt=urn:btih:${'ab'.repeat(20)}&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce`, 'save', '--no-dht', '--metadata-timeout', '1'], { timeoutMs: 15_000 })
  assert.is(dead.code, 3, dead.stderr)
  assert.match(dead.stderr, /^bt: .*no metadata after 1 s/m)
})

test.run()
