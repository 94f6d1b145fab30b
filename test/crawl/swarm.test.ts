// The crawler against a local DHT on 127.0.0.1: 10 bt DHT nodes and 12 python3-libtorrent nodes (which answer
// BEP 51), with libtorrent seeding 50 torrents and a bt Client seeding 5 more. It must find at least 95% of them
// within 60 s with their metadata and files; stopping writes the pending batch; a restart reuses the node ids,
// the routing table and the seen-filter.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Crawler } from '../../src/crawl/crawler.js'
import { CrawlerPool } from '../../src/crawl/crawler-pool.js'
import { Client } from '../../src/session/client.js'
import { loadTorrentFile } from '../../src/metainfo/load.js'
import { startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { delay } from '../helpers/wait.js'
import { makeTorrents, MemoryIndex, startLtDhtSwarm, type LtDhtSwarm, type MadeTorrent } from './helpers.js'

let swarm: DhtSwarm
let lt: LtDhtSwarm
let client: Client
let torrents: MadeTorrent[]
let bootstrap: Array<{ host: string; port: number }>
const crawlers: Array<Crawler | CrawlerPool> = []

test.before(async () => {
  const dir = tmpDir('bt-crawl-')
  swarm = await startDhtSwarm(10)
  bootstrap = swarm.bootstrap.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) }))
  torrents = await makeTorrents(dir, 55)
  lt = await startLtDhtSwarm({ bootstrap: swarm.bootstrap, sessions: 12, sampleInterval: 0, seeds: torrents.slice(0, 50) })
  client = new Client({ port: 0, host: '127.0.0.1', resumeDir: join(dir, 'resume'), dht: { bootstrap: swarm.bootstrap, statePath: join(dir, 'dht.json') } })
  await client.listen()
  for (const t of torrents.slice(50)) {
    client.add(await loadTorrentFile(t.torrentPath), { dir: t.saveDir, seed: true })
  }
})

test.after(async () => {
  await Promise.all(crawlers.map((c) => c.stop()))
  await client?.destroy()
  await lt?.stop()
  await swarm?.stop()
})

function found(index: MemoryIndex): MadeTorrent[] {
  return torrents.filter((t) => index.rows.has(t.infoHash))
}

test('finds at least 95% of 55 torrents within 60 s, with name, files and size from their metadata', async () => {
  const index = new MemoryIndex()
  const c = new Crawler({ index, bootstrap, host: '127.0.0.1', identities: 2, rate: 400, minSampleIntervalS: 2, flushMs: 500 })
  crawlers.push(c)
  await c.start()
  const started = Date.now()
  while (Date.now() - started < 60_000 && found(index).length < torrents.length) await delay(500)
  const got = found(index)
  const secs = ((Date.now() - started) / 1000).toFixed(1)
  const s = c.stats()
  assert.ok(got.length >= Math.ceil(torrents.length * 0.95),
    `found ${got.length}/${torrents.length} in ${secs} s; stats ${JSON.stringify({ ...s, lastNames: undefined })}`)
  console.log(`found ${got.length}/${torrents.length} in ${secs} s (${s.infoHashes.discovered} hashes seen, ${s.queriesOutPerS} q/s)`)
  for (const t of got) {
    const r = index.rows.get(t.infoHash)!
    assert.is(r.name, t.name)
    assert.is(r.source, 'dht')
    assert.is(r.files!.length, t.files)
    assert.is(r.size, r.files!.reduce((a, f) => a + f.size, 0))
    if (t.files > 1) assert.ok(r.files!.every((f) => f.path.startsWith(`${t.name}/`)), 'multi-file paths start with the name')
  }
  // bt's own seeder (the Client) is among the sources: its 5 torrents are announced only through bt's DHT node.
  assert.ok(torrents.slice(50).some((t) => index.rows.has(t.infoHash)), 'at least one torrent seeded by bt was found')
  assert.ok(Object.values(s.contentTypesLastHour).reduce((a, b) => a + b, 0) >= got.length, 'every fetched torrent was classified')
  assert.ok(s.lastNames.length > 0)
  await c.stop()
})

test('--workers: two crawlers on worker threads, a keyspace shard each, one index on the main thread', async () => {
  const index = new MemoryIndex()
  const stateDir = tmpDir('bt-crawl-pool-')
  const pool = new CrawlerPool({ index, bootstrap, host: '127.0.0.1', identities: 2, rate: 400, minSampleIntervalS: 2, flushMs: 500, stateDir })
  crawlers.push(pool)
  const ports = await pool.start()
  assert.is(ports.length, 2)
  assert.is.not(ports[0], ports[1])
  const started = Date.now()
  while (Date.now() - started < 60_000 && found(index).length < torrents.length * 0.9) await delay(500)
  const got = found(index)
  assert.ok(got.length >= Math.ceil(torrents.length * 0.9), `found ${got.length}/${torrents.length}; stats ${JSON.stringify({ ...pool.stats(), lastNames: undefined })}`)
  console.log(`workers: found ${got.length}/${torrents.length} ${((Date.now() - started) / 1000).toFixed(1)} s after both started`)
  for (const t of got) assert.is(index.rows.get(t.infoHash)!.name, t.name)
  await pool.stop()
  // Each worker posts its last stats before it ends: the sum covers everything fetched.
  const s = pool.stats()
  assert.is(s.identities, 2)
  assert.ok(s.metadata.fetched >= got.length, `stats are the sum of both workers (${s.metadata.fetched} fetched)`)
  assert.ok(s.routingTable > 0)
  assert.ok(existsSync(join(stateDir, 'w0', 'state.json')) && existsSync(join(stateDir, 'w1', 'state.json')), 'each worker saved its state')
})

test('stop writes the pending batch; a restart reuses node ids, routing table and seen-filter', async () => {
  const stateDir = tmpDir('bt-crawl-state-')
  const index = new MemoryIndex()
  // A batch that would never fill and a flush timer that would never fire: only stop() can write it.
  const c1 = new Crawler({ index, bootstrap, host: '127.0.0.1', rate: 400, minSampleIntervalS: 2, stateDir, batchSize: 100_000, flushMs: 3_600_000 })
  crawlers.push(c1)
  await c1.start()
  const started = Date.now()
  while (Date.now() - started < 30_000 && c1.stats().metadata.fetched < 20) await delay(250)
  const fetched = c1.stats().metadata.fetched
  assert.ok(fetched >= 20, `fetched ${fetched}`)
  assert.is(index.rows.size, 0, 'nothing written before stop')
  const ids = c1.nodeIds.map((b) => b.toString('hex'))
  await c1.stop()
  assert.ok(index.rows.size >= fetched, `stop wrote the pending batch (${index.rows.size} rows, ${fetched} fetched)`)
  assert.ok(existsSync(join(stateDir, 'seen.bloom')))
  const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'))
  assert.equal(state.ids, ids)
  assert.ok(state.nodes.length >= 10, `saved ${state.nodes.length} nodes`)

  // Restart against an empty index: the seen-filter alone must keep it from fetching the same torrents again.
  const index2 = new MemoryIndex()
  const c2 = new Crawler({ index: index2, bootstrap, host: '127.0.0.1', rate: 400, minSampleIntervalS: 2, stateDir, flushMs: 500 })
  crawlers.push(c2)
  await c2.start()
  assert.equal(c2.nodeIds.map((b) => b.toString('hex')), ids, 'same node id')
  assert.ok(c2.table.size >= state.nodes.length, 'routing table loaded before any answer')
  await delay(6000)
  const s = c2.stats()
  assert.ok(s.infoHashes.discovered > 0, 'it sampled again')
  const refetched = [...index2.rows.keys()].filter((h) => index.rows.has(h))
  assert.is(refetched.length, 0, `re-fetched ${refetched.length} torrents seen before the restart`)
  await c2.stop()
})

test.run()
