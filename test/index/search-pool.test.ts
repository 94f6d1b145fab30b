// SearchPool: searches of an SQLite index on worker threads (bt serve's). Its answers are the store's own, searches in
// flight at once spread over the workers, a commit by another connection is seen by the next search, a worker that
// dies is replaced, and close() ends the threads.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { parseQuery } from '../../src/index/query/index.js'
import { SqliteIndex } from '../../src/index/sqlite.js'
import { SearchPool } from '../../src/index/search-pool.js'
import { openIndex } from '../../src/index/open.js'
import type { SearchOptions, TorrentRecord } from '../../src/index/types.js'

const dir = tmpDir()
const path = join(dir, 'index.db')
const h = (n: number) => n.toString(16).padStart(40, '0')
const SHOWS = ['Kari Moto', 'Sane Luvi', 'Dor Anel', 'Tragon Misha']
const records: TorrentRecord[] = []
for (let i = 0; i < 400; i++) {
  const show = SHOWS[i % SHOWS.length].replace(' ', '.')
  const name = i % 3 === 0 ? `${show}.${1990 + (i % 30)}.1080p.BluRay.x264-GRP` : `${show}.S0${1 + (i % 4)}E${String(1 + (i % 20)).padStart(2, '0')}.720p.WEB-DL.x265-TEAM`
  records.push({ infoHash: h(i + 1), name, size: 1e6 * (i + 1), publishedAt: 1.6e12 + i * 60_000, source: 'test', seeders: i % 17 })
}

const cases: [string, SearchOptions][] = [
  ['kari', {}],
  ['kari type:tv season:2', { sort: 'date', limit: 10, offset: 3 }],
  ['type:movie', { sort: 'size', limit: 100, count: true }],
  ['luvi', { facets: true, countLimit: 20 }],
  ['', { sort: 'seeders', facets: true }],
  ['dor -anel', { count: true }],
]

test('the pool answers as the store does, from worker threads', async () => {
  const writer = SqliteIndex.open(path)
  await writer.upsert(records)
  await writer.close()
  const plain = SqliteIndex.open(path)
  const pool = SearchPool.open(path, { threads: 2 })
  try {
    assert.is(pool.threads, 2)
    for (const [q, o] of cases) assert.equal(await pool.search(parseQuery(q), o), await plain.search(parseQuery(q), o), q)
    assert.is(pool.workerSearches, cases.length)
    // Many at once: all answered, each right.
    const many = await Promise.all(Array.from({ length: 60 }, (_, i) => pool.search(parseQuery(cases[i % cases.length][0]), cases[i % cases.length][1])))
    for (let i = 0; i < many.length; i++) assert.equal(many[i], await plain.search(parseQuery(cases[i % cases.length][0]), cases[i % cases.length][1]))
    assert.is(pool.workerSearches, cases.length + 60)
    // get/count go to the pool's own connection.
    assert.is(await pool.count(), 400)
    assert.is((await pool.get(h(5)))!.name, records[4].name)
  } finally {
    await plain.close()
    await pool.close()
  }
})

test('a page rendered in the worker is the text the main thread would render (Torznab RSS, JSON items)', async () => {
  const { renderers, renderedSearch } = await import('../../src/server/search/renderers.js')
  const plain = SqliteIndex.open(path)
  const pool = SearchPool.open(path, { threads: 2 })
  try {
    const q = parseQuery('kari type:tv')
    const o: SearchOptions = { limit: 30, offset: 2, sort: 'date' }
    const items = (await plain.search(q, o)).items
    assert.is(items.length, 30)
    const before = pool.workerSearches
    const rss = await renderedSearch(pool, q, o, 'torznab', 'http://127.0.0.1/torznab/api?t=search', 2)
    assert.equal(rss, { text: renderers.torznab(items, 'http://127.0.0.1/torznab/api?t=search', 2), count: 30 })
    const json = await renderedSearch(pool, q, o, 'jsonItems')
    assert.equal(JSON.parse(json.text), JSON.parse(renderers.jsonItems(items)))
    assert.is(pool.workerSearches, before + 2)
    // The same through a store without workers.
    assert.equal(await renderedSearch(plain, q, o, 'jsonItems'), json)
  } finally {
    await plain.close()
    await pool.close()
  }
})

test('a commit by another connection is seen by the next search', async () => {
  const pool = SearchPool.open(path, { threads: 2 })
  const writer = SqliteIndex.open(path)
  try {
    assert.is((await pool.search(parseQuery('zebulon'), { count: true })).total, 0)
    await writer.upsert([{ infoHash: h(9999), name: 'Zebulon.2020.1080p.WEB-DL', source: 'test' }])
    for (let i = 0; i < 4; i++) assert.is((await pool.search(parseQuery('zebulon'), { count: true })).total, 1)
  } finally {
    await writer.close()
    await pool.close()
  }
})

test('a worker that dies fails only its own searches and is replaced', async () => {
  const pool = SearchPool.open(path, { threads: 1 })
  try {
    const slot = (pool as unknown as { slots: { worker: import('node:worker_threads').Worker }[] }).slots[0]
    const inFlight = pool.search(parseQuery('kari'), {})
    await slot.worker.terminate()
    // Either it was answered before the end, or it fails with a clear error; it never hangs.
    await inFlight.then(() => {}, (err: Error) => assert.match(err.message, /search worker exited/))
    const before = pool.workerSearches
    const r = await pool.search(parseQuery('kari type:movie'), { count: true })
    assert.ok(r.total! > 0)
    assert.is(pool.threads, 1)
    assert.is(pool.workerSearches, before + 1)
  } finally {
    await pool.close()
  }
})

test('openIndex with searchThreads gives a pool; without, the plain store; close ends the workers', async () => {
  const pooled = await openIndex(path, {}, { searchThreads: 2 })
  const plain = await openIndex(path, {})
  try {
    assert.ok(pooled instanceof SearchPool)
    assert.ok(plain instanceof SqliteIndex)
    assert.equal(await pooled.search(parseQuery('sane'), { count: true }), await plain.search(parseQuery('sane'), { count: true }))
  } finally {
    await plain.close()
    await pooled.close()
  }
  assert.is((pooled as SearchPool).threads, 0)
})

test.run()
