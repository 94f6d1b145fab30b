// GET /api/v1/search on a real bt serve over ~3200 imported torrents: bt search's grammar and option filters,
// totals and facets, paging, sort orders, one torrent with its files, and 400s with one-line messages.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { bt } from '../helpers/cli.js'
import { buildIndex, SHOWS } from './search-fixture.js'
import { startServe, http, type Serve } from './helpers.js'

let s: Serve
let db: string
let total = 0

const watchdog = setTimeout(() => {
  console.error('search-api.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
watchdog.unref()

test.before(async () => {
  const built = await buildIndex()
  db = built.db
  total = built.records.length
  s = await startServe({ args: ['--db', db] })
})

test.after(async () => {
  clearTimeout(watchdog)
  await s?.stop()
})

const get = (qs: string) => http(`${s.url}/api/v1/search?${qs}`)

test('no query: the newest first, total and facets of the whole index', async () => {
  const r = await get('limit=5')
  assert.is(r.status, 200)
  assert.is(r.json.total, total)
  assert.is(r.json.totalIsEstimate, false)
  assert.is(r.json.items.length, 5)
  assert.is(r.json.hasMore, true)
  const dates = r.json.items.map((i: any) => i.publishedAt)
  assert.equal(dates, [...dates].sort((a: number, b: number) => b - a))
  const f = r.json.facets
  for (const k of ['type', 'year', 'resolution', 'language', 'source']) assert.ok(Array.isArray(f[k]), k)
  const types = Object.fromEntries(f.type.map((x: any) => [x.value, x.count]))
  assert.ok(types.tv_show > 700 && types.movie > 250 && types.music >= 300, JSON.stringify(types))
  const it = r.json.items[0]
  assert.match(it.magnet, new RegExp(`^magnet:\\?xt=urn:btih:${it.infoHash}`))
  assert.ok(Array.isArray(it.categories) && it.categories.length > 0)
})

test('the grammar and the filters agree with bt search on the same index', async () => {
  // [query string, bt search options, bt search words]
  const cases: [string, string[], string[]][] = [
    [`q=${encodeURIComponent(`"${SHOWS[1]}" season:2 res:1080p`)}`, [], [`"${SHOWS[1]}"`, 'season:2', 'res:1080p']],
    [`q=${encodeURIComponent('paper moon -2160p')}&type=movie&year=1990..1995`, ['--type', 'movie', '--year', '1990..1995'], ['paper moon -2160p']],
    ['q=ubuntu&min-size=1G&sort=name&limit=20', ['--min-size', '1G', '--sort', 'name', '--limit', '20'], ['ubuntu']],
    ['type=music&year=2005..2008&limit=10', ['--type', 'music', '--year', '2005..2008', '--limit', '10'], []],
  ]
  for (const [qs, opts, words] of cases) {
    const r = await get(qs)
    assert.is(r.status, 200, `${qs}: ${r.text}`)
    assert.ok(r.json.items.length > 0, qs)
    const cli = await bt(['search', '--db', db, '--json', ...(opts.includes('--limit') ? [] : ['--limit', '50']), ...opts, ...words])
    assert.is(cli.code, 0, cli.stderr)
    const want = cli.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).infoHash)
    assert.equal(r.json.items.map((i: any) => i.infoHash), want, qs)
  }
  const eps = await get(`q=${encodeURIComponent(SHOWS[1])}&season=2&res=1080p&limit=100`)
  assert.is(eps.json.total, 12 + 1)
  for (const i of eps.json.items) assert.equal(i.classification.seasons, [2])
})

test('paging: offset pages join into the full ordered list', async () => {
  const all = await get('q=album&sort=name&limit=120&facets=0')
  assert.is(all.json.total, 300)
  const pages: string[] = []
  for (let off = 0; off < 120; off += 40) pages.push(...(await get(`q=album&sort=name&limit=40&offset=${off}&facets=0`)).json.items.map((i: any) => i.infoHash))
  assert.equal(pages, all.json.items.map((i: any) => i.infoHash))
  const last = await get('q=album&limit=50&offset=290&facets=0')
  assert.is(last.json.items.length, 10)
  assert.is(last.json.hasMore, false)
})

test('one torrent with its files', async () => {
  const one = (await get('q=album&limit=1')).json.items[0]
  const r = await http(`${s.url}/api/v1/search/torrents/${one.infoHash}`)
  assert.is(r.status, 200)
  assert.is(r.json.name, one.name)
  assert.is(r.json.files.length, 1)
  assert.match(r.json.files[0].path, /\.flac$/)
  assert.is((await http(`${s.url}/api/v1/search/torrents/${'0'.repeat(40)}`)).status, 404)
  assert.is((await http(`${s.url}/api/v1/search/torrents/xyz`)).status, 400)
})

test('bad input: 400 with one line, and hostile queries answer fast', async () => {
  for (const [qs, re] of [
    ['q=%22unterminated', /unterminated phrase/],
    ['q=foo:bar', /unknown filter/],
    ['type=spaceship', /unknown type/],
    ['sort=random', /sort: one of/],
    ['limit=100000', /limit/],
    ['offset=-3', /offset/],
    [`q=${'x'.repeat(1001)}`, /longer than 1000/],
    [Array.from({ length: 100 }, () => 'type=movie').join('&'), /more than 64 values/],
  ] as const) {
    const r = await get(qs)
    assert.is(r.status, 400, `${qs.slice(0, 50)}: ${r.text.slice(0, 200)}`)
    assert.match(r.json.error, re)
    assert.not.match(r.json.error, /\n|at .*\.js/)
  }
  for (const q of ['OR AND NOT', 'a* b* c* d* e* f* g* h*', 'NEAR(a b)', '"a" "b" "c"', "1' OR '1'='1"]) {
    const t0 = performance.now()
    const r = await get(`q=${encodeURIComponent(q)}`)
    assert.is(r.status, 200, `${q}: ${r.text}`)
    assert.ok(performance.now() - t0 < 1500, `${q} took ${performance.now() - t0} ms`)
  }
  assert.is((await get('limit=0&facets=0')).json.total, total)
})

test('without an index: 503 with a hint, Torznab error 900, and no index file made', async () => {
  const bare = await startServe()
  try {
    const r = await http(`${bare.url}/api/v1/search?q=x`)
    assert.is(r.status, 503)
    assert.match(r.json.error, /no search index at .*index\.db yet \(bt import/)
    const t = await http(`${bare.url}/torznab/api?t=search&q=x`)
    assert.match(t.text, /<error code="900" description="[^"]*no search index/)
    assert.is(existsSync(join(bare.dataDir, 'bt', 'index.db')), false)
  } finally {
    await bare.stop()
  }
})

test.run()
