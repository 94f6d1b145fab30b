// torrent-get's caches (src/server/torrent-get.ts, the answer cache in transmission.ts): per-torrent fragments give
// the same JSON as computing every field directly, and a change to a torrent — through the record, a settings
// change, torrent-set, the REST API, stop/start — shows in the very next torrent-get, not after a cache expiry.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { Entry, type Daemon } from '../../src/server/daemon.js'
import type { TorrentRecord } from '../../src/server/state.js'
import { FieldContext, TORRENT_FIELDS } from '../../src/server/transmission-fields.js'
import { LIVE_FIELDS, TorrentGetCache, signature } from '../../src/server/torrent-get.js'
import { acceptsGzip } from '../../src/server/transmission.js'
import { request } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { makeTestTorrent, type TestTorrent } from '../helpers/swarm.js'
import { startServe, http, rpc, KiB, type Serve } from './helpers.js'

const timer = setTimeout(() => {
  console.error('torrent-get-cache.test.ts: watchdog fired')
  process.exit(1)
}, 55_000)
timer.unref()

function record(id: number, over: Partial<TorrentRecord> = {}): TorrentRecord {
  return {
    id, infoHash: String(id).padStart(40, '0'), name: `t${id}`, magnet: `magnet:?xt=urn:btih:${String(id).padStart(40, '0')}`,
    downloadDir: '/tmp/x', paused: true, downloadLimit: 0, uploadLimit: 0, labels: [], seedRatioMode: 0, seedRatioLimit: 2,
    seedIdleMode: 0, seedIdleLimit: 30, queuePosition: id, addedDate: 1_700_000_000, doneDate: 0, downloadedEver: 0,
    uploadedEver: 0, secondsDownloading: 0, secondsSeeding: 0, finished: false, ...over,
  } as TorrentRecord
}

// The daemon surface the fields read (settings, totals, store, start time): a plain object, the cache is under test.
function daemon(peerLimit = 50): Daemon {
  return {
    settings: { peerLimitPerTorrent: peerLimit },
    totals: (e: Entry) => ({ downloaded: e.record.downloadedEver, uploaded: e.record.uploadedEver }),
    store: { torrentDir: '/tmp/state/torrents' },
    startedAt: 1_700_000_000_000,
  } as unknown as Daemon
}

const ALL = Object.keys(TORRENT_FIELDS)
const direct = (d: Daemon, e: Entry, fields: string[], now: number) => {
  const c = new FieldContext(d, e, now)
  return Object.fromEntries(fields.map((f) => [f, TORRENT_FIELDS[f](c)]))
}

test('fragments: same JSON as computing each field, unknown and duplicate fields dropped', () => {
  const d = daemon()
  const list = [new Entry(record(1, { labels: ['tv'] })), new Entry(record(2, { error: 'disk full' } as Partial<TorrentRecord>))]
  const cache = new TorrentGetCache(d)
  const now = 1_800_000_000
  for (let round = 0; round < 2; round++) {
    const got = JSON.parse(cache.objects(list, [...ALL, 'id', 'nope', 'constructor', '__proto__'], now))
    assert.equal(got, list.map((e) => direct(d, e, ALL, now)), `round ${round}`)
  }
  assert.equal(JSON.parse(cache.objects(list, [], now)), [{}, {}])
  assert.equal(JSON.parse(cache.objects(list, ['secondsSeeding'], now)), [{ secondsSeeding: 0 }, { secondsSeeding: 0 }])
})

test('fragments: a record change shows at once; clock fields are live; settings need clear()', () => {
  const d = daemon(50)
  const e = new Entry(record(3))
  const cache = new TorrentGetCache(d)
  const get = () => JSON.parse(cache.objects([e], ['labels', 'queuePosition', 'secondsDownloading', 'maxConnectedPeers', 'errorString'], 1))[0]
  assert.equal(get(), { labels: [], queuePosition: 3, secondsDownloading: 0, maxConnectedPeers: 50, errorString: '' })
  // Changed behind the cache's back, with no event: the signature sees it.
  e.record.labels = ['movies']
  e.record.queuePosition = 0
  e.record.error = 'gone'
  assert.equal(get(), { labels: ['movies'], queuePosition: 0, secondsDownloading: 0, maxConnectedPeers: 50, errorString: 'gone' })
  const sig = signature(e)
  e.record.secondsDownloading = 99 // ticks every second: not in the signature, yet fresh in the answer
  assert.is(signature(e), sig)
  assert.is(get().secondsDownloading, 99)
  assert.ok(LIVE_FIELDS.has('secondsDownloading'))
  ;(d.settings as { peerLimitPerTorrent: number }).peerLimitPerTorrent = 80
  cache.clear() // what the 'settings' event does
  assert.is(get().maxConnectedPeers, 80)
})

test('fragments in slices: the same bytes as objects(), and the event loop runs between slices', async () => {
  const d = daemon()
  const list = Array.from({ length: 300 }, (_, i) => new Entry(record(i + 10, { labels: [`l${i}`] })))
  const cache = new TorrentGetCache(d)
  const now = 1_800_000_000
  const whole = cache.objects(list, ALL, now)
  let ranBetween = false
  setImmediate(() => { ranBetween = true })
  // A zero budget: one torrent per slice, so other work must get in before the last slice.
  const chunks = await cache.objectsInSlices(list, ALL, now, 0)
  assert.ok(ranBetween, 'a callback queued before the build ran during it')
  assert.ok(chunks.length > 1, `${chunks.length} slices`)
  assert.is(Buffer.concat(chunks).toString(), whole)
  assert.is(Buffer.concat(await cache.objectsInSlices(list, ALL, now)).toString(), whole)
  assert.is(Buffer.concat(await cache.objectsInSlices([], ALL, now)).toString(), '[]')
  assert.is(Buffer.concat(await cache.objectsInSlices(list.slice(0, 1), ['id'], now, 0)).toString(), '[{"id":10}]')
})

test('acceptsGzip: names and q values', () => {
  assert.ok(acceptsGzip('gzip'))
  assert.ok(acceptsGzip('deflate, gzip;q=0.5'))
  assert.ok(acceptsGzip('GZIP'))
  assert.not.ok(acceptsGzip('gzip;q=0'))
  assert.not.ok(acceptsGzip('identity'))
  assert.not.ok(acceptsGzip('br, deflate'))
  assert.not.ok(acceptsGzip(undefined))
})

/** A raw POST (fetch would decompress on its own): status, Content-Encoding and the body bytes as received. */
function rawPost(url: string, body: string, headers: Record<string, string>): Promise<{ encoding?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

let s: Serve
let tt: TestTorrent
test.before(async () => {
  tt = await makeTestTorrent([200 * KiB + 3], { pieceLength: 32 * KiB, seed: 61, name: 'cache.bin' })
  s = await startServe()
})
test.after(async () => {
  await s?.stop()
})

test('bt serve: torrent-set, REST PATCH, stop and start show in the next torrent-get', async () => {
  const added = await rpc(s.url, 'torrent-add', { metainfo: readFileSync(tt.torrentPath).toString('base64'), paused: true, labels: ['a'] })
  assert.is(added.result, 'success', JSON.stringify(added))
  const id = added.arguments['torrent-added'].id
  const fields = ['id', 'labels', 'status', 'seedRatioLimit', 'downloadLimit', 'wanted']
  const get = async () => (await rpc(s.url, 'torrent-get', { ids: [id], fields })).arguments.torrents[0]
  assert.equal(await get(), { id, labels: ['a'], status: 0, seedRatioLimit: 2, downloadLimit: 100, wanted: [1] })
  assert.equal(await get(), { id, labels: ['a'], status: 0, seedRatioLimit: 2, downloadLimit: 100, wanted: [1] }) // cached

  assert.is((await rpc(s.url, 'torrent-set', { ids: [id], labels: ['b', 'c'], seedRatioLimit: 0.5, downloadLimit: 7, downloadLimited: true })).result, 'success')
  const afterSet = await get()
  assert.equal(afterSet.labels, ['b', 'c'])
  assert.is(afterSet.seedRatioLimit, 0.5)
  assert.is(afterSet.downloadLimit, 7)

  const patch = await http(`${s.url}/api/v1/torrents/${tt.metainfo.infoHash}`, { method: 'PATCH', body: { labels: ['rest'] } })
  assert.is(patch.status, 200, patch.text)
  assert.equal((await get()).labels, ['rest'])

  assert.is((await rpc(s.url, 'torrent-start', { ids: [id] })).result, 'success')
  assert.is.not((await get()).status, 0)
  assert.is((await rpc(s.url, 'torrent-stop', { ids: [id] })).result, 'success')
  assert.is((await get()).status, 0)

  // A tag-less request (the cached body without a tag) and the table form give the same values.
  const sid = (await http(`${s.url}/transmission/rpc`, { body: {} })).headers.get('x-transmission-session-id') ?? ''
  const plain = await http(`${s.url}/transmission/rpc`, { body: { method: 'torrent-get', arguments: { ids: [id], fields } }, headers: { 'X-Transmission-Session-Id': sid } })
  assert.equal(plain.json, { arguments: { torrents: [{ id, labels: ['rest'], status: 0, seedRatioLimit: 0.5, downloadLimit: 7, wanted: [1] }] }, result: 'success' })
  // Gzip only when asked, and a change shows in the compressed answer at once too.
  const req = JSON.stringify({ method: 'torrent-get', arguments: { ids: [id], fields: ['labels'] } })
  const gz = await rawPost(`${s.url}/transmission/rpc`, req, { 'X-Transmission-Session-Id': sid, 'Accept-Encoding': 'gzip' })
  assert.is(gz.encoding, 'gzip')
  assert.equal(JSON.parse(gunzipSync(gz.body).toString()).arguments.torrents, [{ labels: ['rest'] }])
  const ident = await rawPost(`${s.url}/transmission/rpc`, req, { 'X-Transmission-Session-Id': sid, 'Accept-Encoding': 'identity' })
  assert.is(ident.encoding, undefined)
  assert.equal(JSON.parse(ident.body.toString()).arguments.torrents, [{ labels: ['rest'] }])
  assert.is((await rpc(s.url, 'torrent-set', { ids: [id], labels: ['z'] })).result, 'success')
  const gz2 = await rawPost(`${s.url}/transmission/rpc`, req, { 'X-Transmission-Session-Id': sid, 'Accept-Encoding': 'gzip' })
  assert.equal(JSON.parse(gunzipSync(gz2.body).toString()).arguments.torrents, [{ labels: ['z'] }])

  const table = await rpc(s.url, 'torrent-get', { ids: [id], fields: ['id', 'labels'], format: 'table' })
  assert.equal(table.arguments.torrents, [['id', 'labels'], [id, ['z']]])
  assert.is(table.tag, 7)
})

test('bt serve: a client polling faster than the cache expires still sees live fields move (served stale, refreshed behind)', async () => {
  const hash = '7e'.repeat(20)
  assert.is((await rpc(s.url, 'torrent-add', { filename: `magnet:?xt=urn:btih:${hash}` })).result, 'success')
  const seen: number[] = []
  const start = Date.now()
  while (Date.now() - start < 3500) {
    seen.push((await rpc(s.url, 'torrent-get', { ids: [hash], fields: ['secondsDownloading'] })).arguments.torrents[0].secondsDownloading)
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]), `never backwards: ${seen}`)
  assert.ok(seen[seen.length - 1] - seen[0] >= 2, `the clock moved in the answers: ${seen}`)
})

test.run()
