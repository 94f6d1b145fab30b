// POST /graphql on a real bt serve over ~3200 imported torrents: bitmagnet-shaped torrentContent.search with
// facets, paging and aggregations, a torrent's files, introspection, the API key, and the error cases (syntax,
// validation, bad input, depth, cost, oversize documents).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { buildIndex, SHOWS } from './search-fixture.js'
import { startServe, http, type Serve } from './helpers.js'

const KEY = 'gql-key-77'
let s: Serve

const watchdog = setTimeout(() => {
  console.error('graphql.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
watchdog.unref()

test.before(async () => {
  const { db } = await buildIndex()
  const keyFile = join(tmpDir(), 'key')
  writeFileSync(keyFile, `${KEY}\n`)
  s = await startServe({ args: ['--db', db, '--api-key-file', keyFile] })
})

test.after(async () => {
  clearTimeout(watchdog)
  await s?.stop()
})

const gql = (query: string, variables?: unknown, key: string | null = KEY) =>
  http(`${s.url}/graphql`, { body: { query, variables }, headers: key === null ? {} : { 'X-Api-Key': key } })

const SEARCH = `query TorrentContentSearch($input: TorrentContentSearchQueryInput!) {
  torrentContent {
    search(input: $input) {
      totalCount
      totalCountIsEstimate
      hasNextPage
      items {
        id infoHash contentType title releaseYear videoResolution videoSource releaseGroup seeders leechers publishedAt
        languages { id name }
        episodes { label seasons { season episodes } }
        torrent { name size filesCount magnetUri }
      }
      aggregations {
        contentType { value label count }
        videoResolution { value count }
        releaseYear { value count }
      }
    }
  }
}`

test('a bitmagnet-style search: facets filter, totals, paging, aggregations', async () => {
  const r = await gql(SEARCH, { input: { queryString: SHOWS[2], limit: 10, facets: { contentType: { aggregate: true, filter: ['tv_show'] }, videoResolution: { filter: ['V1080p'] } } } })
  assert.is(r.status, 200, r.text)
  assert.not.ok(r.json.errors, r.text)
  const res = r.json.data.torrentContent.search
  // 3 seasons × 12 episodes at 1080p, and the 3 packs.
  assert.is(res.totalCount, 39)
  assert.is(res.totalCountIsEstimate, false)
  assert.is(res.hasNextPage, true)
  assert.is(res.items.length, 10)
  for (const it of res.items) {
    assert.is(it.contentType, 'tv_show')
    assert.is(it.videoResolution, '1080p')
    assert.is(it.title, SHOWS[2])
    assert.match(it.torrent.magnetUri, new RegExp(`^magnet:\\?xt=urn:btih:${it.infoHash}`))
    assert.match(it.episodes.label, /^S0[1-3](E\d\d)?$/)
  }
  assert.equal(res.aggregations.contentType, [{ value: 'tv_show', label: 'tv_show', count: 39 }])
  assert.equal(res.aggregations.videoResolution, [{ value: '1080p', count: 39 }])
  // Pages of 10 cover the 39 once each.
  const seen = new Set<string>()
  for (let page = 1; page <= 4; page++) {
    const p = await gql(SEARCH, { input: { queryString: SHOWS[2], limit: 10, page, orderBy: [{ field: 'published_at', descending: true }], facets: { videoResolution: { filter: ['1080p'] } } } })
    for (const it of p.json.data.torrentContent.search.items) seen.add(it.infoHash)
    assert.is(p.json.data.torrentContent.search.hasNextPage, page < 4)
  }
  assert.is(seen.size, 39)
})

test("a torrent's files, inline and through torrent.files", async () => {
  const r = await gql(`{ torrentContent { search(input: { queryString: "album", limit: 2 }) { items { infoHash torrent { files { index path size extension fileType } } } } } }`)
  assert.not.ok(r.json.errors, r.text)
  const items = r.json.data.torrentContent.search.items
  assert.is(items.length, 2)
  for (const it of items) assert.equal(it.torrent.files.map((f: any) => [f.index, f.extension, f.fileType]), [[0, 'flac', 'audio']])
  const f = await gql(`query F($h: [String!]!) { torrent { files(input: { infoHashes: $h }) { totalCount hasNextPage items { infoHash path size } } } }`, { h: items.map((i: any) => i.infoHash) })
  assert.not.ok(f.json.errors, f.text)
  assert.is(f.json.data.torrent.files.totalCount, 2)
  assert.match(f.json.data.torrent.files.items[0].path, /01 Track\.flac$/)
})

test('introspection is on; the API key is required', async () => {
  const r = await gql('{ __schema { queryType { name } types { name } } }')
  assert.is(r.json.data.__schema.queryType.name, 'Query')
  const names = r.json.data.__schema.types.map((t: any) => t.name)
  for (const n of ['TorrentContent', 'TorrentContentSearchResult', 'TorrentContentAggregations', 'TorrentFile']) assert.ok(names.includes(n), n)
  assert.is((await gql('{ __typename }', undefined, null)).status, 401)
  assert.is((await gql('{ __typename }', undefined, 'wrong')).status, 401)
})

test('errors: syntax, unknown fields, bad input, depth, cost, size — fast, one message each', async () => {
  const cases: [string, unknown, number, RegExp][] = [
    ['{ torrentContent { search(input: {', undefined, 400, /Syntax Error/],
    ['{ torrentContent { nope } }', undefined, 400, /Cannot query field "nope"/],
    [SEARCH, { input: { queryString: '"open' } }, 200, /unterminated phrase/],
    [SEARCH, { input: { limit: 100000 } }, 200, /limit: 0 to 1000/],
    [SEARCH, { input: { facets: { contentType: { filter: ['spaceship'] } } } }, 400, /spaceship/],
    [`{ torrent { files(input: { infoHashes: ["zz"] }) { totalCount } } }`, undefined, 200, /not 40 hex/],
    // Depth: a fragment nests deeper than the limit.
    [`{ torrentContent { search(input: {}) { items { torrent { files { path } } } } } } query B { __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }`, undefined, 400, /too deep|must be the only|anonymous/],
    [`{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }`, undefined, 400, /too deep/],
    // Cost: many aliases of a field.
    [`{ ${Array.from({ length: 450 }, (_, i) => `a${i}: __typename`).join(' ')} }`, undefined, 400, /too costly/],
    // Cost at run time: each search alias and each item's files is an index lookup.
    [`{ ${Array.from({ length: 61 }, (_, i) => `s${i}: torrentContent { search(input: { limit: 1 }) { totalCount } }`).join(' ')} }`, undefined, 200, /too costly/],
    ['x'.repeat(20_001), undefined, 400, /longer than 20000 bytes/],
    ['', undefined, 400, /document is required/],
  ]
  for (const [query, variables, status, re] of cases) {
    const t0 = performance.now()
    const r = await gql(query, variables)
    assert.ok(performance.now() - t0 < 2000, `${query.slice(0, 40)} took ${performance.now() - t0} ms`)
    assert.is(r.status, status, `${query.slice(0, 60)}: ${r.text.slice(0, 300)}`)
    assert.ok(Array.isArray(r.json.errors) && r.json.errors.length > 0, r.text.slice(0, 300))
    assert.match(r.json.errors.map((e: any) => e.message).join(' | '), re)
  }
  // GET works for queries too.
  const g = await http(`${s.url}/graphql?query=${encodeURIComponent('{ torrentContent { search(input: {limit: 1}) { totalCount } } }')}`, { headers: { 'X-Api-Key': KEY } })
  assert.ok(g.json.data.torrentContent.search.totalCount > 3000)
})

test.run()
