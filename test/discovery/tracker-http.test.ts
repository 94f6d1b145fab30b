// HTTP tracker client against a fake tracker that replies whatever each test needs.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { gzipSync } from 'node:zlib'
import net from 'node:net'
import { announce, scrape, scrapeUrl, TrackerError, type AnnounceRequest } from '../../src/discovery/tracker.js'
import { BtError } from '../../src/errors.js'
import { startFakeHttpTracker, sendBencoded, param, type FakeHttpTracker } from '../helpers/fake-tracker.js'
import { rejects } from '../helpers/assert.js'

// Bytes that need escaping, bytes that must not be, and every kind in between.
const infoHash = Buffer.from([0x00, 0x20, 0x25, 0x26, 0x2b, 0x3d, 0x3f, 0x41, 0x7e, 0x2d, 0x2e, 0x5f, 0x7f, 0x80, 0xff, 0x2f, 0x23, 0x30, 0x61, 0x7a])
const peerId = Buffer.from('-BT0001-abc%&=+ /?#!')
const req: AnnounceRequest = { infoHash, peerId, port: 6881, uploaded: 10, downloaded: 20, left: 30, event: 'started', numwant: 25, key: 0xdeadbeef }

let t: FakeHttpTracker
test.before.each(async () => {
  t = await startFakeHttpTracker((_r, res) => sendBencoded(res, { interval: 900, peers: Buffer.alloc(0) }))
})
test.after.each(async () => {
  await t.close()
})

async function trackerError(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  const err = await rejects(p)
  assert.instance(err, TrackerError)
  assert.instance(err, BtError)
  assert.is((err as BtError).exitCode, 3)
  assert.not.match(err.message, /\n/)
  if (typeof message === 'string') assert.is(err.message, message)
  else assert.match(err.message, message)
}

test('query: binary info_hash and peer_id arrive byte for byte, passkey query kept, all fields sent', async () => {
  const res = await announce(`${t.origin}/announce?passkey=s3cr3t`, req)
  assert.is(res.interval, 900)
  const r = t.requests[0]
  assert.is(r.path, '/announce')
  assert.is(param(r, 'passkey'), 's3cr3t')
  assert.equal(r.query.get('info_hash'), [infoHash])
  assert.equal(r.query.get('peer_id'), [peerId])
  assert.is(param(r, 'port'), '6881')
  assert.is(param(r, 'uploaded'), '10')
  assert.is(param(r, 'downloaded'), '20')
  assert.is(param(r, 'left'), '30')
  assert.is(param(r, 'event'), 'started')
  assert.is(param(r, 'numwant'), '25')
  assert.is(param(r, 'key'), 'deadbeef')
  assert.is(param(r, 'compact'), '1')
  // Unreserved bytes stay literal, the rest is %XX: what byte-comparing trackers expect.
  assert.match(r.url, /info_hash=%00%20%25%26%2B%3D%3FA~-._%7F%80%FF%2F%230az&/)
  await announce(`${t.origin}/announce?`, { ...req, event: undefined })
  assert.is(t.requests[1].query.get('event'), undefined)
  assert.equal(t.requests[1].query.get('info_hash'), [infoHash])
})

test('reply: compact peers, peers6, intervals, counts, warning', async () => {
  const v4 = Buffer.from([127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2, 9, 9])
  const v6 = Buffer.alloc(18)
  v6[15] = 1
  v6.writeUInt16BE(6883, 16)
  t.handler = (_r, res) => sendBencoded(res, {
    interval: 1200, 'min interval': 60, complete: 4, incomplete: 7, peers: v4, peers6: v6, 'warning message': 'be nice\nplease',
  })
  const res = await announce(`${t.origin}/announce`, req)
  assert.equal(res, {
    interval: 1200, minInterval: 60, complete: 4, incomplete: 7, warning: 'be nice please',
    peers: [{ host: '127.0.0.1', port: 6881 }, { host: '127.0.0.2', port: 6882 }, { host: '::1', port: 6883 }],
  })
})

test('reply: non-compact peer list of dictionaries, bad entries skipped', async () => {
  t.handler = (_r, res) => sendBencoded(res, {
    interval: 60,
    peers: [
      { ip: '127.0.0.1', port: 5000, 'peer id': 'x'.repeat(20) },
      { ip: '::1', port: 5001 },
      { ip: 'peer.example', port: 5002 },
      { ip: '127.0.0.1', port: 0 },
      { ip: 'bad host!', port: 5003 },
      { port: 5004 },
      'nonsense',
    ],
  })
  const res = await announce(`${t.origin}/announce`, req)
  assert.equal(res.peers, [{ host: '127.0.0.1', port: 5000 }, { host: '::1', port: 5001 }, { host: 'peer.example', port: 5002 }])
})

test('failure reason becomes a one-line TrackerError without the passkey', async () => {
  t.handler = (_r, res) => sendBencoded(res, { 'failure reason': 'unregistered torrent' })
  await trackerError(announce(`${t.origin}/announce?passkey=s3cr3t`, req), `${t.origin}/announce: tracker said "unregistered torrent"`)
  // Some trackers send the failure with an error status.
  t.handler = (_r, res) => sendBencoded(res, { 'failure reason': 'banned client' }, 403)
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: tracker said "banned client"`)
})

test('garbage, HTML error pages and cut replies are clean TrackerErrors', async () => {
  t.handler = (_r, res) => res.end('<html>hello</html>')
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: not a bencoded reply`)
  t.handler = (_r, res) => res.end('d8:intervali1')
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: not a bencoded reply`)
  t.handler = (_r, res) => res.end('li1ee')
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: not a bencoded reply`)
  t.handler = (_r, res) => { res.writeHead(404); res.end('<h1>Not Found</h1>') }
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: HTTP status 404`)
  t.handler = (_r, res) => { res.writeHead(200, { 'content-length': 100 }); res.write('d8:interval'); setTimeout(() => res.destroy(), 20) }
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: connection closed mid-reply`)
})

test('oversized reply: stops reading at 2 MiB, with or without content-length', async () => {
  let written = 0
  t.handler = (_r, res) => {
    res.writeHead(200)
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    const pump = () => {
      while (written < 64 * 1024 * 1024) {
        written += chunk.length
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      res.end()
    }
    res.on('close', () => { written = Infinity })
    pump()
  }
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: reply larger than 2 MiB`)
  t.handler = (_r, res) => { res.writeHead(200, { 'content-length': 3 * 1024 * 1024 }); res.write('d') }
  await trackerError(announce(`${t.origin}/announce`, req), `${t.origin}/announce: reply larger than 2 MiB`)
})

test('gzip-encoded reply is decoded', async () => {
  t.handler = (_r, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip' })
    res.end(gzipSync('d8:intervali77e5:peers6:' + '\x7f\x00\x00\x01\x00\x50' + 'e'))
  }
  const res = await announce(`${t.origin}/announce`, req)
  assert.is(res.interval, 77)
  assert.equal(res.peers, [{ host: '127.0.0.1', port: 80 }])
})

test('a tracker that never answers: the timeout fires, bounded', async () => {
  t.handler = () => {}
  const started = Date.now()
  await trackerError(announce(`${t.origin}/announce`, req, { timeoutMs: 300 }), `${t.origin}/announce: no answer within 0.3 s`)
  const took = Date.now() - started
  assert.ok(took >= 290 && took < 1500, `took ${took} ms`)
})

test('abort signal rejects at once with its reason', async () => {
  t.handler = () => {}
  const ctl = new AbortController()
  const p = announce(`${t.origin}/announce`, req, { signal: ctl.signal })
  setTimeout(() => ctl.abort(), 50)
  const started = Date.now()
  const err = await rejects(p)
  assert.is(err.name, 'AbortError')
  assert.ok(Date.now() - started < 1000)
})

test('redirects: up to 3 followed, the 4th refused', async () => {
  t.handler = (r, res) => {
    const hop = Number(r.path.slice('/hop'.length) || 0)
    const limit = Number(param(r, 'limit'))
    if (r.path.startsWith('/hop') && hop < limit) {
      res.writeHead(hop % 2 ? 307 : 302, { location: `/hop${hop + 1}?${r.url.split('?')[1]}` })
      res.end()
    } else sendBencoded(res, { interval: 10 + hop, peers: Buffer.from([127, 0, 0, 1, 0, 1]) })
  }
  const ok = await announce(`${t.origin}/hop0?limit=3`, req)
  assert.is(ok.interval, 13)
  assert.equal(t.requests.at(-1)!.query.get('info_hash'), [infoHash])
  await trackerError(announce(`${t.origin}/hop0?limit=4`, req), `${t.origin}/hop0: more than 3 redirects`)
})

test('connection refused is a readable TrackerError', async () => {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  await trackerError(announce(`http://127.0.0.1:${port}/announce`, req), `http://127.0.0.1:${port}/announce: connection refused`)
  await trackerError(announce(`wss://127.0.0.1:${port}/announce`, req), `wss://127.0.0.1:${port}/announce: unsupported tracker protocol`)
})

test('scrape URL derivation (BEP 48)', () => {
  assert.is(scrapeUrl('http://t.example/announce'), 'http://t.example/scrape')
  assert.is(scrapeUrl('http://t.example/x/announce?passkey=1'), 'http://t.example/x/scrape?passkey=1')
  assert.is(scrapeUrl('http://t.example/announce.php?pk=1'), 'http://t.example/scrape.php?pk=1')
  assert.is(scrapeUrl('http://t.example/a'), undefined)
  assert.is(scrapeUrl('http://t.example/announce/x'), undefined)
  assert.is(scrapeUrl('http://t.example/x%064announce'), undefined)
  assert.is(scrapeUrl('http://announce'), undefined)
  assert.is(scrapeUrl('http://t.example/?announce'), undefined)
})

test('scrape: several hashes in one request, counts per hex hash', async () => {
  const other = Buffer.alloc(20, 0xab)
  const stranger = Buffer.alloc(20, 0x11) // in the reply but not asked for: left out
  t.handler = (r, res) => {
    if (r.path !== '/scrape' || param(r, 'pk') !== '7') return void sendBencoded(res, { 'failure reason': `wrong ${r.url}` })
    // Raw bencode: the keys are binary, which the bencode package would re-encode as UTF-8.
    const hashes = [...(r.query.get('info_hash') ?? []), stranger]
    const parts = hashes.map((h, i) => Buffer.concat([Buffer.from('20:'), h, Buffer.from(`d8:completei${i + 1}e10:downloadedi${100 + i}e10:incompletei${10 + i}ee`)]))
    res.end(Buffer.concat([Buffer.from('d5:filesd'), ...parts, Buffer.from('ee')]))
  }
  const m = await scrape(`${t.origin}/announce?pk=7`, [infoHash, other])
  assert.equal(t.requests[0].query.get('info_hash'), [infoHash, other])
  assert.equal([...m.entries()], [
    [infoHash.toString('hex'), { complete: 1, incomplete: 10, downloaded: 100 }],
    [other.toString('hex'), { complete: 2, incomplete: 11, downloaded: 101 }],
  ])
  await trackerError(scrape(`${t.origin}/tracker`, [infoHash]), `${t.origin}/tracker: tracker does not support scrape`)
})

test.run()
