// Pure parts of search over HTTP: Torznab categories both ways, Torznab parameters → store query, XML escaping,
// plain-words queries, and the JSON API's parameter parsing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { XMLValidator } from 'fast-xml-parser'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { categoriesOf, typesForCategories, CATEGORIES, MAX_CATEGORIES } from '../../src/server/search/categories.js'
import { torznabQuery, TorznabError, xmlEscape, itemXml, capsXml, errorXml, rfc822 } from '../../src/server/search/torznab.js'
import { formatMagnet } from '../../src/metainfo/magnet.js'
import { wordsQuery, magnetOf } from '../../src/server/search/common.js'
import { searchRequest } from '../../src/server/search/json-search.js'
import { runGraphql } from '../../src/server/search/graphql.js'
import type { StoredTorrent } from '../../src/index/types.js'

const torrent = (name: string, c: Partial<StoredTorrent['classification']>): StoredTorrent => ({
  infoHash: 'a'.repeat(40), name, size: 1234, fileCount: 1, publishedAt: Date.UTC(2024, 4, 6, 7, 8, 9), addedAt: 0, partial: false, private: false,
  trackers: ['udp://t.example:1337/announce?x=1&y=2'], classification: { contentType: 'unknown', seasons: [], episodes: [], languages: [], complete: false, ...c },
})

test('categories of items: subcategory first, then the parent', () => {
  const cases: [Partial<StoredTorrent['classification']>, number[], string?][] = [
    [{ contentType: 'movie', resolution: '2160p' }, [2045, 2000]],
    [{ contentType: 'movie', resolution: '1080p' }, [2040, 2000]],
    [{ contentType: 'movie', resolution: '480p' }, [2030, 2000]],
    [{ contentType: 'movie' }, [2000]],
    [{ contentType: 'tv_show', resolution: '720p' }, [5040, 5000]],
    [{ contentType: 'tv_show', resolution: '1080p' }, [5070, 5000], '[Erai-raws] Some Anime - 03 [1080p].mkv'],
    [{ contentType: 'music', audioCodec: 'flac' }, [3040, 3000]],
    [{ contentType: 'music', audioCodec: 'mp3' }, [3000]],
    [{ contentType: 'audiobook' }, [3030, 3000]],
    [{ contentType: 'game' }, [4050, 4000]],
    [{ contentType: 'software' }, [4000]],
    [{ contentType: 'xxx' }, [6000]],
    [{ contentType: 'ebook' }, [7020, 7000]],
    [{ contentType: 'comic' }, [7030, 7000]],
    [{ contentType: 'unknown' }, [8000]],
  ]
  const advertised = new Set(CATEGORIES.flatMap((c) => [c.id, ...c.subcats.map((x) => x.id)]))
  for (const [c, want, name] of cases) {
    const got = categoriesOf(torrent(name ?? 'x', c))
    assert.equal(got, want, JSON.stringify(c))
    for (const id of got) assert.ok(advertised.has(id))
  }
})

test('cat= lists: to content types; foreign ids ignored; bad and huge lists refused', () => {
  assert.equal(typesForCategories(undefined), { none: false })
  assert.equal(typesForCategories('5030,5040'), { types: ['tv_show'], none: false })
  assert.equal(typesForCategories('2000, 3030').types, ['movie', 'audiobook'])
  assert.equal(typesForCategories('100001,2040'), { types: ['movie'], none: false })
  assert.equal(typesForCategories('100001'), { types: [], none: true })
  assert.throws(() => typesForCategories('tv'), /not a category number/)
  assert.throws(() => typesForCategories(Array(MAX_CATEGORIES + 1).fill('2000').join(',')), /more than/)
})

test('Torznab parameters → query: words, season/ep, daily shows, ids alone, limits', () => {
  const a = torznabQuery('tvsearch', { q: 'The Show: "Part" -2 AND*', season: '1', ep: '2' })
  assert.equal(a.query.terms.map((t) => t.tokens), [['the'], ['show'], ['part'], ['2'], ['and']])
  assert.ok(a.query.terms.every((t) => !t.negated && t.kind !== 'prefix'))
  assert.equal(a.query.filters, { types: { any: ['tv_show'] }, seasons: [1], episodes: [2] })
  assert.is(a.sort, 'relevance')
  const daily = torznabQuery('tvsearch', { q: 'talk', season: '2024', ep: '3/5' })
  assert.equal(daily.query.terms[1].tokens, ['2024', '03', '05'])
  assert.is(daily.query.filters.seasons, undefined)
  const rss = torznabQuery('tvsearch', {})
  assert.is(rss.sort, 'date')
  assert.is(rss.limit, 100)
  assert.is(torznabQuery('search', { limit: '7', offset: '9' }).limit, 7)
  assert.is(torznabQuery('search', { limit: '700' }).limit, 100)
  assert.is(torznabQuery('movie', { imdbid: 'tt1' }).empty, true)
  assert.is(torznabQuery('movie', { imdbid: 'tt1', q: 'x' }).empty, false)
  assert.equal(torznabQuery('book', {}).query.filters.types, { any: ['ebook', 'comic'] })
  for (const p of [{ season: 'x' }, { ep: 'x' }, { limit: '-1' }, { offset: '1e3' }, { q: 'x'.repeat(1001) }, { cat: 'a' }]) {
    assert.throws(() => torznabQuery('tvsearch', p), (e: unknown) => e instanceof TorznabError && e.code === 201)
  }
})

test('XML: escaping, control characters dropped, caps/item/error well-formed', () => {
  assert.is(xmlEscape(`<a href="x">&'\u0001\u0008ok`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;ok')
  const xml = itemXml(torrent('Bad <name> & "quotes" \u0002', { contentType: 'tv_show', seasons: [1], episodes: [2], resolution: '1080p', releaseGroup: 'G&G' }))
  assert.is(XMLValidator.validate(`<rss xmlns:torznab="x">${xml}</rss>`), true)
  assert.match(xml, /<pubDate>Mon, 06 May 2024 07:08:09 GMT<\/pubDate>/)
  assert.match(xml, /name="team" value="G&amp;G"/)
  assert.match(xml, /name="season" value="S01"/)
  assert.is(XMLValidator.validate(capsXml()), true)
  assert.is(XMLValidator.validate(errorXml(100, 'a "bad" <key>')), true)
})

test('plain words and magnets', () => {
  assert.equal(wordsQuery('  spider-man   NEAR(x) ').terms.map((t) => [t.kind, t.tokens]), [['phrase', ['spider', 'man']], ['phrase', ['near', 'x']]])
  assert.equal(wordsQuery('*** " -').terms, [])
  const m = magnetOf(torrent('A & B', {}))
  const p = new URLSearchParams(m.slice('magnet:?'.length))
  assert.is(p.get('xt'), `urn:btih:${'a'.repeat(40)}`)
  assert.is(p.get('dn'), 'A & B')
  assert.equal(p.getAll('tr'), ['udp://t.example:1337/announce?x=1&y=2'])
})

test("feeds' fast paths give the same text as the general ones: magnet links and RFC 822 dates", () => {
  const names = ['A & B', "Rock 'n' Roll: Live/2024", 'Café Ñandú 東京', '100% <pure>', 'x'.repeat(300), '', 'a%3Ab', 'plain.name.S01E02']
  const trackers = [[], ['udp://t.example:1337/announce?x=1&y=2'], ['http://a/ann', 'https://b:443/x?k=v&w=%2F'], Array.from({ length: 30 }, (_, i) => `udp://t${i}.example:80`)]
  for (const name of names) {
    for (const tr of trackers) {
      const t = { ...torrent(name, {}), trackers: tr }
      assert.is(magnetOf(t), formatMagnet({ infoHash: t.infoHash, name, trackers: tr.slice(0, 20), webSeeds: [], peers: [] }), `${name} / ${tr.length}`)
    }
  }
  // The magnet inside the XML is escaped like any other text ("'" included: percent-encoding leaves it as is).
  const xml = itemXml(torrent("Rock 'n' Roll", {}))
  assert.match(xml, /<link>magnet:\?xt=urn:btih:a{40}&amp;dn=Rock%20&apos;n&apos;%20Roll&amp;tr=udp:\/\/t\.example:1337\/announce%3Fx%3D1%26y%3D2<\/link>/)
  assert.is(XMLValidator.validate(`<rss xmlns:torznab="x">${xml}</rss>`), true)
  for (const ms of [0, 1, Date.UTC(2024, 1, 29, 23, 59, 59), Date.UTC(1999, 11, 31, 0, 0, 0), 1.6e12 + 123_456_789, -1, Date.UTC(20000, 0, 1), Date.UTC(999, 0, 1)]) {
    assert.is(rfc822(ms), new Date(ms).toUTCString(), String(ms))
  }
})

test('GraphQL: torrentFileType aggregation from the store\'s file-type facet (absent from older indexes: empty)', async () => {
  let facets: Record<string, unknown> = { type: [{ value: 'movie', count: 3 }], year: [], resolution: [], language: [], source: [], fileType: [{ value: 'video', count: 3 }, { value: 'subtitles', count: 1 }] }
  const store = { search: async () => ({ items: [], total: 3, facets }) }
  const handle = { get: async () => store as never, close: async () => {} }
  const query = '{ torrentContent { search(input: { queryString: "x", facets: { torrentFileType: { aggregate: true } } }) { aggregations { torrentFileType { value label count } contentType { value count } } } } }'
  const r = await runGraphql(handle, { query })
  assert.is(r.status, 200, JSON.stringify(r.body))
  const aggs = (JSON.parse(JSON.stringify(r.body)) as { data: { torrentContent: { search: { aggregations: Record<string, unknown> } } } }).data.torrentContent.search.aggregations
  assert.equal(aggs.torrentFileType, [{ value: 'video', label: 'video', count: 3 }, { value: 'subtitles', label: 'subtitles', count: 1 }])
  assert.equal(aggs.contentType, [{ value: 'movie', count: 3 }])
  facets = { type: [], year: [], resolution: [], language: [], source: [] }
  const old = await runGraphql(handle, { query })
  assert.is(JSON.stringify((old.body as { data: { torrentContent: { search: { aggregations: Record<string, unknown> } } } }).data.torrentContent.search.aggregations.torrentFileType), '[]')
  // No filter by file type is offered (the index cannot apply one): asking for it is a validation error, not ignored.
  const filter = await runGraphql(handle, { query: '{ torrentContent { search(input: { facets: { torrentFileType: { filter: ["video"] } } }) { totalCount } } }' })
  assert.is(filter.status, 400)
})

test('JSON parameters: grammar plus options, repeated values, limits', () => {
  const r = searchRequest({ q: 'matrix res:>=1080p', type: ['movie', 'tv'], 'min-size': '1G', sort: 'size', limit: '10', facets: '0' }, 0)
  assert.equal(r.query.terms.map((t) => t.tokens), [['matrix']])
  assert.equal(r.query.filters.types, { any: ['movie', 'tv_show'] })
  assert.equal(r.query.filters.size, { min: 1024 ** 3 })
  assert.equal(r.options, { limit: 10, offset: 0, sort: 'size', count: true, countLimit: 10_000, facets: false })
  assert.is(searchRequest({}).options.facets, true)
  for (const p of [{ q: '"x' }, { sort: 'x' }, { limit: '1001' }, { offset: 'x' }, { type: Array(65).fill('movie') }, { year: 'soon' }]) {
    assert.throws(() => searchRequest(p), (e: any) => e.status === 400 && !/\n/.test(e.message))
  }
})

test('countLimit: past it the total is "at least" and facets describe that many matches; below it, exact', async () => {
  const { SqliteIndex } = await import('../../src/index/sqlite.js')
  const { parseQuery } = await import('../../src/index/query/index.js')
  const store = SqliteIndex.open(join(tmpDir('bt-search-units-'), 'i.db'))
  try {
    await store.upsert(Array.from({ length: 30 }, (_, i) => ({
      infoHash: (i + 1).toString(16).padStart(40, '0'), name: `Common Word ${i} ${i % 2 ? '1080p' : '720p'} movie 2020`, size: 1000, source: 'test', publishedAt: 1.7e12 + i * 1000,
    })))
    const capped = await store.search(parseQuery('common'), { limit: 5, count: true, facets: true, countLimit: 10 })
    assert.is(capped.total, 10)
    assert.is(capped.totalIsEstimate, true)
    assert.is(capped.items.length, 5)
    assert.is(capped.facets!.resolution.reduce((a, f) => a + f.count, 0), 10)
    const exact = await store.search(parseQuery('common'), { limit: 5, count: true, facets: true, countLimit: 30 })
    assert.is(exact.total, 30)
    assert.is(exact.totalIsEstimate, undefined)
    assert.is(exact.facets!.resolution.reduce((a, f) => a + f.count, 0), 30)
    assert.is((await store.search(parseQuery('common'), { count: true })).total, 30)
  } finally {
    await store.close()
  }
})

test.run()
