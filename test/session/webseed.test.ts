// BEP 19 web seeds: bt downloads from an HTTP server on 127.0.0.1 that answers Range requests (single- and
// multi-file), and a web seed that serves wrong bytes is dropped while peers finish the job.
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

test.run()
