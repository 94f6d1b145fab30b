// BEP 19 web seeds: bt downloads from an HTTP server on 127.0.0.1 that answers Range requests (single- and
// multi-file), a web seed that serves wrong bytes is dropped while peers finish the job, and web-seed bytes count
// against the download limits (the Client's --download-limit and a torrent's own).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import http from 'node:http'
import { createReadStream, statSync } from 'node:fs'
import { join, normalize } from 'node:path'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { tmpDir } from '../helpers/tmp.js'
import { assertSameFiles, makeTestTorrent, seedWith, startClient, stopAll, whenDone, type TestTorrent } from '../helpers/swarm.js'

const servers: http.Server[] = []
test.after.each(async () => {
  await stopAll()
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
})

/** A static file server with Range support; `corrupt` flips the bytes it sends. */
async function serve(root: string, opts: { corrupt?: boolean } = {}): Promise<{ url: string; ranges: string[] }> {
  const ranges: string[] = []
  const server = http.createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname)))
    if (!path.startsWith(root)) return res.writeHead(403).end()
    let size: number
    try {
      size = statSync(path).size
    } catch {
      return res.writeHead(404).end()
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    ranges.push(req.headers.range ?? '')
    const start = m ? Number(m[1]) : 0
    const end = m ? Math.min(Number(m[2]), size - 1) : size - 1
    res.writeHead(m ? 206 : 200, { 'Content-Length': end - start + 1, ...(m ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}) })
    const stream = createReadStream(path, { start, end })
    if (opts.corrupt) stream.on('data', (c) => res.write(Buffer.from(c as Buffer).map((b) => b ^ 0x55)))
    else stream.on('data', (c) => res.write(c))
    stream.on('end', () => res.end())
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, ranges }
}

async function withWebSeed(sizes: number[], url: (tt: TestTorrent, base: string) => string, seedOpts = {}) {
  const plain = await makeTestTorrent(sizes, { pieceLength: 32768, seed: 41, ...seedOpts })
  const srv = await serve(plain.seedDir)
  // Same data, with the web seed in url-list (the info hash is unchanged: url-list is outside `info`).
  const raw = parseTorrent((await import('node:fs')).readFileSync(plain.torrentPath)).raw
  const m = parseTorrent(Buffer.from((await import('bencode')).default.encode({ ...raw, 'url-list': url(plain, srv.url) })))
  return { tt: { ...plain, metainfo: m }, srv }
}

test('single-file torrent from a web seed alone', async () => {
  const { tt, srv } = await withWebSeed([700_000], (t, base) => base + 'file.bin')
  const c = await startClient()
  const dir = tmpDir()
  const t = c.add(tt.metainfo, { dir })
  await whenDone(t, 20_000)
  assertSameFiles(tt, dir)
  assert.ok(srv.ranges.length > 0 && srv.ranges.every((r) => r.startsWith('bytes=')))
})

test('multi-file torrent from a web seed alone (url ending in /)', async () => {
  const { tt, srv } = await withWebSeed([300_000, 0, 123_456, 50_000], (_t, base) => base)
  const c = await startClient()
  const dir = tmpDir()
  const t = c.add(tt.metainfo, { dir })
  await whenDone(t, 20_000)
  assertSameFiles(tt, dir)
  assert.ok(srv.ranges.length >= 3)
})

test('a web seed that serves wrong bytes is dropped; a peer completes the download', async () => {
  const plain = await makeTestTorrent([500_000], { pieceLength: 32768, seed: 42 })
  const bad = await serve(plain.seedDir, { corrupt: true })
  const bencode = (await import('bencode')).default
  const raw = parseTorrent((await import('node:fs')).readFileSync(plain.torrentPath)).raw
  const m = parseTorrent(Buffer.from(bencode.encode({ ...raw, 'url-list': bad.url + 'file.bin' })))
  const tt = { ...plain, metainfo: m }
  // A slow peer, so the web seed's (wrong) bytes arrive first.
  const seed = await seedWith(tt, {}, { uploadLimit: 200_000 })
  const c = await startClient()
  const dir = tmpDir()
  const warnings: string[] = []
  const t = c.add(tt.metainfo, { dir, peers: [{ host: '127.0.0.1', port: seed.client.port() }] })
  t.on('warning', (w: string) => warnings.push(w))
  await whenDone(t, 20_000)
  assertSameFiles(tt, dir)
  assert.ok(warnings.some((w) => w.includes('not using it')), warnings.join(' | ') + ' ranges: ' + bad.ranges.join(','))
})

/** Download from a web seed alone under a limit; the time taken must fit the limit (the bucket starts with a burst). */
async function limitedDownload(size: number, limit: number, where: 'client' | 'torrent'): Promise<number> {
  const { tt } = await withWebSeed([size], (_t, base) => base + 'file.bin', { pieceLength: 65536 })
  const c = await startClient(where === 'client' ? { downloadLimit: limit } : {})
  const t = c.add(tt.metainfo, { dir: tmpDir() })
  if (where === 'torrent') t.setLimits({ download: limit })
  const started = Date.now()
  // Unlimited, this takes well under a second; at the limit it takes size/limit less the starting burst.
  await whenDone(t, 30_000)
  const secs = (Date.now() - started) / 1000
  assert.is(t.stats().downloaded, size)
  return secs
}

test('web-seed bytes respect --download-limit (the Client limit)', async () => {
  const size = 2 * 1024 * 1024
  const limit = 512 * 1024
  const secs = await limitedDownload(size, limit, 'client')
  // The bucket starts with a quarter second of tokens and a reply chunk may overshoot by up to 64 KiB.
  const least = (size - limit / 4 - 65536) / limit
  assert.ok(secs >= least * 0.9, `2 MiB at 512 KiB/s took ${secs.toFixed(2)} s, expected at least ${least.toFixed(2)} s`)
  assert.ok(secs < least * 3 + 2, `2 MiB at 512 KiB/s took ${secs.toFixed(2)} s: throttled far below the limit`)
})

test("web-seed bytes respect a torrent's own download limit", async () => {
  const size = 1024 * 1024
  const limit = 256 * 1024
  const secs = await limitedDownload(size, limit, 'torrent')
  const least = (size - limit / 4 - 65536) / limit
  assert.ok(secs >= least * 0.9, `1 MiB at 256 KiB/s took ${secs.toFixed(2)} s, expected at least ${least.toFixed(2)} s`)
  assert.ok(secs < least * 3 + 2, `1 MiB at 256 KiB/s took ${secs.toFixed(2)} s: throttled far below the limit`)
})

test.run()
