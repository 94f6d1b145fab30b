// Search answers reused until the index changes: the AnswerCache on its own (hit, TTL, index version, one
// computation for identical requests in flight, failures not kept), then a real bt serve whose Torznab RSS sync and
// JSON search see torrents that another process (`bt import`) adds to the same SQLite index, at once.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import { AnswerCache, sqliteVersion } from '../../src/server/search/answer-cache.js'
import { jsonSearchPlugin } from '../../src/server/search/json-search.js'
import { runGraphql, stableJson } from '../../src/server/search/graphql.js'
import type { IndexStore, SearchOptions } from '../../src/index/types.js'
import { bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { startServe, http, type Serve } from './helpers.js'

const watchdog = setTimeout(() => {
  console.error('answer-cache.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
watchdog.unref()

const answer = (s: string) => ({ body: Buffer.from(s), type: 'text/plain' })

test('AnswerCache: hits, index version, TTL, shared in-flight computation, failures not kept', async () => {
  let version = 'v1'
  let computed = 0
  const c = new AnswerCache(() => version, 200)
  const compute = async () => answer(`n${++computed}`)
  assert.is((await c.get('a', compute)).body.toString(), 'n1')
  assert.is((await c.get('a', compute)).body.toString(), 'n1')
  assert.is((await c.get('b', compute)).body.toString(), 'n2')
  version = 'v2' // the index changed
  assert.is((await c.get('a', compute)).body.toString(), 'n3')
  await new Promise((r) => setTimeout(r, 250)) // past the TTL
  assert.is((await c.get('a', compute)).body.toString(), 'n4')
  // Ten identical requests at once: one computation.
  let slow = 0
  const many = await Promise.all(Array.from({ length: 10 }, () => c.get('s', async () => {
    slow++
    await new Promise((r) => setTimeout(r, 20))
    return answer('slow')
  })))
  assert.is(slow, 1)
  assert.ok(many.every((x) => x.body.toString() === 'slow'))
  // A failure reaches every waiter and is not cached.
  const failed = await c.get('f', async () => { throw new Error('boom') }).then(() => 'resolved', (e: Error) => e.message)
  assert.is(failed, 'boom')
  assert.is((await c.get('f', async () => answer('ok'))).body.toString(), 'ok')
  assert.is(c.misses, 7)
})

test('AnswerCache: bounded size', async () => {
  const c = new AnswerCache(() => '', 60_000, 3)
  let n = 0
  for (const k of ['a', 'b', 'c', 'd']) await c.get(k, async () => answer(String(++n)))
  assert.is((await c.get('d', async () => answer('new'))).body.toString(), '4')
  assert.is((await c.get('a', async () => answer('again'))).body.toString(), 'again', 'the oldest entry went')
})

test('JSON search: the next page and a re-sort reuse the total and facets (one counting search per query)', async () => {
  const calls: SearchOptions[] = []
  // A stand-in store that records what it is asked; the cache layer in front of it is what is under test.
  const store = {
    async search(_q: unknown, o: SearchOptions) {
      calls.push(o)
      const items = Array.from({ length: o.limit ?? 0 }, (_, i) => ({ infoHash: String(i).padStart(40, '0'), name: `n${i}`, size: 1, fileCount: 1, publishedAt: 0, addedAt: 0, partial: false, private: false, trackers: [], classification: { contentType: 'movie', seasons: [], episodes: [], languages: [], complete: false } }))
      return { items, ...(o.count ? { total: 123 } : {}), ...(o.facets ? { facets: { type: [{ value: 'movie', count: 123 }], year: [], resolution: [], language: [], source: [] } } : {}) }
    },
  } as unknown as IndexStore
  const app = Fastify()
  await app.register(jsonSearchPlugin({ get: async () => store, close: async () => {} }, new AnswerCache(() => '', 60_000)))
  const get = async (qs: string) => JSON.parse((await app.inject({ url: `/api/v1/search?${qs}` })).body)
  const p1 = await get('q=matrix&limit=2')
  const p2 = await get('q=matrix&limit=2&offset=2')
  const sorted = await get('q=matrix&limit=2&sort=size')
  for (const p of [p1, p2, sorted]) {
    assert.is(p.total, 123)
    assert.equal(p.facets.type, [{ value: 'movie', count: 123 }])
    assert.is(p.items.length, 2)
  }
  assert.is(p2.offset, 2)
  assert.is(calls.filter((o) => o.count || o.facets).length, 1, 'one counting search for the three pages')
  assert.is(calls.filter((o) => !o.count && !o.facets).length, 3, 'one page search each')
  const other = await get('q=other&limit=2&facets=0')
  assert.is(other.facets, undefined)
  assert.is(calls.filter((o) => o.count).length, 2)
  await app.close()
})

test('GraphQL: answers kept by canonical document + variables + operation, until the index changes; errors not kept', async () => {
  let searches = 0
  let failNext = false
  const store = {
    async search(_q: unknown, o: SearchOptions) {
      searches++
      if (failNext) {
        failNext = false
        throw new Error('store down')
      }
      return { items: [], total: 7 + (o.offset ?? 0) }
    },
  } as unknown as IndexStore
  let version = 'v1'
  const cache = new AnswerCache(() => version, 60_000)
  const handle = { get: async () => store, close: async () => {} }
  const q = 'query Q($input: TorrentContentSearchQueryInput!) { torrentContent { search(input: $input) { totalCount } } }'
  const run = async (query: string, variables: unknown, operationName?: string) => {
    const r = await runGraphql(handle, { query, variables, operationName }, cache)
    return { status: r.status, json: JSON.parse(Buffer.isBuffer(r.body) ? r.body.toString() : JSON.stringify(r.body)) }
  }
  const a = await run(q, { input: { queryString: 'x', offset: 0 } })
  assert.is(a.json.data.torrentContent.search.totalCount, 7)
  assert.is(searches, 1)
  // Another spelling of the same document (spacing, a comment) and the variables' keys in another order: a hit.
  await run(`# the same\n${q.replace(/ /g, '   ')}`, { input: { offset: 0, queryString: 'x' } })
  await run(q, { input: { queryString: 'x', offset: 0 } }, 'Q')
  assert.is(searches, 2, 'operationName is part of the key')
  await run(`# the same\n${q.replace(/ /g, '   ')}`, { input: { offset: 0, queryString: 'x' } })
  assert.is(searches, 2)
  // Other variables: another search.
  assert.is((await run(q, { input: { queryString: 'x', offset: 3 } })).json.data.torrentContent.search.totalCount, 10)
  assert.is(searches, 3)
  // The index changed: computed again.
  version = 'v2'
  await run(q, { input: { queryString: 'x', offset: 0 } })
  assert.is(searches, 4)
  // A store failure is answered as a GraphQL error and not kept: the next identical request searches again.
  failNext = true
  const failed = await run(q, { input: { queryString: 'y' } })
  assert.match(JSON.stringify(failed.json.errors), /store down/)
  const again = await run(q, { input: { queryString: 'y' } })
  assert.is(again.json.data.torrentContent.search.totalCount, 7)
  assert.is(searches, 6)
  // Validation errors are still 400 with their message (remembered with the document, no search).
  const bad = await run('{ torrentContent { nope } }', undefined)
  assert.is(bad.status, 400)
  assert.match(bad.json.errors[0].message, /nope/)
  assert.is(searches, 6)
  assert.is(stableJson({ b: [1, { d: 1, c: 2 }], a: null }), '{"a":null,"b":[1,{"c":2,"d":1}]}')
})

let s: Serve | undefined
test.after(async () => {
  await s?.stop()
})

test('bt serve: an import by another process shows in the next RSS sync and JSON search', async () => {
  const dir = tmpDir('bt-answer-cache-')
  const db = join(dir, 'index.db')
  const rec = (i: number, name: string) => ({ infoHash: (i.toString(16).padStart(8, '0') + 'ab'.repeat(16)), name, size: 1e9, publishedAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(), seeders: i })
  const load = async (records: object[]) => {
    const f = join(dir, `batch-${Math.random().toString(36).slice(2)}.ndjson`)
    writeFileSync(f, records.map((r) => JSON.stringify(r)).join('\n') + '\n')
    const r = await bt(['import', '--db', db, '--quiet', f], { timeoutMs: 30_000 })
    assert.is(r.code, 0, r.stderr)
  }
  await load(Array.from({ length: 50 }, (_, i) => rec(i + 1, `Old.Show.S01E${String(i + 1).padStart(2, '0')}.1080p.WEB-DL.x264-GRP`)))
  const sig = sqliteVersion(db)
  const before = sig()
  s = await startServe({ args: ['--db', db] })
  const rss = `${s.url}/torznab/api?t=tvsearch&cat=5000&limit=5`
  const json = `${s.url}/api/v1/search?q=show&limit=5&sort=date`
  const gql = () => http(`${s!.url}/graphql`, { body: { query: '{ torrentContent { search(input: { queryString: "show", orderBy: [{ field: published_at, descending: true }], limit: 1 }) { totalCount items { title torrent { name } } } } }' } })
  const g1 = await gql()
  assert.is(g1.status, 200, g1.text)
  assert.is(g1.json.data.torrentContent.search.totalCount, 50)
  assert.is((await gql()).text, g1.text, 'the same GraphQL answer again')
  const first = await http(rss)
  assert.match(first.text, /Old\.Show\.S01E50/)
  assert.is((await http(rss)).text, first.text, 'the same answer again')
  assert.is((await http(json)).json.items[0].name, 'Old.Show.S01E50.1080p.WEB-DL.x264-GRP')
  assert.is((await http(json)).json.total, 50)
  await load([rec(1000, 'New.Show.S02E01.1080p.WEB-DL.x264-GRP')])
  assert.is.not(sig(), before, 'the import changed the index files')
  const after = await http(rss)
  assert.match(after.text, /New\.Show\.S02E01/)
  assert.is((await http(json)).json.items[0].name, 'New.Show.S02E01.1080p.WEB-DL.x264-GRP')
  assert.is((await http(`${json}&offset=5`)).json.total, 51, 'the counts follow the index too')
  const g2 = (await gql()).json.data.torrentContent.search
  assert.is(g2.totalCount, 51, 'GraphQL follows the index')
  assert.is(g2.items[0].torrent.name, 'New.Show.S02E01.1080p.WEB-DL.x264-GRP')
  // A bad request is a 400 each time, never a cached success.
  assert.is((await http(`${s.url}/api/v1/search?q=show&limit=x`)).status, 400)
  assert.is((await http(`${s.url}/api/v1/search?q=show&limit=x`)).status, 400)
})

test.run()
