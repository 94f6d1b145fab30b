// UDP tracker client (BEP 15) against a fake tracker whose packets each test controls.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { announce, scrape, TrackerError, type AnnounceRequest } from '../../src/discovery/tracker.js'
import {
  startFakeUdpTracker, parseUdpAnnounce, udpConnectReply, udpAnnounceReply, udpErrorReply,
  type FakeUdpTracker, type FakeUdpHandler,
} from '../helpers/fake-tracker.js'
import { rejects } from '../helpers/assert.js'

const infoHash = randomBytes(20)
const peerId = Buffer.from('-BT0001-000000000042')
const req: AnnounceRequest = { infoHash, peerId, port: 51413, uploaded: 5, downloaded: 2 ** 40, left: 7, event: 'started', numwant: 30, key: 0x01020304 }
const connId = Buffer.from('0123456789abcdef', 'hex')
const peers4 = Buffer.from([127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 3, 0, 80])

/** A tracker that answers like a correct one; `announceHook` may send other packets first. */
function wellBehaved(announceHook?: (tid: number, reply: (b: Buffer) => void) => void, peers = peers4): FakeUdpHandler {
  return (pkt, reply) => {
    if (pkt.action === 0) return reply(udpConnectReply(pkt.transactionId, connId))
    if (!pkt.connectionId.equals(connId)) return reply(udpErrorReply(pkt.transactionId, 'bad connection id'))
    if (pkt.action === 1) {
      announceHook?.(pkt.transactionId, reply)
      reply(udpAnnounceReply(pkt.transactionId, { interval: 1800, leechers: 3, seeders: 9, peers }))
    }
  }
}

let t: FakeUdpTracker | undefined
test.after.each(async () => {
  await t?.close()
  t = undefined
})

test('announce: connect, then announce with every field; peers and counts come back', async () => {
  t = await startFakeUdpTracker(wellBehaved())
  const res = await announce(t.url + '?passkey=abc', req)
  assert.equal(res, { interval: 1800, incomplete: 3, complete: 9, peers: [{ host: '127.0.0.1', port: 6881 }, { host: '127.0.0.3', port: 80 }] })
  assert.equal(t.packets.map((p) => p.action), [0, 1])
  assert.is(t.packets[0].data.readBigUInt64BE(0), 0x41727101980n)
  const a = parseUdpAnnounce(t.packets[1].data)
  assert.ok(a.infoHash.equals(infoHash))
  assert.ok(a.peerId.equals(peerId))
  assert.equal([a.downloaded, a.left, a.uploaded, a.event, a.key, a.numwant, a.port], [2 ** 40, 7, 5, 2, 0x01020304, 30, 51413])
  // BEP 41 URLData carries the path and query (passkeys).
  assert.equal(a.options, Buffer.concat([Buffer.from([2, 21]), Buffer.from('/announce?passkey=abc')]))
})

test('connection id is reused for the next request to the same tracker', async () => {
  t = await startFakeUdpTracker(wellBehaved())
  await announce(t.url, req)
  await announce(t.url, { ...req, event: 'completed' })
  await announce(t.url, { ...req, event: 'stopped', numwant: undefined })
  assert.equal(t.packets.map((p) => p.action), [0, 1, 1, 1])
  assert.equal(t.packets.slice(1).map((p) => parseUdpAnnounce(p.data).event), [2, 1, 3])
  assert.is(parseUdpAnnounce(t.packets[3].data).numwant, -1)
})

test('error action 3 becomes a TrackerError with the message', async () => {
  t = await startFakeUdpTracker((pkt, reply) => {
    if (pkt.action === 0) return reply(udpConnectReply(pkt.transactionId, connId))
    reply(udpErrorReply(pkt.transactionId, 'torrent not registered\n'))
  })
  const err = await rejects(announce(t.url, req))
  assert.instance(err, TrackerError)
  assert.is(err.message, `udp://127.0.0.1:${t.port}/announce: tracker said "torrent not registered"`)
})

test('wrong transaction id, wrong action and runt packets are ignored; the right reply is taken', async () => {
  t = await startFakeUdpTracker(wellBehaved((tid, reply) => {
    reply(udpAnnounceReply((tid + 1) >>> 0, { interval: 1, leechers: 0, seeders: 0, peers: Buffer.from([10, 0, 0, 1, 0, 1]) }))
    reply(udpErrorReply((tid + 1) >>> 0, 'not for you'))
    reply(udpConnectReply(tid, connId)) // right id, wrong action
    reply(Buffer.from([0, 0, 0]))
  }))
  const res = await announce(t.url, req)
  assert.is(res.interval, 1800)
  assert.equal(res.peers.map((p) => p.port), [6881, 80])
  assert.is(t.packets.length, 2) // no retry was needed
})

test('a truncated reply with our transaction id fails cleanly instead of hanging', async () => {
  t = await startFakeUdpTracker((pkt, reply) => {
    if (pkt.action === 0) return reply(udpConnectReply(pkt.transactionId, connId))
    reply(udpAnnounceReply(pkt.transactionId, { interval: 1, leechers: 0, seeders: 0 }).subarray(0, 12))
  })
  const err = await rejects(announce(t.url, req, { timeoutMs: 5000 }))
  assert.is(err.message, `udp://127.0.0.1:${t.port}/announce: malformed reply (12 bytes)`)
})

test('a silent tracker: 3 tries, then a bounded failure', async () => {
  t = await startFakeUdpTracker(() => {})
  const started = Date.now()
  const err = await rejects(announce(t.url, req, { timeoutMs: 400 }))
  const took = Date.now() - started
  assert.instance(err, TrackerError)
  assert.is(err.message, `udp://127.0.0.1:${t.port}/announce: no answer after 3 tries`)
  assert.ok(took >= 390 && took < 1500, `took ${took} ms`)
  assert.is(t.packets.length, 3)
  // Tries have their own transaction ids.
  assert.is(new Set(t.packets.map((p) => p.transactionId)).size, 3)
})

test('a late reply to an earlier try is still accepted', async () => {
  let first: number | undefined
  t = await startFakeUdpTracker((pkt, reply) => {
    if (pkt.action !== 0) return wellBehaved()(pkt, reply)
    if (first === undefined) first = pkt.transactionId
    else reply(udpConnectReply(first, connId)) // answer the first try, after the second was sent
  })
  const res = await announce(t.url, req, { timeoutMs: 2000 })
  assert.is(res.complete, 9)
})

test('nobody listening: connection refused, fast', async () => {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
  const port = s.address().port
  await new Promise<void>((r) => s.close(() => r()))
  const started = Date.now()
  const err = await rejects(announce(`udp://127.0.0.1:${port}`, req, { timeoutMs: 3000 }))
  assert.is(err.message, `udp://127.0.0.1:${port}: connection refused`)
  assert.ok(Date.now() - started < 1000)
})

test('abort signal ends a UDP request at once', async () => {
  t = await startFakeUdpTracker(() => {})
  const ctl = new AbortController()
  setTimeout(() => ctl.abort(), 50)
  const started = Date.now()
  const err = await rejects(announce(t.url, req, { signal: ctl.signal }))
  assert.is(err.name, 'AbortError')
  assert.ok(Date.now() - started < 1000)
})

test('IPv6 tracker on ::1: 18-byte peers', async () => {
  const v6 = Buffer.alloc(36)
  v6[15] = 1
  v6.writeUInt16BE(7000, 16)
  v6.writeUInt16BE(0xfe80, 18)
  v6[33] = 2
  v6.writeUInt16BE(7001, 34)
  t = await startFakeUdpTracker(wellBehaved(undefined, v6), '::1')
  assert.is(t.url, `udp://[::1]:${t.port}/announce`)
  const res = await announce(t.url, req)
  assert.equal(res.peers, [{ host: '::1', port: 7000 }, { host: 'fe80::2', port: 7001 }])
})

test('scrape: seeders/completed/leechers per hash, in request order', async () => {
  const hashes = [randomBytes(20), randomBytes(20)]
  t = await startFakeUdpTracker((pkt, reply) => {
    if (pkt.action === 0) return reply(udpConnectReply(pkt.transactionId, connId))
    if (pkt.action !== 2) return
    const n = (pkt.data.length - 16) / 20
    const b = Buffer.alloc(8 + 12 * n)
    b.writeUInt32BE(2, 0)
    b.writeUInt32BE(pkt.transactionId, 4)
    for (let i = 0; i < n; i++) {
      b.writeUInt32BE(10 + i, 8 + 12 * i) // seeders
      b.writeUInt32BE(20 + i, 12 + 12 * i) // completed
      b.writeUInt32BE(30 + i, 16 + 12 * i) // leechers
    }
    reply(b)
  })
  const m = await scrape(t.url, hashes)
  assert.equal(m.get(hashes[0].toString('hex')), { complete: 10, downloaded: 20, incomplete: 30 })
  assert.equal(m.get(hashes[1].toString('hex')), { complete: 11, downloaded: 21, incomplete: 31 })
  assert.ok(t.packets[1].data.subarray(16, 36).equals(hashes[0]))
})

test('bad UDP URLs are TrackerErrors', async () => {
  const err = await rejects(announce('udp://127.0.0.1/announce', req))
  assert.instance(err, TrackerError)
  assert.is(err.message, 'udp://127.0.0.1/announce: a UDP tracker URL needs a host and a port')
})

test.run()
