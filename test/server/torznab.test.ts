// Torznab as Sonarr and Radarr use it, against a real bt serve over an index of ~3200 imported torrents: caps and
// its supportedParams, the empty RSS-sync tvsearch, tvsearch by q/season/ep (episodes and season packs, daily
// shows), movie search, then the best item's magneturl handed to bt's own Transmission RPC (session-id handshake,
// label) and downloaded from a local seeder, md5 checked. Plus XML checked by a real parser, paging, API-key
// refusals, and hostile queries that must answer fast and change nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { tmpDir } from '../helpers/tmp.js'
import { delay } from '../helpers/wait.js'
import { buildIndex, SHOWS } from './search-fixture.js'
import { startServe, http, rpc, KiB, type Serve } from './helpers.js'

const KEY = 'torznab-key-9f3'
const auth = { 'X-Api-Key': KEY }
let s: Serve
let episode: TestTorrent
let movie: TestTorrent
let indexCount = 0

const watchdog = setTimeout(() => {
  console.error('torznab.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
watchdog.unref()

const EP_NAME = 'Sample.Show.S02E03.1080p.WEB-DL.x264-BTGRP.mkv'
const MOVIE_NAME = 'Sample.Movie.2021.2160p.BluRay.x265-BTGRP.mkv'

test.before(async () => {
  episode = await makeTestTorrent([700 * KiB + 3], { pieceLength: 32 * KiB, seed: 71, name: EP_NAME })
  movie = await makeTestTorrent([500 * KiB + 11], { pieceLength: 32 * KiB, seed: 72, name: MOVIE_NAME })
  const seeds = await Promise.all([seedWith(episode), seedWith(movie)])
  const rec = (t: TestTorrent, name: string, seeders: number) => ({
    infoHash: t.metainfo.infoHash, name, size: t.metainfo.length, publishedAt: '2025-06-01T00:00:00Z', seeders, leechers: 1,
    files: [{ path: name, size: t.metainfo.length }],
  })
  // The real ones have the most seeders; decoys with the same episode and title have fewer.
  const extra = [
    rec(episode, EP_NAME, 90),
    { infoHash: 'ab'.repeat(20), name: 'Sample.Show.S02E03.720p.HDTV.x264-LOL', size: 300e6, publishedAt: '2025-05-01T00:00:00Z', seeders: 3 },
    { infoHash: 'cd'.repeat(20), name: 'Sample Show S02 1080p BluRay x264-PACK', size: 9e9, publishedAt: '2025-04-01T00:00:00Z', seeders: 7 },
    { infoHash: 'ef'.repeat(20), name: 'Sample.Show.S02E04.1080p.WEB-DL.x264-NTb', size: 900e6, publishedAt: '2025-05-02T00:00:00Z', seeders: 2 },
    rec(movie, MOVIE_NAME, 80),
    { infoHash: '34'.repeat(20), name: '[SubsPlease] Frieren - 05 (1080p) [A1B2C3D4].mkv', size: 1.4e9, publishedAt: '2025-03-01T00:00:00Z', seeders: 30 },
    { infoHash: '12'.repeat(20), name: 'Sample.Movie.2021.1080p.WEBRip.x264-FLUX', size: 2e9, publishedAt: '2025-05-03T00:00:00Z', seeders: 4 },
  ]
  const { db, records } = await buildIndex(extra)
  indexCount = records.length
  const keyFile = join(tmpDir(), 'key')
  writeFileSync(keyFile, `${KEY}\n`)
  s = await startServe({ args: ['--api-key-file', keyFile, '--db', db, ...seeds.flatMap((p) => ['--peer', p.addr])] })
})

test.after(async () => {
  clearTimeout(watchdog)
  await s?.stop()
  await stopAll()
})

const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, attributeNamePrefix: '@', isArray: (name) => ['item', 'torznab:attr', 'category', 'subcat'].includes(name) })

async function torznab(params: Record<string, string>, key: string | null = KEY): Promise<{ status: number; type: string; text: string; doc: any; ms: number }> {
  const qs = new URLSearchParams(params)
  if (key !== null) qs.set('apikey', key)
  const t0 = performance.now()
  const r = await http(`${s.url}/torznab/api?${qs}`)
  const ms = performance.now() - t0
  assert.is(XMLValidator.validate(r.text), true, `not well-formed XML: ${r.text.slice(0, 300)}`)
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: r.text, doc: parser.parse(r.text), ms }
}

interface Item {
  title: string
  guid: string
  attrs: Map<string, string[]>
  enclosure: any
  pubDate: string
}

function items(doc: any): Item[] {
  const rss = doc.rss
  assert.ok(rss, 'an <rss> root')
  assert.is(rss['@version'], '2.0')
  assert.is(rss['@xmlns:torznab'], 'http://torznab.com/schemas/2015/feed')
  return (rss.channel.item ?? []).map((it: any) => {
    const attrs = new Map<string, string[]>()
    for (const a of it['torznab:attr'] ?? []) attrs.set(a['@name'], [...(attrs.get(a['@name']) ?? []), String(a['@value'])])
    return { title: String(it.title), guid: String(it.guid['#text'] ?? it.guid), attrs, enclosure: it.enclosure, pubDate: it.pubDate }
  })
}

const attr = (it: Item, name: string) => it.attrs.get(name)?.[0]

function checkItem(it: Item): void {
  for (const name of ['category', 'size', 'infohash', 'magneturl', 'seeders', 'leechers', 'peers', 'downloadvolumefactor', 'uploadvolumefactor']) {
    assert.ok(it.attrs.has(name), `attr ${name} on ${it.title}`)
  }
  assert.match(attr(it, 'infohash')!, /^[0-9a-f]{40}$/)
  assert.is(it.guid, attr(it, 'infohash'))
  assert.ok(attr(it, 'magneturl')!.startsWith(`magnet:?xt=urn:btih:${attr(it, 'infohash')}`))
  assert.is(it.enclosure['@type'], 'application/x-bittorrent;x-scheme-handler/magnet')
  assert.is(it.enclosure['@url'], attr(it, 'magneturl'))
  assert.is(it.enclosure['@length'], attr(it, 'size'))
  assert.is(attr(it, 'downloadvolumefactor'), '0')
  assert.is(attr(it, 'uploadvolumefactor'), '1')
  // RFC 822 date, e.g. "Sat, 01 Jun 2025 00:00:00 GMT".
  assert.match(String(it.pubDate), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
}

test('Sonarr: caps, then the supportedParams it checks, categories with subcategories', async () => {
  const r = await torznab({ t: 'caps' })
  assert.is(r.status, 200)
  assert.match(r.type, /xml/)
  const caps = r.doc.caps
  assert.is(caps.limits['@max'], '100')
  const search = caps.searching
  assert.is(search['tv-search']['@available'], 'yes')
  assert.equal(search['tv-search']['@supportedParams'].split(','), ['q', 'season', 'ep'])
  assert.equal(search['movie-search']['@supportedParams'].split(','), ['q'])
  // Ids the index does not hold are not advertised.
  assert.not.match(r.text, /imdbid|tvdbid|tmdbid/)
  const cats = new Map<string, string[]>(caps.categories.category.map((c: any) => [c['@id'], (c.subcat ?? []).map((x: any) => x['@id'])]))
  assert.equal(cats.get('2000'), ['2030', '2040', '2045'])
  assert.equal(cats.get('3000'), ['3030', '3040'])
  assert.equal(cats.get('4000'), ['4050'])
  assert.equal(cats.get('5000'), ['5030', '5040', '5045', '5070'])
  assert.equal(cats.get('7000'), ['7020', '7030'])
  for (const id of ['6000', '8000']) assert.ok(cats.has(id))
})

test('Sonarr: RSS sync and its test button — tvsearch with no q in TV categories lists the newest TV items', async () => {
  const r = await torznab({ t: 'tvsearch', cat: '5030,5040', extended: '1', offset: '0', limit: '100' })
  const list = items(r.doc)
  assert.is(list.length, 100)
  for (const it of list) {
    checkItem(it)
    assert.ok(it.attrs.get('category')!.includes('5000'), `${it.title} is TV`)
  }
  const dates = list.map((it) => Date.parse(it.pubDate))
  for (let i = 1; i < dates.length; i++) assert.ok(dates[i] <= dates[i - 1], 'newest first')
  assert.is(list[0].title, EP_NAME)
  assert.is(list[1].title, 'Sample.Show.S02E04.1080p.WEB-DL.x264-NTb')
})

test('Sonarr: tvsearch by q, season and ep finds the episode; season alone finds the pack and the episodes', async () => {
  const ep = items((await torznab({ t: 'tvsearch', cat: '5030,5040', extended: '1', q: 'Sample Show', season: '2', ep: '3' })).doc)
  assert.equal(ep.map((i) => i.title).sort(), [EP_NAME, 'Sample.Show.S02E03.720p.HDTV.x264-LOL'].sort())
  for (const it of ep) {
    checkItem(it)
    assert.is(attr(it, 'season'), 'S02')
    assert.is(attr(it, 'episode'), 'E03')
  }
  const best = ep.find((i) => i.title === EP_NAME)!
  assert.is(attr(best, 'seeders'), '90')
  assert.is(attr(best, 'resolution'), '1080p')
  assert.is(attr(best, 'team'), 'BTGRP')
  assert.equal(best.attrs.get('category'), ['5040', '5000'])
  const season = items((await torznab({ t: 'tvsearch', cat: '5030,5040', q: 'Sample Show', season: '2' })).doc).map((i) => i.title)
  assert.ok(season.includes('Sample Show S02 1080p BluRay x264-PACK'), 'the season pack')
  assert.ok(season.includes(EP_NAME) && season.includes('Sample.Show.S02E04.1080p.WEB-DL.x264-NTb'), 'the episodes')
  assert.is(season.length, 4)
  // A fixture show: 12 episodes in 2–3 resolutions + the pack.
  const show = items((await torznab({ t: 'tvsearch', q: SHOWS[0], season: '1' })).doc)
  assert.is(show.length, 12 * 2 + 6 + 1)
  assert.ok(show.every((i) => attr(i, 'season') === 'S01'))
  // Daily shows: season=YYYY&ep=MM/DD.
  const daily = items((await torznab({ t: 'tvsearch', q: 'The Daily Talk', season: '2024', ep: '03/03' })).doc)
  assert.ok(daily.length >= 1)
  for (const it of daily) assert.match(it.title, /2024\.03\.03/)
})

let bestMovie: Item

test('Radarr: movie search by q, in movie categories', async () => {
  const r = items((await torznab({ t: 'movie', cat: '2000,2040,2045', extended: '1', q: 'Sample Movie 2021' })).doc)
  assert.equal(r.map((i) => i.title).sort(), [MOVIE_NAME, 'Sample.Movie.2021.1080p.WEBRip.x264-FLUX'].sort())
  r.forEach(checkItem)
  bestMovie = r.sort((a, b) => Number(attr(b, 'seeders')) - Number(attr(a, 'seeders')))[0]
  assert.is(bestMovie.title, MOVIE_NAME)
  assert.equal(bestMovie.attrs.get('category'), ['2045', '2000'])
  assert.is(attr(bestMovie, 'year'), '2021')
  // Without cat, t=movie searches movies only.
  const any = items((await torznab({ t: 'movie', q: 'Sample' })).doc)
  assert.ok(any.every((i) => i.attrs.get('category')!.includes('2000')))
})

test('the best items go to bt through Transmission RPC (handshake, label) and download from a local seeder, md5 right', async () => {
  const ep = items((await torznab({ t: 'tvsearch', cat: '5030,5040', q: 'Sample Show', season: '2', ep: '3' })).doc)
  const best = ep.sort((a, b) => Number(attr(b, 'seeders')) - Number(attr(a, 'seeders')))[0]
  const grabs = [
    { item: best, label: 'tv-sonarr', tt: episode },
    { item: bestMovie, label: 'radarr', tt: movie },
  ]
  for (const g of grabs) {
    const add = await rpc(s.url, 'torrent-add', { filename: attr(g.item, 'magneturl'), paused: false, labels: [g.label] }, auth)
    assert.is(add.result, 'success')
    assert.is(add.arguments['torrent-added'].hashString, g.tt.metainfo.infoHash)
  }
  const deadline = Date.now() + 30_000
  for (const g of grabs) {
    for (;;) {
      const got = await rpc(s.url, 'torrent-get', { ids: [g.tt.metainfo.infoHash], fields: ['hashString', 'leftUntilDone', 'totalSize', 'labels', 'downloadDir', 'errorString'] }, auth)
      const t = got.arguments.torrents[0]
      if (t && t.totalSize > 0 && t.leftUntilDone === 0) {
        assert.equal(t.labels, [g.label])
        await assertSameMd5(g.tt, t.downloadDir)
        break
      }
      if (Date.now() > deadline) throw new Error(`not downloaded: ${JSON.stringify(t)}`)
      await delay(150)
    }
  }
})

test('anime: a fansub-style TV release is listed in 5070 and found by a search in it', async () => {
  const r = items((await torznab({ t: 'tvsearch', cat: '5070', q: 'frieren' })).doc)
  assert.is(r.length, 1)
  assert.equal(r[0].attrs.get('category'), ['5070', '5000'])
})

test('paging by offset is stable and covers each item once', async () => {
  const seen: string[] = []
  for (let off = 0; off < 300; off += 75) {
    const page = items((await torznab({ t: 'tvsearch', cat: '5000', limit: '75', offset: String(off) })).doc)
    assert.is(page.length, 75)
    seen.push(...page.map((i) => i.guid))
  }
  assert.is(new Set(seen).size, 300)
  const again = items((await torznab({ t: 'tvsearch', cat: '5000', limit: '100', offset: '100' })).doc).map((i) => i.guid)
  assert.equal(again, seen.slice(100, 200))
  // limit above the advertised max is capped.
  assert.is(items((await torznab({ t: 'search', limit: '5000' })).doc).length, 100)
  assert.is(items((await torznab({ t: 'search', q: 'Sample Movie', offset: '50' })).doc).length, 0)
})

test('errors the Torznab way: HTTP 200 and <error code description/>', async () => {
  const err = async (params: Record<string, string>, key: string | null = KEY) => {
    const r = await torznab(params, key)
    assert.is(r.status, 200)
    assert.ok(r.doc.error, r.text)
    assert.ok(String(r.doc.error['@description']).length > 0)
    return Number(r.doc.error['@code'])
  }
  assert.is(await err({ t: 'caps' }, null), 100)
  assert.is(await err({ t: 'search', q: 'x' }, 'wrong-key'), 100)
  assert.is(await err({ t: 'tvsearch' }, ''), 100)
  assert.is(await err({}), 200)
  assert.is(await err({ t: 'register' }), 202)
  assert.is(await err({ t: 'tvsearch', season: 'two' }), 201)
  assert.is(await err({ t: 'search', limit: '-1' }), 201)
  assert.is(await err({ t: 'search', cat: 'movies' }), 201)
  // The key also works as a header, and the other endpoints still refuse without it.
  const h = await http(`${s.url}/torznab/api?t=caps`, { headers: auth })
  assert.match(h.text, /<caps>/)
  assert.is((await http(`${s.url}/api/v1/search?q=x`)).status, 401)
})

test('hostile queries answer fast, find nothing odd, and change nothing', async () => {
  const before = await http(`${s.url}/api/v1/search?limit=0&facets=0`, { headers: auth })
  assert.is(before.json.total, indexCount)
  const huge = await torznab({ t: 'search', q: 'a '.repeat(3000) })
  assert.is(Number(huge.doc.error['@code']), 201)
  assert.ok(huge.ms < 1000, `huge q took ${huge.ms} ms`)
  // Past Node's 16 KiB header limit the request is refused before bt sees it, quickly.
  const t0 = performance.now()
  const tooBig = await http(`${s.url}/torznab/api?t=search&apikey=${KEY}&q=${'a'.repeat(100_000)}`)
  assert.is(tooBig.status, 431)
  assert.ok(performance.now() - t0 < 1000)
  for (const q of ['Sample OR NOT Movie', 'Sample* NEAR(x y)', '"Sample', 'name:Sample', '^Sample', "'; DROP TABLE torrents; --", 'Sample AND', '*', '-Sample']) {
    const r = await torznab({ t: 'search', q })
    assert.not.ok(r.doc.error, `${q}: ${r.text.slice(0, 200)}`)
    assert.ok(r.ms < 1000, `${q} took ${r.ms} ms`)
    // Words are plain words: every one (operators included) must be in the name to match.
    const words = q.toLowerCase().match(/[a-z0-9]+/g) ?? []
    for (const it of items(r.doc)) {
      const name = new Set(it.title.toLowerCase().match(/[a-z0-9]+/g))
      for (const w of words) assert.ok(name.has(w), `${q}: ${it.title} lacks ${w}`)
    }
  }
  // What fits under the 16 KiB header limit: 3000 values, refused before any work.
  const many = await torznab({ t: 'search', cat: Array.from({ length: 3000 }, (_, i) => String(i % 10)).join(',') })
  assert.is(Number(many.doc.error['@code']), 201)
  assert.ok(many.ms < 1000, `many cats took ${many.ms} ms`)
  const t1 = performance.now()
  const tenK = await http(`${s.url}/torznab/api?t=search&apikey=${KEY}&cat=${Array.from({ length: 10_000 }, (_, i) => 1000 + i).join(',')}`)
  assert.is(tenK.status, 431)
  assert.ok(performance.now() - t1 < 1000)
  const foreign = items((await torznab({ t: 'tvsearch', cat: '100001,100002' })).doc)
  assert.is(foreign.length, 0)
  // An id we do not hold, alone, finds nothing rather than the newest torrents.
  assert.is(items((await torznab({ t: 'movie', imdbid: 'tt0133093' })).doc).length, 0)
  const after = await http(`${s.url}/api/v1/search?limit=0&facets=0`, { headers: auth })
  assert.is(after.json.total, indexCount)
})

test.run()
