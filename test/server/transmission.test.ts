// bt serve as a Transmission daemon: the RPC as Sonarr/Radarr use it (handshake, session-get version, torrent-add
// magnet and base64 metainfo, the fields they read, labels, torrent-set, queue, free-space, unknown methods), and
// Debian's transmission-remote listing, adding, stopping, starting and removing torrents on it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { run } from '../helpers/cli.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { tmpDir } from '../helpers/tmp.js'
import { startServe, http, pollJson, rpc, KiB, type Serve } from './helpers.js'

let a: TestTorrent
let b: TestTorrent
let c: TestTorrent
let s: Serve
const KEY = 'sonarr-key-123'
const auth = { 'X-Api-Key': KEY }

const timer = setTimeout(() => {
  console.error('transmission.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
timer.unref()

test.before(async () => {
  a = await makeTestTorrent([900 * KiB + 1], { pieceLength: 32 * KiB, seed: 41, name: 'alpha.mkv' })
  b = await makeTestTorrent([300 * KiB, 500 * KiB + 9], { pieceLength: 32 * KiB, seed: 42, name: 'beta' })
  c = await makeTestTorrent([600 * KiB + 5], { pieceLength: 32 * KiB, seed: 43, name: 'gamma.bin' })
  const peers = await Promise.all([seedWith(a), seedWith(b), seedWith(c)])
  const keyFile = join(tmpDir(), 'key')
  writeFileSync(keyFile, `${KEY}\n`)
  s = await startServe({ args: ['--api-key-file', keyFile, ...peers.flatMap((p) => ['--peer', p.addr])] })
})

test.after(async () => {
  await s?.stop()
  await stopAll()
})

test('handshake: 409 with the session id, then success; Basic auth with any user and the key', async () => {
  const url = `${s.url}/transmission/rpc`
  const first = await http(url, { body: { method: 'session-get' }, headers: auth })
  assert.is(first.status, 409)
  const sid = first.headers.get('x-transmission-session-id')!
  assert.ok(sid && sid.length > 10)
  const stale = await http(url, { body: { method: 'session-get' }, headers: { ...auth, 'X-Transmission-Session-Id': 'stale' } })
  assert.is(stale.status, 409)
  const basic = 'Basic ' + Buffer.from(`whoever:${KEY}`).toString('base64')
  const ok = await http(url, { body: { method: 'session-get', tag: 5 }, headers: { Authorization: basic, 'X-Transmission-Session-Id': sid } })
  assert.is(ok.status, 200)
  assert.is(ok.json.result, 'success')
  assert.is(ok.json.tag, 5)
  assert.is(ok.json.arguments['rpc-version'], 17)
  assert.ok(parseFloat(ok.json.arguments.version) >= 4.0, ok.json.arguments.version)
  assert.is(ok.json.arguments['download-dir'], s.downloadDir)
  const noAuth = await http(url, { body: { method: 'session-get' }, headers: { 'X-Transmission-Session-Id': sid } })
  assert.is(noAuth.status, 401)
  assert.match(noAuth.headers.get('www-authenticate') ?? '', /Basic/)
  const wrong = await http(url, { body: { method: 'session-get' }, headers: { Authorization: 'Basic ' + Buffer.from('x:nope').toString('base64'), 'X-Transmission-Session-Id': sid } })
  assert.is(wrong.status, 401)
  // unknown method: Transmission's error result, not an HTTP error
  const unk = await rpc(s.url, 'torrent-frobnicate', {}, auth)
  assert.is(unk.result, 'method name not recognized')
})

test('Sonarr-style: torrent-add magnet with labels, torrent-get its fields, duplicate, base64 metainfo, bad metainfo', async () => {
  const added = await rpc(s.url, 'torrent-add', { filename: `magnet:?xt=urn:btih:${a.metainfo.infoHash}&dn=alpha.mkv`, labels: ['tv-sonarr'], 'download-dir': s.downloadDir }, auth)
  assert.is(added.result, 'success', JSON.stringify(added))
  assert.is(added.arguments['torrent-added'].hashString, a.metainfo.infoHash)
  const id = added.arguments['torrent-added'].id
  assert.type(id, 'number')
  const dup = await rpc(s.url, 'torrent-add', { filename: `magnet:?xt=urn:btih:${a.metainfo.infoHash}` }, auth)
  assert.is(dup.arguments['torrent-duplicate'].hashString, a.metainfo.infoHash)
  const sonarrFields = ['id', 'hashString', 'name', 'downloadDir', 'totalSize', 'leftUntilDone', 'isFinished', 'eta', 'status', 'secondsDownloading', 'secondsSeeding', 'errorString', 'uploadedEver', 'downloadedEver', 'seedRatioLimit', 'seedRatioMode', 'seedIdleLimit', 'seedIdleMode', 'fileCount', 'labels']
  const deadline = Date.now() + 20_000
  let t: any
  for (;;) {
    const g = await rpc(s.url, 'torrent-get', { ids: [a.metainfo.infoHash], fields: sonarrFields }, auth)
    t = g.arguments.torrents[0]
    if (t.status === 6 && t.leftUntilDone === 0) break
    if (Date.now() > deadline) throw new Error(`not seeding: ${JSON.stringify(t)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  for (const f of sonarrFields) assert.ok(f in t, `field ${f} missing`)
  assert.is(t.id, id)
  assert.is(t.name, 'alpha.mkv')
  assert.is(t.totalSize, a.metainfo.length)
  assert.is(t.fileCount, 1)
  assert.equal(t.labels, ['tv-sonarr'])
  assert.is(t.errorString, '')
  assert.is(t.downloadDir, s.downloadDir)
  await assertSameMd5(a, s.downloadDir)
  // base64 metainfo, paused, some files unwanted
  const meta = readFileSync(b.torrentPath).toString('base64')
  const addB = await rpc(s.url, 'torrent-add', { metainfo: meta, paused: true, 'files-unwanted': [1] }, auth)
  assert.is(addB.arguments['torrent-added'].name, 'beta')
  const gb = await rpc(s.url, 'torrent-get', { ids: [addB.arguments['torrent-added'].id], fields: ['status', 'wanted', 'files', 'fileStats', 'priorities'] }, auth)
  assert.is(gb.arguments.torrents[0].status, 0)
  assert.equal(gb.arguments.torrents[0].wanted, [1, 0])
  assert.is(gb.arguments.torrents[0].files.length, 2)
  // torrent-set: files wanted, limits, ratio, labels
  const set = await rpc(s.url, 'torrent-set', { ids: [addB.arguments['torrent-added'].id], 'files-wanted': [1], downloadLimit: 500, downloadLimited: true, seedRatioLimit: 1.5, seedRatioMode: 1, labels: ['a', 'b'] }, auth)
  assert.is(set.result, 'success')
  const gb2 = await rpc(s.url, 'torrent-get', { ids: [b.metainfo.infoHash], fields: ['wanted', 'downloadLimit', 'downloadLimited', 'seedRatioLimit', 'seedRatioMode', 'labels'] }, auth)
  assert.equal(gb2.arguments.torrents[0], { wanted: [1, 1], downloadLimit: 500, downloadLimited: true, seedRatioLimit: 1.5, seedRatioMode: 1, labels: ['a', 'b'] })
  // table format
  const table = await rpc(s.url, 'torrent-get', { fields: ['id', 'name'], format: 'table' }, auth)
  assert.equal(table.arguments.torrents[0], ['id', 'name'])
  assert.is(table.arguments.torrents.length, 3)
  // bad metainfo: Transmission's error result, nothing added
  const bad = await rpc(s.url, 'torrent-add', { metainfo: 'not base64 !!!' }, auth)
  assert.is(bad.result, 'invalid or corrupt torrent file')
  const bad2 = await rpc(s.url, 'torrent-add', { metainfo: Buffer.from('d4:infoi3ee').toString('base64') }, auth)
  assert.is(bad2.result, 'invalid or corrupt torrent file')
  const count = await rpc(s.url, 'torrent-get', { fields: ['id'] }, auth)
  assert.is(count.arguments.torrents.length, 2)
})

test('session-set/stats, queue-move, free-space, port-test', async () => {
  const set = await rpc(s.url, 'session-set', { 'speed-limit-down': 1000, 'speed-limit-down-enabled': true, seedRatioLimit: 3, seedRatioLimited: true }, auth)
  assert.is(set.result, 'success')
  const got = await rpc(s.url, 'session-get', { fields: ['speed-limit-down', 'speed-limit-down-enabled', 'seedRatioLimit', 'seedRatioLimited'] }, auth)
  assert.equal(got.arguments, { 'speed-limit-down': 1000, 'speed-limit-down-enabled': true, seedRatioLimit: 3, seedRatioLimited: true })
  const rest = await http(`${s.url}/api/v1/settings`, { headers: auth })
  assert.is(rest.json.downloadLimit, 1000 * 1024)
  await rpc(s.url, 'session-set', { 'speed-limit-down-enabled': false, seedRatioLimited: false }, auth)
  const stats = await rpc(s.url, 'session-stats', {}, auth)
  assert.is(stats.arguments.torrentCount, 2)
  assert.ok(stats.arguments['cumulative-stats'].downloadedBytes >= a.metainfo.length)
  const before = (await rpc(s.url, 'torrent-get', { fields: ['hashString', 'queuePosition'] }, auth)).arguments.torrents
  const last = before.find((t: any) => t.queuePosition === 1).hashString
  await rpc(s.url, 'queue-move-top', { ids: [last] }, auth)
  const after = (await rpc(s.url, 'torrent-get', { ids: [last], fields: ['queuePosition'] }, auth)).arguments.torrents[0]
  assert.is(after.queuePosition, 0)
  const fs = await rpc(s.url, 'free-space', { path: s.downloadDir }, auth)
  assert.is(fs.result, 'success')
  assert.ok(fs.arguments['size-bytes'] > 0)
  assert.is((await rpc(s.url, 'free-space', { path: '/no/such/dir' }, auth)).result.startsWith('free-space'), true)
  assert.is((await rpc(s.url, 'port-test', {}, auth)).arguments['port-is-open'], true)
  // seed limits: an idle limit of 0 minutes stops the seeding torrent at once, and it reads as finished
  await rpc(s.url, 'torrent-set', { ids: [a.metainfo.infoHash], seedIdleMode: 1, seedIdleLimit: 0 }, auth)
  const deadline = Date.now() + 5000
  for (;;) {
    const t = (await rpc(s.url, 'torrent-get', { ids: [a.metainfo.infoHash], fields: ['status', 'isFinished', 'seedIdleMode'] }, auth)).arguments.torrents[0]
    if (t.isFinished && t.status === 0) break
    if (Date.now() > deadline) throw new Error(`not finished: ${JSON.stringify(t)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
})

test('transmission-remote: -l, -a magnet, -S, -s, -i, -f, -r, --remove-and-delete', async () => {
  const tr = (...args: string[]) => run('transmission-remote', [`127.0.0.1:${s.port}`, '--auth', `sonarr:${KEY}`, ...args], { timeoutMs: 15_000 })
  const added = await tr('-a', `magnet:?xt=urn:btih:${c.metainfo.infoHash}&dn=gamma.bin`)
  assert.is(added.code, 0, added.stderr + added.stdout)
  assert.match(added.stdout, /success/)
  await pollJson(`${s.url}/api/v1/torrents/${c.metainfo.infoHash}`, (j) => j.state === 'seeding', 20_000, auth)
  await assertSameMd5(c, s.downloadDir)
  const list = await tr('-l')
  assert.is(list.code, 0, list.stderr)
  assert.match(list.stdout, /gamma\.bin/)
  assert.match(list.stdout, /alpha\.mkv/)
  assert.match(list.stdout, /^Sum:/m)
  const id = (await rpc(s.url, 'torrent-get', { ids: [c.metainfo.infoHash], fields: ['id'] }, auth)).arguments.torrents[0].id
  assert.is((await tr('-t', String(id), '-S')).code, 0)
  await pollJson(`${s.url}/api/v1/torrents/${c.metainfo.infoHash}`, (j) => j.state === 'stopped', 5000, auth)
  assert.match((await tr('-l')).stdout, new RegExp(`^\\s*${id}\\*?\\s.*Stopped\\s+gamma\\.bin`, 'm'))
  assert.is((await tr('-t', String(id), '-s')).code, 0)
  await pollJson(`${s.url}/api/v1/torrents/${c.metainfo.infoHash}`, (j) => j.state === 'seeding', 10_000, auth)
  const info = await tr('-t', c.metainfo.infoHash, '-i')
  assert.is(info.code, 0, info.stderr)
  assert.match(info.stdout, /Name: gamma\.bin/)
  assert.match(info.stdout, new RegExp(`Hash: ${c.metainfo.infoHash}`))
  assert.match(info.stdout, /Percent Done: 100%/)
  const files = await tr('-t', String(id), '-f')
  assert.match(files.stdout, /gamma\.bin \(1 files\)/)
  assert.match(files.stdout, /0: 100% Normal\s+Yes/)
  // -r keeps the data; --remove-and-delete deletes it
  const alphaId = (await rpc(s.url, 'torrent-get', { ids: [a.metainfo.infoHash], fields: ['id'] }, auth)).arguments.torrents[0].id
  assert.is((await tr('-t', String(alphaId), '-r')).code, 0)
  assert.ok(existsSync(join(s.downloadDir, 'alpha.mkv')))
  assert.is((await tr('-t', String(id), '--remove-and-delete')).code, 0)
  assert.not.ok(existsSync(join(s.downloadDir, 'gamma.bin')))
  const left = await rpc(s.url, 'torrent-get', { fields: ['name'] }, auth)
  assert.equal(left.arguments.torrents.map((t: any) => t.name), ['beta'])
})

test.run()
