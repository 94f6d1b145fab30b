// Streaming from bt serve while the torrent is still downloading: a range whose pieces are not local yet (slow bt
// seeder), ffprobe reading a video streamed from a python3-libtorrent seeder, the .m3u playlist with the key, and
// a magnet without peers answering 503 after the bounded metadata wait.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileSync, mkdirSync } from 'node:fs'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { run } from '../helpers/cli.js'
import { tmpDir, randomHex } from '../helpers/tmp.js'
import { startServe, http, pollJson, KiB, MiB, type Serve } from './helpers.js'
import { waitFor } from '../helpers/wait.js'

let slow: TestTorrent
let slowPeer: string
let video: { infoHash: string; path: string; torrentPath: string }
let lt: LtHandle
let s: Serve
const KEY = 'k' + randomHex(8)
const auth = { 'X-Api-Key': KEY }

const timer = setTimeout(() => {
  console.error('stream.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
timer.unref()

test.before(async () => {
  slow = await makeTestTorrent([4 * MiB], { pieceLength: 64 * KiB, seed: 51, name: 'slow.bin' })
  // 384 KiB/s: the whole file takes ~11 s, so a range near the end that arrives in a second or two was fetched first.
  slowPeer = (await seedWith(slow, {}, { uploadLimit: 384 * KiB })).addr
  const dir = tmpDir('bt-video-')
  mkdirSync(join(dir, 'seed'))
  const path = join(dir, 'seed', 'clip.mp4')
  // moov at the end (no faststart): ffprobe has to seek, i.e. send Range requests.
  const ff = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=6:size=320x240:rate=10', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-y', path])
  assert.is(ff.code, 0, ff.stderr)
  const bytes = await createTorrent(path, { pieceLength: 16 * KiB, creationDate: null })
  const torrentPath = join(dir, 'clip.torrent')
  writeFileSync(torrentPath, bytes)
  video = { infoHash: parseTorrent(bytes).infoHash, path, torrentPath }
  lt = await startLibtorrent({ torrentPath, saveDir: join(dir, 'seed'), seed: true })
  s = await startServe({ args: ['--api-key', KEY, '--metadata-wait', '3', '--verbose'] })
})

test.after(async () => {
  await s?.stop()
  await lt?.stop()
  await stopAll()
})

test('a range near the end of a file still downloading streams first, with the right bytes', async () => {
  const h = slow.metainfo.infoHash
  const r = await http(`${s.url}/api/v1/torrents`, { body: { uri: `magnet:?xt=urn:btih:${h}&x.pe=${slowPeer}` }, headers: auth })
  assert.is(r.status, 201, r.text)
  const data = readFileSync(join(slow.seedDir, 'slow.bin'))
  const off = 3 * MiB + 12345
  const len = 150 * KiB
  const started = Date.now()
  // The request may arrive before the metadata: it waits for it (bounded), then streams.
  const res = await fetch(`${s.url}/stream/${h}/slow.bin`, { headers: { ...auth, Range: `bytes=${off}-${off + len - 1}` }, signal: AbortSignal.timeout(20_000) })
  assert.is(res.status, 206)
  const got = Buffer.from(await res.arrayBuffer())
  const ms = Date.now() - started
  assert.ok(got.equals(data.subarray(off, off + len)), 'streamed bytes differ')
  const t = (await http(`${s.url}/api/v1/torrents/${h}`, { headers: auth })).json
  assert.ok(t.progress < 0.9, `the range came ${ms} ms in, when ${Math.round(t.progress * 100)}% was local: not streamed ahead of the download`)
  // a reader from the start while the rest arrives: whole file equals the original
  // 4 MiB from a seeder capped at 384 KiB/s takes ~11 s; a loaded CI machine once needed over 30.
  const whole = await run('curl', ['-sS', '-f', '-H', `X-Api-Key: ${KEY}`, `${s.url}/stream/${h}/0`], { timeoutMs: 60_000 })
  assert.is(whole.code, 0, whole.stderr)
  assert.ok(whole.stdoutBuf.equals(data))
})

test('ffprobe reads a video streamed from a libtorrent seeder; the playlist carries the key', async () => {
  const h = video.infoHash
  const r = await http(`${s.url}/api/v1/torrents`, { body: { uri: `magnet:?xt=urn:btih:${h}&dn=clip.mp4&x.pe=127.0.0.1:${lt.port}`, paused: false }, headers: auth })
  assert.is(r.status, 201, r.text)
  const pl = await http(`${s.url}/playlist/${h}.m3u?apikey=${KEY}`)
  assert.is(pl.status, 200, pl.text)
  assert.match(pl.text, /^#EXTM3U\n#EXTINF:-1,clip\.mp4\n/)
  const url = pl.text.split('\n')[2]
  assert.is(url, `${s.url}/stream/${h}/clip.mp4?apikey=${KEY}`)
  const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name,width,height', '-of', 'json', url], { timeoutMs: 30_000 })
  assert.is(probe.code, 0, probe.stderr)
  const j = JSON.parse(probe.stdout)
  assert.is(j.streams[0].codec_name, 'h264')
  assert.is(j.streams[0].width, 320)
  assert.ok(Math.abs(Number(j.format.duration) - 6) < 0.5, `duration ${j.format.duration}`)
  const head = await fetch(url, { method: 'HEAD' })
  assert.is(head.headers.get('content-type'), 'video/mp4')
  // --verbose: one line per request, the key left out
  assert.match(s.stderr(), new RegExp(`127\\.0\\.0\\.1 GET /playlist/${h}\\.m3u\\?apikey=… 200 \\d+ ms`))
  await waitFor('the HEAD request logged', () => new RegExp(`HEAD /stream/${h}/clip\\.mp4\\?apikey=… 200`).test(s.stderr()), 3000)
  // A warm stream (the file complete on disk) is written past fastify's send, and is logged all the same.
  await pollJson(`${s.url}/api/v1/torrents/${h}`, (t) => t.progress === 1, 20_000, auth)
  const warm = await fetch(url, { headers: { Range: 'bytes=100-199' } })
  assert.is(warm.status, 206)
  assert.is((await warm.arrayBuffer()).byteLength, 100)
  await waitFor('the warm range logged', () => new RegExp(`GET /stream/${h}/clip\\.mp4\\?apikey=… 206`).test(s.stderr()), 3000)
  assert.not.ok(s.stderr().includes(KEY), 'the API key was logged')
})

test('a magnet nobody serves: the stream request waits the bounded time, then 503; the key is required', async () => {
  const h = 'ab'.repeat(20)
  assert.is((await http(`${s.url}/api/v1/torrents`, { body: { uri: `magnet:?xt=urn:btih:${h}` }, headers: auth })).status, 201)
  const started = Date.now()
  const r = await http(`${s.url}/stream/${h}/0`, { headers: auth })
  assert.is(r.status, 503)
  assert.match(r.json.error, /no metadata yet/)
  assert.ok(Date.now() - started >= 2900 && Date.now() - started < 8000, `${Date.now() - started} ms`)
  assert.is((await http(`${s.url}/stream/${h}/0`)).status, 401)
  // a stopped torrent: 409
  await http(`${s.url}/api/v1/torrents/${h}/stop`, { method: 'POST', headers: auth })
  assert.is((await http(`${s.url}/stream/${h}/0`, { headers: auth })).status, 409)
  await pollJson(`${s.url}/api/v1/stats`, (j) => j.torrents === 3, 1000, auth)
})

test('a client that disconnects releases its piece priorities (in process)', async () => {
  const { Client } = await import('../../src/session/client.js')
  const { Daemon } = await import('../../src/server/daemon.js')
  const { buildApp } = await import('../../src/server/app.js')
  const { Priority } = await import('../../src/session/priority.js')
  const tt = await makeTestTorrent([4 * MiB], { pieceLength: 64 * KiB, seed: 55, name: 'drop.bin' })
  const peer = await seedWith(tt, {}, { uploadLimit: 1 * MiB })
  const client = new Client({ port: 0, host: '127.0.0.1', resumeDir: join(tmpDir(), 'resume') })
  await client.listen()
  const daemon = await Daemon.open({ client, stateDir: tmpDir(), downloadDir: tmpDir(), peers: [{ host: '127.0.0.1', port: Number(peer.addr.split(':')[1]) }] })
  const app = await buildApp(daemon, { auth: { allowedHosts: [] } })
  try {
    const addr = await app.listen({ host: '127.0.0.1', port: 0 })
    const { parseTorrentBytes } = await import('../../src/server/fetch-torrent.js')
    const { entry } = await daemon.add(parseTorrentBytes(readFileSync(tt.torrentPath), 'drop.torrent'))
    const t = await daemon.readable(entry, 10_000)
    const raised = () => t.picker!.priority.some((p) => p >= Priority.readahead)
    assert.not.ok(raised(), 'nothing raised before the stream')
    const ac = new AbortController()
    const res = await fetch(`${addr}/stream/${tt.metainfo.infoHash}/0`, { headers: { Range: `bytes=${3 * MiB}-` }, signal: ac.signal })
    assert.is(res.status, 206)
    const reader = res.body!.getReader()
    await reader.read()
    assert.ok(raised(), 'the stream raised the pieces it reads')
    ac.abort()
    const deadline = Date.now() + 5000
    while (raised() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.not.ok(raised(), 'priorities still raised after the client left')
  } finally {
    app.server.closeAllConnections() // the aborted fetch's keep-alive socket
    await app.close()
    await daemon.close()
  }
})

test.run()
