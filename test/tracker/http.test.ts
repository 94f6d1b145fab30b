// The HTTP tracker on real loopback sockets: announce (compact, dictionary, peers6, trackerid), scrape (several
// info_hash, full scrape), /stats in JSON and HTML, private mode with a whitelist directory re-read on change,
// hostile requests (missing fields, 21-byte hashes, huge numwant, 10 MB query strings), and the fastify plugin
// with the registration API that bt serve mounts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import http from 'node:http'
import net from 'node:net'
import { writeFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { bdecode, type BDict } from '../../src/metainfo/bdecode.js'
import { percentEncode, httpAnnounce as clientAnnounce, httpScrape as clientScrape } from '../../src/discovery/tracker-http.js'
import { startTracker, type TrackerService } from '../../src/tracker/service.js'
import { Tracker } from '../../src/tracker/swarm.js'
import { trackerApiRoutes, trackerRoutes } from '../../src/tracker/fastify.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const IH = Buffer.alloc(20, 0x5a)
let svc: TrackerService | undefined
let app: FastifyInstance | undefined
let standalone: Tracker | undefined

test.after.each(async () => {
  await svc?.close()
  svc = undefined
  await app?.close()
  app = undefined
  standalone?.stop()
  standalone = undefined
})

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (d) => chunks.push(d))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), type: String(res.headers['content-type']) }))
    })
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

const dec = (b: Buffer) => bdecode(b).value as BDict
const str = (v: unknown) => (v as Buffer).toString('latin1')
function q(o: { ih?: Buffer | string; peer?: string | number; port?: number; left?: number; extra?: string }): string {
  const ih = o.ih === undefined ? percentEncode(IH) : typeof o.ih === 'string' ? o.ih : percentEncode(o.ih)
  const peer = typeof o.peer === 'string' ? o.peer : `-XX0001-${String(o.peer ?? 1).padStart(12, '0')}`
  return `info_hash=${ih}&peer_id=${encodeURIComponent(peer)}&port=${o.port ?? 6881}&uploaded=0&downloaded=0&left=${o.left ?? 10}${o.extra ?? ''}`
}

async function start(opts: Parameters<typeof startTracker>[0] = {}): Promise<string> {
  svc = await startTracker({ hosts: ['127.0.0.1', '::1'], httpPort: 0, udpPort: -1, rateLimit: 0, ...opts })
  return `http://127.0.0.1:${svc.http[0].address.port}`
}

test('announce: compact and dictionary forms, peers6, trackerid, events', async () => {
  const base = await start()
  const v6base = `http://[::1]:${svc!.http[0].address.port}`
  let r = dec((await get(`${base}/announce?${q({ peer: 1, port: 7001, extra: '&event=started&compact=1' })}`)).body)
  assert.equal([r.complete, r.incomplete, r.interval, str(r.peers)], [0, 1, 900, ''])
  await get(`${v6base}/announce?${q({ peer: 2, port: 7002, left: 0 })}`)
  r = dec((await get(`${base}/announce?${q({ peer: 3, port: 7003, extra: '&trackerid=abc&key=k1' })}`)).body)
  assert.equal([r.complete, r.incomplete], [1, 2])
  assert.equal([...(r.peers as Buffer)].slice(0, 6), [127, 0, 0, 1, 7001 >> 8, 7001 & 255])
  assert.is((r.peers6 as Buffer).length, 18)
  assert.equal([...(r.peers6 as Buffer)].slice(0, 16), [...Buffer.alloc(15), 1])
  assert.is(str(r['tracker id']), 'abc')
  const d = dec((await get(`${base}/announce?${q({ peer: 4, port: 7004, extra: '&compact=0' })}`)).body)
  const list = (d.peers as BDict[]).map((p) => `${str(p.ip)}:${p.port}`).sort()
  assert.equal(list, ['127.0.0.1:7001', '127.0.0.1:7003', '::1:7002'])
  // completed then stopped
  await get(`${base}/announce?${q({ peer: 1, port: 7001, left: 0, extra: '&event=completed' })}`)
  r = dec((await get(`${base}/announce?${q({ peer: 3, port: 7003, extra: '&event=stopped' })}`)).body)
  assert.equal([r.complete, r.incomplete], [2, 1])
  // bt's own HTTP tracker client reads our replies.
  const res = await clientAnnounce(`${base}/announce`, { infoHash: IH, peerId: Buffer.from('-BT0001-zzzzzzzzzzzz'), port: 7009, uploaded: 0, downloaded: 0, left: 1, event: 'started' })
  assert.is(res.peers.length, 3)
})

test('scrape: several info_hash, counts follow the swarm, full scrape, unknown hashes', async () => {
  const base = await start()
  const other = Buffer.alloc(20, 0x11)
  await get(`${base}/announce?${q({ peer: 1 })}`)
  await get(`${base}/announce?${q({ peer: 2, left: 0, extra: '&event=completed' })}`)
  await get(`${base}/announce?${q({ ih: other, peer: 3 })}`)
  const unknown = Buffer.alloc(20, 0x22)
  let s = dec((await get(`${base}/scrape?info_hash=${percentEncode(IH)}&info_hash=${percentEncode(other)}&info_hash=${percentEncode(unknown)}`)).body).files as BDict
  assert.equal({ ...(s[IH.toString('latin1')] as object) }, { complete: 1, downloaded: 1, incomplete: 1 })
  assert.equal({ ...(s[other.toString('latin1')] as object) }, { complete: 0, downloaded: 0, incomplete: 1 })
  assert.equal({ ...(s[unknown.toString('latin1')] as object) }, { complete: 0, downloaded: 0, incomplete: 0 })
  await get(`${base}/announce?${q({ peer: 1, extra: '&event=stopped' })}`)
  s = dec((await get(`${base}/scrape`)).body).files as BDict
  assert.equal(Object.keys(s).length, 2, 'full scrape lists every swarm')
  assert.equal({ ...(s[IH.toString('latin1')] as object) }, { complete: 1, downloaded: 1, incomplete: 0 })
  const viaClient = await clientScrape(`${base}/announce`, [IH, other])
  assert.equal(viaClient.get(other.toString('hex')), { complete: 0, incomplete: 1, downloaded: 0 })
})

test('stats: JSON, HTML, per-torrent detail', async () => {
  const base = await start()
  await get(`${base}/announce?${q({ peer: 1 })}`)
  await get(`${base}/announce?${q({ peer: 2, left: 0, extra: '&event=completed' })}`)
  const j = JSON.parse((await get(`${base}/stats`)).body.toString())
  assert.equal([j.torrents, j.seeders, j.leechers, j.completed, j.announces, j.peersByFamily.ipv4], [1, 1, 1, 1, 2, 2])
  assert.ok(j.uptime >= 0 && 'announcesPerSecond' in j && 'scrapesPerSecond' in j)
  const h = await get(`${base}/stats`, { accept: 'text/html' })
  assert.match(h.type, /text\/html/)
  assert.match(h.body.toString(), new RegExp(IH.toString('hex')))
  const d = JSON.parse((await get(`${base}/stats?info_hash=${IH.toString('hex')}`)).body.toString())
  assert.equal([d.infoHash, d.seeders, d.leechers, d.completed], [IH.toString('hex'), 1, 1, 1])
  const dh = await get(`${base}/stats?format=html&info_hash=${percentEncode(IH)}`)
  assert.match(dh.body.toString(), /completed/)
  assert.is((await get(`${base}/stats?info_hash=${'00'.repeat(20)}`)).status, 404)
})

test('hostile requests are refused with a failure reason and leave no trace', async () => {
  const base = await start()
  const reason = async (path: string) => {
    const r = await get(base + path)
    const d = dec(r.body)
    assert.ok(d['failure reason'], `${path}: expected a failure reason, got ${r.body.toString('latin1').slice(0, 100)}`)
    return str(d['failure reason'])
  }
  assert.match(await reason(`/announce?peer_id=${'a'.repeat(20)}&port=1&left=0`), /missing info_hash/)
  assert.match(await reason(`/announce?info_hash=${percentEncode(IH)}&port=1&left=0`), /missing peer_id/)
  assert.match(await reason(`/announce?info_hash=${percentEncode(IH)}&peer_id=${'a'.repeat(20)}&left=0`), /missing port/)
  assert.match(await reason(`/announce?${q({ ih: Buffer.alloc(21, 1) })}`), /info_hash/)
  assert.match(await reason(`/announce?${q({ ih: Buffer.alloc(19, 1) })}`), /info_hash/)
  assert.match(await reason(`/announce?${q({ peer: 'short' })}`), /peer_id/)
  assert.match(await reason(`/announce?${q({ port: 70000 })}`), /port/)
  assert.match(await reason(`/announce?${q({ extra: '&event=explode' })}`), /event/)
  assert.match(await reason(`/announce?${q({ extra: '&numwant=lots' })}`), /numwant/)
  assert.match(await reason(`/announce?${q({ ih: '%zz' + '%00'.repeat(19) })}`), /malformed/)
  assert.match(await reason(`/scrape?info_hash=${percentEncode(Buffer.alloc(21))}`), /info_hash/)
  assert.match(await reason(`/nowhere`), /not found/)
  assert.is(svc!.tracker.swarms.size, 0, 'nothing got into the tracker')
  // Huge numwant: bounded by numwant-max (200).
  for (let i = 0; i < 250; i++) await get(`${base}/announce?${q({ peer: i, port: 1000 + i })}`)
  const r = dec((await get(`${base}/announce?${q({ peer: 999, extra: '&numwant=99999999999999' })}`)).body)
  assert.is((r.peers as Buffer).length, 200 * 6)
  // 10 MB query string: refused by the header limit with a bencoded reason; the server goes on.
  const big = await rawRequest(svc!.http[0].address.port, `GET /announce?${q({ peer: 5000 })}&pad=${'x'.repeat(10 * 1024 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`)
  assert.match(big, /^HTTP\/1\.1 431/)
  assert.match(big, /failure reason/)
  assert.is(svc!.tracker.swarms.get(IH.toString('latin1'))!.list.length, 251, 'the oversized announce did not count')
  // A POST with a body is refused and not read.
  const post = await rawRequest(svc!.http[0].address.port, `POST /announce HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`)
  assert.match(post, /405[\s\S]*failure reason/)
  assert.is((await get(`${base}/stats`)).status, 200, 'still serving')
})

/** Writes raw bytes and reads the reply until the server closes or 2 s pass; the server may cut us off mid-write. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    let got = ''
    sock.on('data', (d) => { got += d.toString('latin1') })
    sock.on('error', () => {})
    const done = () => { clearTimeout(timer); sock.destroy(); resolve(got) }
    const timer = setTimeout(done, 2000)
    sock.on('close', done)
    sock.on('end', done)
    sock.write(text)
  })
}

test('private mode: whitelist directory, re-read on change; unregistered hashes get a failure reason', async () => {
  const dir = tmpDir('bt-wl-')
  const a = await makeTestTorrent([1000], { seed: 3, name: 'a.bin' })
  const b = await makeTestTorrent([1000], { seed: 4, name: 'b.bin' })
  writeFileSync(join(dir, 'a.torrent'), await import('node:fs').then((f) => f.readFileSync(a.torrentPath)))
  writeFileSync(join(dir, 'junk.torrent'), 'not a torrent')
  const base = await start({ whitelist: dir })
  const ihA = a.metainfo.infoHashBuffer
  const ihB = b.metainfo.infoHashBuffer
  const ok = dec((await get(`${base}/announce?${q({ ih: ihA })}`)).body)
  assert.is(ok['failure reason'], undefined)
  const no = dec((await get(`${base}/announce?${q({ ih: ihB })}`)).body)
  assert.match(str(no['failure reason']), /unregistered torrent/)
  assert.match(str(dec((await get(`${base}/scrape`)).body)['failure reason']), /full scrape/)
  writeFileSync(join(dir, 'b.torrent'), await import('node:fs').then((f) => f.readFileSync(b.torrentPath)))
  await waitFor('b registered', () => svc!.tracker.registered.has(ihB.toString('latin1')), 5000)
  assert.is(dec((await get(`${base}/announce?${q({ ih: ihB })}`)).body)['failure reason'], undefined)
  assert.is(svc!.tracker.registered.get(ihB.toString('latin1'))!.name, 'b.bin')
  unlinkSync(join(dir, 'a.torrent'))
  await waitFor('a unregistered', () => !svc!.tracker.registered.has(ihA.toString('latin1')), 5000)
  assert.match(str(dec((await get(`${base}/announce?${q({ ih: ihA, peer: 9 })}`)).body)['failure reason']), /unregistered/)
})

test('private mode: a file of hex hashes', async () => {
  const dir = tmpDir('bt-wl-')
  const file = join(dir, 'list')
  writeFileSync(file, `# allowed\n${IH.toString('hex')} some name\nnot-a-hash\n`)
  const base = await start({ whitelist: file })
  assert.is(dec((await get(`${base}/announce?${q({})}`)).body)['failure reason'], undefined)
  assert.match(str(dec((await get(`${base}/announce?${q({ ih: Buffer.alloc(20, 1) })}`)).body)['failure reason']), /unregistered/)
})

test('fastify plugin (as mounted by bt serve): announce, scrape, stats, and registration by JSON and .torrent', async () => {
  standalone = new Tracker({ private: true, rateLimit: 0 })
  app = Fastify()
  // Like bt serve's auth layer: only routes marked public pass without the key.
  app.addHook('onRequest', async (req, reply) => {
    const cfg = req.routeOptions.config as { public?: boolean }
    if (!cfg?.public && req.headers['x-api-key'] !== 'k') return reply.code(401).send({ error: 'unauthorized' })
  })
  await app.register(trackerRoutes, { tracker: standalone })
  await app.register(trackerApiRoutes, { tracker: standalone })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`
  assert.match(str(dec((await get(`${base}/announce?${q({})}`)).body)['failure reason']), /unregistered/)
  const post = (body: Buffer | string, type: string, key = 'k') => fetch(`${base}/api/v1/tracker/torrents`, { method: 'POST', headers: { 'content-type': type, 'x-api-key': key }, body: typeof body === 'string' ? body : new Uint8Array(body) })
  assert.is((await post(JSON.stringify({ infoHash: IH.toString('hex') }), 'application/json', 'wrong')).status, 401, 'registration needs the key')
  let res = await post(JSON.stringify({ infoHash: IH.toString('hex'), name: 'via json' }), 'application/json')
  assert.is(res.status, 201)
  assert.is((await res.json()).name, 'via json')
  assert.is((await post(JSON.stringify({ infoHash: 'xyz' }), 'application/json')).status, 400)
  assert.is((await post('garbage', 'application/x-bittorrent')).status, 400)
  const tt = await makeTestTorrent([2000], { seed: 8, name: 'up.bin' })
  res = await post(await import('node:fs').then((f) => f.readFileSync(tt.torrentPath)), 'application/x-bittorrent')
  assert.is(res.status, 201)
  assert.is((await res.json()).infoHash, tt.metainfo.infoHash)
  const r = dec((await get(`${base}/announce?${q({ extra: '&event=started' })}`)).body)
  assert.equal([r['failure reason'], r.incomplete], [undefined, 1])
  const s = dec((await get(`${base}/scrape?info_hash=${percentEncode(IH)}`)).body).files as BDict
  assert.equal({ ...(s[IH.toString('latin1')] as object) }, { complete: 0, downloaded: 0, incomplete: 1 })
  const st = JSON.parse((await get(`${base}/stats`)).body.toString())
  assert.equal([st.registered, st.leechers, st.private], [2, 1, true])
  const list = await (await fetch(`${base}/api/v1/tracker/torrents`, { headers: { 'x-api-key': 'k' } })).json()
  assert.is(list.torrents.length, 2)
  assert.is((await fetch(`${base}/api/v1/tracker/torrents/${IH.toString('hex')}`, { method: 'DELETE', headers: { 'x-api-key': 'k' } })).status, 204)
  assert.match(str(dec((await get(`${base}/announce?${q({ peer: 5 })}`)).body)['failure reason']), /unregistered/)
})

test.run()
