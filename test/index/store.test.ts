// One suite, both backends: SQLite (a temp file) and a real PostgreSQL server started for this file. Stores,
// updates, searches, filters, sorts, facets, and hostile query text (SQL injection, FTS5/tsquery operators).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { startPostgres, type PgServer } from '../helpers/postgres.js'
import { parseQuery, applyFilter, QuerySyntaxError } from '../../src/index/query/index.js'
import { openIndex } from '../../src/index/open.js'
import type { IndexStore, TorrentRecord } from '../../src/index/types.js'

const NOW = Date.now()
const DAY = 86_400_000
const h = (n: number) => n.toString(16).padStart(40, '0')

/** A small catalogue with known attributes (they win over the classifier, so the suite does not depend on it). */
function catalogue(): TorrentRecord[] {
  return [
    { infoHash: h(1), name: 'Ubuntu 24.04 Desktop amd64', size: 6e9, publishedAt: NOW - 2 * DAY, source: 'import',
      files: [{ path: 'Ubuntu 24.04 Desktop amd64/ubuntu-24.04-desktop-amd64.iso', size: 6e9 }, { path: 'Ubuntu 24.04 Desktop amd64/SHA256SUMS', size: 100 }],
      known: { contentType: 'software' } },
    { infoHash: h(2), name: 'The.Matrix.1999.1080p.BluRay.x264-GRP', size: 8e9, publishedAt: NOW - 400 * DAY, source: 'import',
      known: { contentType: 'movie', year: 1999, resolution: '1080p', source: 'BluRay', videoCodec: 'x264', releaseGroup: 'GRP', languages: ['en'] } },
    { infoHash: h(3), name: 'Café Society 2016 720p WEB-DL', size: 2e9, publishedAt: NOW - 10 * DAY, source: 'dht',
      known: { contentType: 'movie', year: 2016, resolution: '720p', source: 'web-dl', languages: ['en', 'fr'] } },
    { infoHash: h(4), name: 'Some Show S02E05 1080p HDTV x265', size: 1e9, publishedAt: NOW - 1 * DAY, source: 'dht',
      known: { contentType: 'tv_show', seasons: [2], episodes: [5], resolution: '1080p', source: 'hdtv', videoCodec: 'HEVC', releaseGroup: 'NTb' } },
    { infoHash: h(5), name: 'Some Show S01 Complete 720p', size: 12e9, publishedAt: NOW - 300 * DAY, source: 'import',
      files: Array.from({ length: 10 }, (_, i) => ({ path: `Some Show S01 Complete 720p/Some.Show.S01E${String(i + 1).padStart(2, '0')}.720p.mkv`, size: 1.2e9 })),
      known: { contentType: 'tv_show', seasons: [1], episodes: [], resolution: '720p', complete: true } },
    { infoHash: h(6), name: 'Pink Floyd - The Wall (1979) [FLAC]', size: 5e8, publishedAt: NOW - 50 * DAY, source: 'import',
      files: [{ path: 'Pink Floyd - The Wall (1979) [FLAC]/01 - In the Flesh.flac', size: 5e7 }],
      known: { contentType: 'music', year: 1979, audioCodec: 'FLAC' } },
  ]
}

async function names(store: IndexStore, q: string, opts: Parameters<IndexStore['search']>[1] = {}): Promise<string[]> {
  return (await store.search(parseQuery(q), { sort: 'date', ...opts })).items.map((t) => t.name)
}

const HOSTILE = [
  `'; DROP TABLE torrents; --`, `" OR 1=1 --`, `') OR ('1'='1`, `1; DELETE FROM bt_torrents`, `\\'; SELECT pg_sleep(5); --`,
  `NEAR(matrix show, 2)`, `matrix AND NOT show`, `name:matrix`, `{name files}: matrix`, `^matrix`, `matrix OR show`,
  `"matrix" + "1999"`, `* * *`, `matrix:*`, `a & b | !c <-> d`, `'matrix':* & !'show'`, `(((`, `)))`, `col:"x" OR 1`,
  `%_%`, `\u0000`, `matrix\u0000 1999`, `ＭＡＴＲＩＸ`, `$1 $2 ?`, `-"" -`, '`rm -rf /`', `group:"x' OR '1'='1"`,
  `group:"a\\" lang:en`, `source:"bluray'); DROP TABLE files;--"`, `codec:"x264' OR 1=1"`,
]

function backendSuite(name: string, open: () => Promise<IndexStore>) {
  const s = suite(name)
  let store: IndexStore

  s.before.each(async () => {
    store = await open()
  })
  s.after.each(async () => {
    await store?.close()
  })

  s('upsert, has, count, get round-trip; files, sources and known attributes kept', async () => {
    const r = await store.upsert(catalogue())
    assert.equal(r, { added: 6, updated: 0 })
    assert.is(await store.count(), 6)
    assert.equal(await store.has([h(1), h(5), h(99), 'junk']), new Set([h(1), h(5)]))
    const t = (await store.get(h(5)))!
    assert.is(t.name, 'Some Show S01 Complete 720p')
    assert.is(t.size, 12e9)
    assert.is(t.fileCount, 10)
    assert.is(t.files!.length, 10)
    assert.equal(t.files![3], { path: 'Some Show S01 Complete 720p/Some.Show.S01E04.720p.mkv', size: 1.2e9 })
    assert.is(t.publishedAt, Math.floor((NOW - 300 * DAY) / 1000) * 1000)
    assert.is(t.classification.contentType, 'tv_show')
    assert.equal(t.classification.seasons, [1])
    assert.is(t.classification.resolution, '720p')
    assert.is(t.classification.complete, true)
    assert.equal(t.sources!.map((x) => x.source), ['import'])
    const m = (await store.get(h(4)))!
    assert.is(m.classification.videoCodec, 'x265') // HEVC, normalised
    assert.is(m.classification.releaseGroup, 'NTb')
    assert.is(await store.get(h(77)), undefined)
  })

  s('importing again updates and never duplicates; a bare magnet does not erase metadata', async () => {
    await store.upsert(catalogue())
    const again = await store.upsert(catalogue())
    assert.equal(again, { added: 0, updated: 6 })
    assert.is(await store.count(), 6)
    const magnet = await store.upsert([{ infoHash: h(5), name: h(5), source: 'magnet', partial: true }])
    assert.equal(magnet, { added: 0, updated: 1 })
    const t = (await store.get(h(5)))!
    assert.is(t.name, 'Some Show S01 Complete 720p')
    assert.is(t.files!.length, 10)
    assert.equal(t.sources!.map((x) => x.source).sort(), ['import', 'magnet'])
    // A magnet first, completed later by the metadata.
    await store.upsert([{ infoHash: h(9), name: 'partial name', source: 'magnet', partial: true }])
    assert.is((await store.get(h(9)))!.partial, true)
    await store.upsert([{ infoHash: h(9), name: 'Full Name 2020', source: 'dht', files: [{ path: 'Full Name 2020/a.bin', size: 5 }] }])
    const full = (await store.get(h(9)))!
    assert.is(full.partial, false)
    assert.is(full.name, 'Full Name 2020')
    assert.is(full.size, 5)
    assert.equal(await names(store, 'partial'), [])
    assert.equal(await names(store, 'full'), ['Full Name 2020'])
    // An update without files keeps the stored list (and its words stay searchable).
    await store.upsert([{ infoHash: h(5), name: 'Some Show S01 Complete 720p REPACK', source: 'import' }])
    assert.is((await store.get(h(5)))!.files!.length, 10)
    assert.equal(await names(store, 'repack s01e07'), ['Some Show S01 Complete 720p REPACK'])
  })

  s('bad records are rejected one by one, the rest stored', async () => {
    const r = await store.upsert([
      { infoHash: 'xyz', name: 'a', source: 'import' },
      { infoHash: h(20), name: 'good one', source: 'import' },
      { infoHash: h(21), name: '  ', source: 'import' },
      { infoHash: h(22), name: 'bad size', size: -5, source: 'import' },
    ])
    assert.is(r.added, 1)
    assert.equal(r.rejected!.map((x) => x.index), [0, 2, 3])
    assert.match(r.rejected![0].reason, /infoHash/)
    assert.is(await store.count(), 1)
  })

  s('words, phrases, prefixes, exclusions, diacritics, file paths', async () => {
    await store.upsert(catalogue())
    assert.equal(await names(store, 'matrix'), ['The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await names(store, 'MATRIX 1999'), ['The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await names(store, '"some show"'), ['Some Show S02E05 1080p HDTV x265', 'Some Show S01 Complete 720p'])
    assert.equal(await names(store, '"show some"'), [])
    assert.equal(await names(store, 'ubun*'), ['Ubuntu 24.04 Desktop amd64'])
    assert.equal(await names(store, 'show -complete'), ['Some Show S02E05 1080p HDTV x265'])
    assert.equal(await names(store, 'cafe'), ['Café Society 2016 720p WEB-DL'])
    assert.equal(await names(store, 'CAFÉ'), ['Café Society 2016 720p WEB-DL'])
    assert.equal(await names(store, 'sha256sums'), ['Ubuntu 24.04 Desktop amd64'])
    assert.equal(await names(store, 'flesh'), ['Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await names(store, 's01e04'), ['Some Show S01 Complete 720p'])
    assert.equal((await names(store, '-matrix')).length, 5)
    assert.equal(await names(store, 'nothinglikethis'), [])
    // Relevance: the name counts more than a file path.
    await store.upsert([{ infoHash: h(30), name: 'Misc files', source: 'import', publishedAt: NOW, files: [{ path: 'Misc files/flesh.txt', size: 1 }] }])
    const ranked = await store.search(parseQuery('flesh'), { sort: 'relevance' })
    assert.is(ranked.items.length, 2)
    await store.upsert([{ infoHash: h(31), name: 'Flesh and Blood', source: 'import', publishedAt: NOW - 900 * DAY }])
    assert.is((await store.search(parseQuery('flesh'), { sort: 'relevance' })).items[0].name, 'Flesh and Blood')
  })

  s('filters: type, year, res, source, codec, lang, size, season, ep, group, added', async () => {
    await store.upsert(catalogue())
    const f = (q: string) => names(store, q)
    assert.equal(await f('type:movie'), ['Café Society 2016 720p WEB-DL', 'The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await f('-type:movie -type:tv'), ['Ubuntu 24.04 Desktop amd64', 'Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await f('year:1990..2000'), ['The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await f('year:<1990'), ['Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await f('res:1080p'), ['Some Show S02E05 1080p HDTV x265', 'The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await f('res:>=1080p type:movie'), ['The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await f('source:blu-ray'), ['The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await f('codec:h265'), ['Some Show S02E05 1080p HDTV x265'])
    assert.equal(await f('codec:flac'), ['Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await f('lang:fr'), ['Café Society 2016 720p WEB-DL'])
    assert.equal(await f('lang:en -lang:fr'), ['The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal((await f('size:>7G')).sort(), ['Some Show S01 Complete 720p', 'The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await f('size:<1G'), ['Some Show S02E05 1080p HDTV x265', 'Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await f('size:<900M'), ['Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await f('season:2 ep:5'), ['Some Show S02E05 1080p HDTV x265'])
    assert.equal(await f('season:1'), ['Some Show S01 Complete 720p'])
    assert.equal(await f('group:ntb'), ['Some Show S02E05 1080p HDTV x265'])
    assert.equal(await f('added:<7d'), ['Some Show S02E05 1080p HDTV x265', 'Ubuntu 24.04 Desktop amd64'])
    assert.equal(await f('added:>1y'), ['The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await f('added:5d..60d'), ['Café Society 2016 720p WEB-DL', 'Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await f('show type:tv res:720p'), ['Some Show S01 Complete 720p'])
    const q = parseQuery('show')
    applyFilter(q, 'res', '1080p')
    assert.equal((await store.search(q)).items.map((t) => t.name), ['Some Show S02E05 1080p HDTV x265'])
  })

  s('sorts, paging, counts and facets', async () => {
    await store.upsert(catalogue())
    await store.updateSwarm(h(3), 50, 2)
    await store.updateSwarm(h(6), 10, 1)
    assert.equal((await names(store, '', { sort: 'seeders', limit: 3 })).slice(0, 2), ['Café Society 2016 720p WEB-DL', 'Pink Floyd - The Wall (1979) [FLAC]'])
    assert.equal(await names(store, '', { sort: 'size', limit: 2 }), ['Some Show S01 Complete 720p', 'The.Matrix.1999.1080p.BluRay.x264-GRP'])
    assert.equal(await names(store, '', { sort: 'name', limit: 2 }), ['Café Society 2016 720p WEB-DL', 'Pink Floyd - The Wall (1979) [FLAC]'])
    const all = await names(store, '')
    assert.is(all[0], 'Some Show S02E05 1080p HDTV x265')
    assert.equal(await names(store, '', { limit: 2, offset: 2 }), all.slice(2, 4))
    const sw = (await store.get(h(3)))!
    assert.is(sw.seeders, 50)
    assert.is(sw.leechers, 2)
    const r = await store.search(parseQuery('-ubuntu'), { facets: true, limit: 1 })
    assert.is(r.items.length, 1)
    assert.is(r.total, 5)
    assert.equal(r.facets!.type, [{ value: 'movie', count: 2 }, { value: 'tv_show', count: 2 }, { value: 'music', count: 1 }])
    assert.equal(r.facets!.resolution, [{ value: '1080p', count: 2 }, { value: '720p', count: 2 }])
    assert.equal(r.facets!.language, [{ value: 'en', count: 2 }, { value: 'fr', count: 1 }])
    assert.equal(r.facets!.year.map((x) => x.value).sort(), [1979, 1999, 2016])
    assert.equal(r.facets!.source, [{ value: 'bluray', count: 1 }, { value: 'hdtv', count: 1 }, { value: 'web-dl', count: 1 }])
    // File types from the file lists (the Wall's .flac, the season's .mkv); the torrents without a file list and
    // without an extension in their name say nothing.
    assert.equal(r.facets!.fileType, [{ value: 'audio', count: 1 }, { value: 'video', count: 1 }])
    const every = await store.search(parseQuery(""), { facets: true, limit: 0 })
    assert.is(every.items.length, 0)
    assert.is(every.total, 6)
    assert.equal(every.facets!.fileType, [{ value: 'audio', count: 1 }, { value: 'software', count: 1 }, { value: 'video', count: 1 }])
    // A capped count: the facets describe the first `cap` matches, and the total says it is a lower bound.
    const capped = await store.search(parseQuery(''), { facets: true, countLimit: 3, limit: 1 })
    assert.is(capped.total, 3)
    assert.is(capped.totalIsEstimate, true)
    assert.is(capped.facets!.type.reduce((a, x) => a + x.count, 0), 3)
    const exact = await store.search(parseQuery(''), { facets: true, countLimit: 6, limit: 1 })
    assert.is(exact.total, 6)
    assert.is(exact.totalIsEstimate, undefined)
    assert.is((await store.search(parseQuery('show'), { count: true })).total, 2)
  })

  s('injection strings and full-text operators are only ever text', async () => {
    await store.upsert(catalogue())
    await store.upsert([{ infoHash: h(40), name: `Bobby'); DROP TABLE torrents;-- "quoted" 1=1`, source: 'import' }])
    for (const text of HOSTILE) {
      let q
      try {
        q = parseQuery(text)
      } catch (err) {
        assert.instance(err, QuerySyntaxError, text)
        continue
      }
      for (const sort of ['relevance', 'date', 'name'] as const) {
        const r = await store.search(q, { sort, facets: true })
        assert.ok(Array.isArray(r.items), text)
      }
    }
    assert.is(await store.count(), 7)
    // The operators are words: "matrix OR show" needs all three words, "NEAR" is a word too.
    assert.equal(await names(store, 'matrix OR show'), [])
    assert.equal(await names(store, 'drop table torrents'), [`Bobby'); DROP TABLE torrents;-- "quoted" 1=1`])
    assert.equal(await names(store, `"1=1"`), [`Bobby'); DROP TABLE torrents;-- "quoted" 1=1`])
    assert.equal(await names(store, `group:"x' OR '1'='1"`), [])
    assert.is((await store.get(h(2)))!.name, 'The.Matrix.1999.1080p.BluRay.x264-GRP')
  })

  return s
}

let pgServer: PgServer | undefined
const dir = tmpDir()
let n = 0

const sqlite = backendSuite('sqlite', () => openIndex(join(dir, `index-${++n}.db`)))
const postgres = backendSuite('postgres', async () => {
  pgServer ??= await startPostgres()
  return openIndex(await pgServer.createDatabase())
})
postgres.after(() => pgServer?.stop())

sqlite.run()
postgres.run()
