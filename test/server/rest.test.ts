// bt serve's REST API against real bt seeders on 127.0.0.1: add by magnet (events over SSE), by multipart upload and
// by URL of a .torrent; start/stop/verify/remove with data; file selection and limits; Range reads with curl.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeTestTorrent, seedWith, stopAll, md5, type TestTorrent } from '../helpers/swarm.js'
import { run } from '../helpers/cli.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { startServe, http, pollJson, KiB, MiB, type Serve } from './helpers.js'

let multi: TestTorrent // multi/f0.bin, multi/sub/f1.bin, multi/f2.bin
let single: TestTorrent // file.bin
let trio: TestTorrent // trio/f0.bin, trio/sub/f1.bin, trio/f2.bin
let s: Serve
const api = (p: string) => `${s.url}/api/v1${p}`

const timer = setTimeout(() => {
  console.error('rest.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
timer.unref()

test.before(async () => {
  multi = await makeTestTorrent([700 * KiB + 3, 1 * MiB + 5, 300 * KiB], { pieceLength: 32 * KiB, seed: 31 })
  single = await makeTestTorrent([2 * MiB + 333], { pieceLength: 64 * KiB, seed: 32 })
  trio = await makeTestTorrent([200 * KiB + 1, 600 * KiB, 200 * KiB + 7], { pieceLength: 32 * KiB, seed: 33, name: 'trio' })
  const peers = await Promise.all([seedWith(multi), seedWith(single), seedWith(trio)])
  // Every torrent of the daemon also dials these (bt serve --peer): .torrent files here have no trackers.
  s = await startServe({ args: peers.flatMap((p) => ['--peer', p.addr]) })
})

test.after(async () => {
  await s?.stop()
  await stopAll()
})

/** Read SSE events from /api/v1/events until stopped. */
function events(url: string) {
  const ac = new AbortController()
  const list: Array<{ event: string; data: any }> = []
  const done = (async () => {
    const res = await fetch(url, { signal: ac.signal })
    const dec = new TextDecoder()
    let buf = ''
    for await (const chunk of res.body as any) {
      buf += dec.decode(chunk, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const ev = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (ev && data) list.push({ event: ev, data: JSON.parse(data) })
      }
    }
  })().catch(() => {})
  return { list, stop: () => ac.abort(), done }
}

test('add by magnet: downloads with the right md5; SSE reports added, progress and done', async () => {
  const ev = events(api('/events'))
  const magnet = `magnet:?xt=urn:btih:${multi.metainfo.infoHash}&dn=multi`
  // A download limit (per torrent) stretches the download over a few progress ticks.
  const r = await http(api('/torrents'), { body: { uri: magnet, downloadLimit: 600 * KiB } })
  assert.is(r.status, 201, r.text)
  assert.is(r.json.infoHash, multi.metainfo.infoHash)
  const started = Date.now()
  const t = await pollJson(api(`/torrents/${multi.metainfo.infoHash}`), (j) => j.state === 'seeding', 20_000)
  // 2 MiB at 600 KiB/s: the per-torrent limit held (the bucket's burst is a quarter second)
  assert.ok(Date.now() - started > 2500, `done in ${Date.now() - started} ms despite the limit`)
  assert.is(t.progress, 1)
  assert.is(t.files.length, 3)
  assert.ok(t.files.every((f: any) => f.bytesCompleted === f.length && f.selected))
  await assertSameMd5(multi, s.downloadDir)
  // the list has it too
  const list = await http(api('/torrents'))
  assert.is(list.json.length, 1)
  assert.is(list.json[0].name, 'multi')
  await pollJson(api('/stats'), () => ev.list.some((e) => e.event === 'done'), 5000)
  ev.stop()
  const kinds = new Set(ev.list.map((e) => e.event))
  for (const k of ['snapshot', 'added', 'progress', 'done']) assert.ok(kinds.has(k), `no ${k} event in ${[...kinds]}`)
  assert.is(ev.list.find((e) => e.event === 'done')!.data.infoHash, multi.metainfo.infoHash)
  // the same magnet again: 409 with the existing torrent
  const dup = await http(api('/torrents'), { body: { uri: magnet } })
  assert.is(dup.status, 409)
  assert.is(dup.json.infoHash, multi.metainfo.infoHash)
})

test('Range reads at random offsets (curl) equal the file bytes; HEAD, 416, If-Range, names and indices', async () => {
  const h = multi.metainfo.infoHash
  const data = readFileSync(join(multi.seedDir, 'multi/sub/f1.bin'))
  const url = `${s.url}/stream/${h}/multi/sub/f1.bin`
  let seed = 7
  for (let i = 0; i < 12; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const off = seed % data.length
    const len = 1 + (seed % 200_000)
    const end = Math.min(data.length - 1, off + len - 1)
    const r = await run('curl', ['-sS', '-f', '-r', `${off}-${end}`, url])
    assert.is(r.code, 0, r.stderr)
    assert.ok(r.stdoutBuf.equals(data.subarray(off, end + 1)), `bytes ${off}-${end}`)
  }
  // whole file by index (files are in mktorrent's order: f0.bin, f2.bin, sub/f1.bin), and by the path below the torrent's directory
  const whole = await run('curl', ['-sS', '-f', `${s.url}/stream/${h}/2`])
  assert.is(md5(whole.stdoutBuf), md5(data))
  const below = await run('curl', ['-sS', '-f', `${s.url}/stream/${h}/sub/f1.bin`])
  assert.is(md5(below.stdoutBuf), md5(data))
  // headers
  const head = await fetch(url, { method: 'HEAD' })
  assert.is(head.status, 200)
  assert.is(head.headers.get('accept-ranges'), 'bytes')
  assert.is(head.headers.get('content-length'), String(data.length))
  assert.match(head.headers.get('content-disposition') ?? '', /filename="f1\.bin"/)
  const part = await fetch(url, { headers: { Range: 'bytes=-100' } })
  assert.is(part.status, 206)
  assert.is(part.headers.get('content-range'), `bytes ${data.length - 100}-${data.length - 1}/${data.length}`)
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(data.length - 100)))
  const bad = await fetch(url, { headers: { Range: `bytes=${data.length}-` } })
  assert.is(bad.status, 416)
  assert.is(bad.headers.get('content-range'), `bytes */${data.length}`)
  await bad.arrayBuffer()
  const etag = head.headers.get('etag')!
  const same = await fetch(url, { headers: { Range: 'bytes=0-9', 'If-Range': etag } })
  assert.is(same.status, 206)
  await same.arrayBuffer()
  const changed = await fetch(url, { headers: { Range: 'bytes=0-9', 'If-Range': '"something-else"' } })
  assert.is(changed.status, 200)
  assert.is(Number(changed.headers.get('content-length')), data.length)
  await changed.arrayBuffer()
  // playlist: no media files in this torrent
  const pl = await http(`${s.url}/playlist/${h}.m3u`)
  assert.is(pl.status, 404)
})

test('multipart upload, paused, some files; start, select more, stop, verify, limits; remove with data', async () => {
  const h = trio.metainfo.infoHash
  const form = new FormData()
  form.set('paused', 'true')
  form.set('labels', 'tv,hd')
  form.set('files', '0,2')
  form.set('torrent', new Blob([readFileSync(trio.torrentPath)]), 'trio.torrent')
  const r = await fetch(api('/torrents'), { method: 'POST', body: form })
  const j = await r.json()
  assert.is(r.status, 201, JSON.stringify(j))
  assert.is(j.state, 'stopped')
  assert.equal(j.labels, ['tv', 'hd'])
  await new Promise((res) => setTimeout(res, 300))
  assert.is((await http(api(`/torrents/${h}`))).json.have, 0, 'a paused torrent fetches nothing')
  // limits: validated, saved
  const p = await http(api(`/torrents/${h}`), { method: 'PATCH', body: { downloadLimit: 50 * MiB, uploadLimit: 100000 } })
  assert.is(p.status, 200, p.text)
  assert.is(p.json.downloadLimit, 50 * MiB)
  assert.is((await http(api(`/torrents/${h}`), { method: 'PATCH', body: { downloadLimit: -1 } })).status, 400)
  assert.is((await http(api(`/torrents/${h}`), { method: 'PATCH', body: { colour: 'red' } })).status, 400)
  assert.is((await http(api(`/torrents/${h}`), { method: 'PATCH', body: { files: [7] } })).status, 400)
  const set = await http(api('/settings'), { method: 'PATCH', body: { uploadLimit: 10 * MiB } })
  assert.is(set.json.uploadLimit, 10 * MiB)
  // start: files 0 and 2 complete, file 1 not
  assert.is((await http(api(`/torrents/${h}/start`), { method: 'POST' })).status, 200)
  const t = await pollJson(api(`/torrents/${h}`), (x) => x.state === 'seeding', 20_000)
  assert.is(t.files[0].bytesCompleted, t.files[0].length)
  assert.is(t.files[2].bytesCompleted, t.files[2].length)
  assert.ok(t.files[1].bytesCompleted < t.files[1].length)
  assert.not.ok(t.files[1].selected)
  // select every file: the rest comes
  assert.is((await http(api(`/torrents/${h}`), { method: 'PATCH', body: { files: [0, 1, 2] } })).status, 200)
  await pollJson(api(`/torrents/${h}`), (x) => x.state === 'seeding' && x.progress === 1 && x.files[1].bytesCompleted === x.files[1].length, 20_000)
  await assertSameMd5(trio, s.downloadDir)
  // stop, verify (stays stopped), start
  assert.is((await http(api(`/torrents/${h}/stop`), { method: 'POST' })).json.state, 'stopped')
  assert.is((await http(api(`/torrents/${h}/verify`), { method: 'POST' })).status, 200)
  await pollJson(api(`/torrents/${h}`), (x) => x.state === 'stopped', 10_000)
  assert.is((await http(api(`/torrents/${h}/start`), { method: 'POST' })).status, 200)
  await pollJson(api(`/torrents/${h}`), (x) => x.state === 'seeding' && x.progress === 1, 10_000)
  // remove with data
  const del = await http(api(`/torrents/${h}?deleteData=true`), { method: 'DELETE' })
  assert.is(del.status, 200, del.text)
  assert.is((await http(api(`/torrents/${h}`))).status, 404)
  assert.not.ok(existsSync(join(s.downloadDir, 'trio')), 'data deleted')
})

test('add by URL of a .torrent, and by a URL that redirects to a magnet; remove keeping data', async () => {
  const bytes = readFileSync(single.torrentPath)
  const web: Server = createServer((req, res) => {
    if (req.url === '/x.torrent') res.writeHead(200, { 'content-type': 'application/x-bittorrent' }).end(bytes)
    else if (req.url === '/magnet') res.writeHead(302, { location: `magnet:?xt=urn:btih:${multi.metainfo.infoHash}` }).end()
    else res.writeHead(404).end()
  })
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(web.address() as any).port}`
  try {
    const r = await http(api('/torrents'), { body: { uri: `${base}/x.torrent` } })
    assert.is(r.status, 201, r.text)
    assert.is(r.json.infoHash, single.metainfo.infoHash)
    await pollJson(api(`/torrents/${single.metainfo.infoHash}`), (x) => x.state === 'seeding', 20_000)
    await assertSameMd5(single, s.downloadDir)
    const m = await http(api('/torrents'), { body: { uri: `${base}/magnet` } })
    assert.is(m.status, 409, 'the redirect named the magnet of a torrent we have')
    const missing = await http(api('/torrents'), { body: { uri: `${base}/nope` } })
    assert.is(missing.status, 502)
    const del = await http(api(`/torrents/${single.metainfo.infoHash}`), { method: 'DELETE' })
    assert.is(del.status, 200)
    assert.ok(existsSync(join(s.downloadDir, 'file.bin')), 'data kept')
  } finally {
    web.close()
  }
})

test.run()
