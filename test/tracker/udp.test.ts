// The UDP tracker (BEP 15): the codec on hand-made datagrams (connection ids, announce, scrape, errors, hostile and
// truncated packets), then real sockets on 127.0.0.1 and ::1, including bt's own UDP tracker client.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import { Tracker } from '../../src/tracker/swarm.js'
import { ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, ACTION_SCRAPE, ConnectionIds, PROTOCOL_ID, handleUdp } from '../../src/tracker/udp.js'
import { startTracker, type TrackerService } from '../../src/tracker/service.js'
import { within } from '../helpers/wait.js'
import { udpAnnounce, udpScrape } from '../../src/discovery/tracker-udp.js'
import { BatchSocket, SEND_THREAD_MIN, loadUdpBatch } from '../../src/tracker/udp-batch.js'

const IH = Buffer.alloc(20, 0xab)
const trackers: Tracker[] = []
let svc: TrackerService | undefined

test.after.each(async () => {
  for (const t of trackers.splice(0)) t.stop()
  await svc?.close()
  svc = undefined
})

function connectPkt(tid = 7): Buffer {
  const b = Buffer.alloc(16)
  b.writeBigUInt64BE(PROTOCOL_ID, 0)
  b.writeUInt32BE(ACTION_CONNECT, 8)
  b.writeUInt32BE(tid, 12)
  return b
}

function announcePkt(cid: Buffer, o: { ih?: Buffer; peer?: number; left?: bigint; event?: number; numwant?: number; port?: number; tid?: number } = {}): Buffer {
  const b = Buffer.alloc(98)
  cid.copy(b, 0)
  b.writeUInt32BE(ACTION_ANNOUNCE, 8)
  b.writeUInt32BE(o.tid ?? 9, 12)
  ;(o.ih ?? IH).copy(b, 16)
  b.write(`-XX0001-${String(o.peer ?? 1).padStart(12, '0')}`, 36, 'latin1')
  b.writeBigUInt64BE(o.left ?? 100n, 64)
  b.writeUInt32BE(o.event ?? 0, 80)
  b.writeInt32BE(o.numwant ?? -1, 92)
  b.writeUInt16BE(o.port ?? 6881 + (o.peer ?? 1), 96)
  return b
}

function scrapePkt(cid: Buffer, hashes: Buffer[], tid = 11): Buffer {
  const b = Buffer.alloc(16 + 20 * hashes.length)
  cid.copy(b, 0)
  b.writeUInt32BE(ACTION_SCRAPE, 8)
  b.writeUInt32BE(tid, 12)
  hashes.forEach((h, i) => h.copy(b, 16 + 20 * i))
  return b
}

const errText = (r: Buffer | undefined) => {
  assert.ok(r, 'an error packet')
  assert.is(r!.readUInt32BE(0), ACTION_ERROR)
  return r!.toString('utf8', 8)
}

test('codec: connect, announce, scrape', () => {
  const t = new Tracker({ rateLimit: 0, interval: 600 })
  trackers.push(t)
  const ids = new ConnectionIds()
  const c = handleUdp(t, ids, connectPkt(0x1234), '127.0.0.1', 5000)!
  assert.is(c.length, 16)
  assert.equal([c.readUInt32BE(0), c.readUInt32BE(4)], [ACTION_CONNECT, 0x1234])
  const cid = c.subarray(8, 16)
  handleUdp(t, ids, announcePkt(cid, { peer: 1 }), '127.0.0.1', 5000)
  handleUdp(t, ids, announcePkt(cid, { peer: 2, left: 0n, event: 1 }), '127.0.0.1', 5000)
  const a = handleUdp(t, ids, announcePkt(cid, { peer: 3, tid: 99 }), '127.0.0.1', 5000)!
  assert.equal([a.readUInt32BE(0), a.readUInt32BE(4), a.readUInt32BE(8), a.readUInt32BE(12), a.readUInt32BE(16)], [ACTION_ANNOUNCE, 99, 600, 2, 1])
  assert.is(a.length, 20 + 2 * 6, 'two other peers, 6 bytes each')
  const ports = [a.readUInt16BE(24), a.readUInt16BE(30)].sort()
  assert.equal(ports, [6883, 6882].sort())
  const other = Buffer.alloc(20, 1)
  const s = handleUdp(t, ids, scrapePkt(cid, [IH, other]), '127.0.0.1', 5000)!
  assert.is(s.length, 8 + 24)
  assert.equal([s.readUInt32BE(8), s.readUInt32BE(12), s.readUInt32BE(16)], [1, 1, 2], 'seeders, completed, leechers')
  assert.equal([s.readUInt32BE(20), s.readUInt32BE(24), s.readUInt32BE(28)], [0, 0, 0])
})

test('codec: connection ids are tied to the IP and expire after one to two minutes', () => {
  const ids = new ConnectionIds()
  const t0 = 1_000_000_000_000
  const id = ids.make('127.0.0.1', t0)
  assert.ok(ids.check(id, '127.0.0.1', t0))
  assert.ok(ids.check(id, '127.0.0.1', t0 + 60_000), 'still good in the next minute')
  assert.not.ok(ids.check(id, '127.0.0.1', t0 + 120_000), 'gone after two minutes')
  assert.not.ok(ids.check(id, '127.0.0.2', t0), 'another IP')
  assert.not.ok(ids.check(id, '::1', t0), 'another IP')
  assert.not.ok(new ConnectionIds().check(id, '127.0.0.1', t0), 'another secret')
  const forged = Buffer.from(id)
  forged[7] ^= 1
  assert.not.ok(ids.check(forged, '127.0.0.1', t0))
})

test('codec: hostile packets get an error or nothing, and change nothing', () => {
  const t = new Tracker({ rateLimit: 0 })
  trackers.push(t)
  const ids = new ConnectionIds()
  const cid = handleUdp(t, ids, connectPkt(), '127.0.0.1', 5000)!.subarray(8, 16)
  assert.is(handleUdp(t, ids, Buffer.alloc(0), '127.0.0.1', 5000), undefined, 'empty')
  assert.is(handleUdp(t, ids, connectPkt().subarray(0, 15), '127.0.0.1', 5000), undefined, 'truncated connect')
  const badProto = connectPkt()
  badProto.writeUInt32BE(0xdead, 0)
  assert.is(handleUdp(t, ids, badProto, '127.0.0.1', 5000), undefined, 'connect without the protocol id')
  assert.match(errText(handleUdp(t, ids, announcePkt(Buffer.alloc(8, 7)), '127.0.0.1', 5000)), /connection id/)
  assert.match(errText(handleUdp(t, ids, announcePkt(cid), '127.0.0.2', 5000)), /connection id/, 'id from another IP')
  assert.match(errText(handleUdp(t, ids, announcePkt(cid).subarray(0, 97), '127.0.0.1', 5000)), /too short/)
  assert.match(errText(handleUdp(t, ids, announcePkt(cid).subarray(0, 20), '127.0.0.1', 5000)), /too short/)
  assert.match(errText(handleUdp(t, ids, announcePkt(cid, { event: 9 }), '127.0.0.1', 5000)), /event/)
  assert.match(errText(handleUdp(t, ids, announcePkt(cid, { port: 0 }), '127.0.0.1', 5000)), /port/)
  const unknown = announcePkt(cid)
  unknown.writeUInt32BE(77, 8)
  assert.match(errText(handleUdp(t, ids, unknown, '127.0.0.1', 5000)), /unknown action/)
  assert.match(errText(handleUdp(t, ids, scrapePkt(cid, []), '127.0.0.1', 5000)), /without info hash/)
  assert.match(errText(handleUdp(t, ids, scrapePkt(cid, Array.from({ length: 75 }, () => IH)), '127.0.0.1', 5000)), /at most 74/)
  assert.is(handleUdp(t, ids, scrapePkt(cid, Array.from({ length: 74 }, () => IH)), '127.0.0.1', 5000)!.length, 8 + 74 * 12)
  assert.is(t.swarms.size, 0, 'nothing was announced')
  // Huge numwant is bounded by numwant-max; a negative one is the default.
  for (let i = 0; i < 300; i++) handleUdp(t, ids, announcePkt(cid, { peer: i }), '127.0.0.1', 5000)
  assert.is(handleUdp(t, ids, announcePkt(cid, { peer: 999, numwant: 0x7fffffff }), '127.0.0.1', 5000)!.length, 20 + 200 * 6)
  assert.is(handleUdp(t, ids, announcePkt(cid, { peer: 998, numwant: -5 }), '127.0.0.1', 5000)!.length, 20 + 50 * 6)
})

function exchange(sock: dgram.Socket, pkt: Buffer, port: number, host: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no UDP answer')), 2000)
    sock.once('message', (m) => { clearTimeout(timer); resolve(m) })
    sock.send(pkt, port, host)
  })
}

const modes = [
  { udpBatch: true, udpWorkers: 0, udpSendThread: true },
  { udpBatch: true, udpWorkers: 0, udpSendThread: false },
  { udpBatch: true, udpWorkers: 2 },
  { udpBatch: false, udpWorkers: 0 },
  { udpBatch: false, udpWorkers: 2 },
]
for (const { udpBatch, udpWorkers, udpSendThread } of modes) {
  const where = `${udpBatch ? 'batched native I/O' : 'dgram'} ${udpWorkers ? `on ${udpWorkers} worker threads sharing the socket` : `on the swarm thread${udpSendThread ? ', replies from the native send thread' : udpBatch ? ', no send thread' : ''}`}`
  test(`real sockets, ${where}: IPv4 and IPv6 listeners, IPv6 peers are 18 bytes, junk ignored, truncated packets and bad ids refused`, async () => {
    const logs: string[] = []
    svc = await startTracker({ hosts: ['127.0.0.1', '::1'], httpPort: -1, udpPort: 0, rateLimit: 0, udpWorkers, udpBatch, udpSendThread, log: (m) => logs.push(m) })
    const port = svc.udp[0].address.port
    assert.is(svc.udp[1].address.port, port)
    // The native module is part of the build (npm run build / npm ci): its absence must fail here, not hide.
    assert.equal(svc.udp.map((u) => u.batched), [udpBatch, udpBatch], 'the I/O path asked for')
    assert.equal(logs, [], 'no warning')
    for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
      const sock = dgram.createSocket(type)
      await new Promise<void>((r) => sock.bind(0, host, () => r()))
      try {
        sock.send(Buffer.from('junk'), port, host) // ignored: no answer, and the next exchange still works
        sock.send(Buffer.alloc(3000), port, host) // over MAX_DATAGRAM: ignored too
        const c = await exchange(sock, connectPkt(5), port, host)
        const cid = c.subarray(8, 16)
        const base = type === 'udp6' ? 10 : 0
        await exchange(sock, announcePkt(cid, { peer: base + 1 }), port, host)
        const a = await exchange(sock, announcePkt(cid, { peer: base + 2 }), port, host)
        assert.is(a.length, 20 + (type === 'udp6' ? 18 : 6), `${type}: one peer of its family`)
        const cut = await exchange(sock, announcePkt(cid, { peer: base + 3 }).subarray(0, 60), port, host)
        assert.match(cut.toString('utf8', 8), /too short/, 'a truncated announce is refused')
        const bad = await exchange(sock, announcePkt(Buffer.alloc(8, 7), { peer: base + 4 }), port, host)
        assert.is(bad.readUInt32BE(0), ACTION_ERROR)
        assert.match(bad.toString('utf8', 8), /connection id/)
      } finally {
        sock.close()
      }
    }
    assert.equal(svc.tracker.stats().peersByFamily, { ipv4: 2, ipv6: 2 })
    {
      // Many requests at once from several sockets: every one answered, whichever thread took or sent it.
      const socks = await Promise.all(Array.from({ length: 4 }, async () => {
        const s = dgram.createSocket('udp4')
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
        return s
      }))
      try {
        const cid = (await exchange(socks[0], connectPkt(6), port, '127.0.0.1')).subarray(8, 16)
        const answered = await Promise.all(socks.map((s, k) => new Promise<number>((resolve) => {
          let n = 0
          const timer = setTimeout(() => resolve(n), 3000)
          s.on('message', (m) => { if (m.readUInt32BE(0) === ACTION_ANNOUNCE && ++n === 50) { clearTimeout(timer); resolve(n) } })
          for (let i = 0; i < 50; i++) s.send(announcePkt(cid, { peer: 100 + k * 50 + i }), port, '127.0.0.1')
        })))
        assert.equal(answered, [50, 50, 50, 50])
        assert.is(svc.tracker.stats().peersByFamily.ipv4, 202)
      } finally {
        for (const s of socks) s.close()
      }
    }
    await svc.close()
    svc = undefined
    // Closed for good: the port can be bound again.
    const again = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => { again.once('error', reject); again.bind(port, '127.0.0.1', () => resolve()) })
    again.close()
  })
}

test('native send thread: a big batch of replies goes out from it, each to its own sender, and stop() sends what is queued', async () => {
  const b = loadUdpBatch()
  assert.ok(b, 'the native module is built')
  const [fd, port] = b!.open('127.0.0.1', 0, 1 << 20)
  const s = new BatchSocket(b!, fd, true)
  const socks: dgram.Socket[] = []
  const batches: number[] = []
  try {
    s.start((n) => {
      batches.push(n)
      // Echo each datagram, reversed, through the batch (replies to this batch's records).
      for (let k = 0; k < n; k++) s.reply(k, Buffer.from(s.message(k)!).reverse())
      s.flush()
    })
    const N = 4 * SEND_THREAD_MIN
    for (let i = 0; i < 4; i++) {
      const c = dgram.createSocket('udp4')
      await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()))
      socks.push(c)
    }
    const got = socks.map(() => [] as string[])
    const all = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.flat().length} of ${N} replies`)), 5000)
      socks.forEach((c, j) => c.on('message', (m) => { got[j].push(m.toString()); if (got.flat().length === N) { clearTimeout(timer); resolve() } }))
    })
    // All sent in one turn of the loop: the tracker side reads them as one batch, over SEND_THREAD_MIN.
    for (let i = 0; i < N; i++) socks[i % 4].send(`req-${String(i).padStart(3, '0')}`, port, '127.0.0.1')
    await all
    assert.ok(batches.some((n) => n >= SEND_THREAD_MIN), `a batch of ${SEND_THREAD_MIN}+ (got ${batches})`)
    got.forEach((g, j) => assert.equal(g.sort(), Array.from({ length: N / 4 }, (_, i) => [...`req-${String(i * 4 + j).padStart(3, '0')}`].reverse().join('')).sort(), `socket ${j}`))
    // Queued right before stop(): still sent (to the sender of the last batch's first datagram, whichever it was).
    const last = new Promise<Buffer>((resolve) => socks.forEach((c) => c.on('message', (m) => { if (m.toString().startsWith('bye-')) resolve(m) })))
    for (let k = 0; k < SEND_THREAD_MIN; k++) s.reply(0, Buffer.from(`bye-${k}`), Buffer.from(s.saveRecords(1)))
    s.stop()
    assert.match((await within(last, 2000, 'a reply queued before stop')).toString(), /^bye-/)
  } finally {
    s.stop()
    b!.close(fd)
    for (const c of socks) c.close()
  }
})

test('without the native module: one warning, and UDP still answers over dgram', async () => {
  const logs: string[] = []
  svc = await startTracker({ hosts: ['127.0.0.1', '::1'], httpPort: -1, udpPort: 0, rateLimit: 0, udpBatchModule: '/nonexistent/udp_batch.node', log: (m) => logs.push(m) })
  assert.equal(svc.udp.map((u) => u.batched), [false, false])
  assert.is(logs.length, 1, 'one warning for all listeners')
  assert.match(logs[0], /warning: no batched UDP I\/O, using node's dgram .*: .*nonexistent/)
  const sock = dgram.createSocket('udp6')
  await new Promise<void>((r) => sock.bind(0, '::1', () => r()))
  try {
    const c = await exchange(sock, connectPkt(9), svc.udp[1].address.port, '::1')
    assert.is(c.readUInt32BE(0), 0, 'connect answered')
  } finally {
    sock.close()
  }
})

test("bt's own UDP tracker client announces and scrapes", async () => {
  svc = await startTracker({ httpPort: -1, udpPort: 0, rateLimit: 0 })
  const url = `udp://127.0.0.1:${svc.udp[0].address.port}/announce`
  const base = { infoHash: IH, uploaded: 0, downloaded: 0 }
  await udpAnnounce(url, { ...base, peerId: Buffer.from('-BT0001-aaaaaaaaaaaa'), port: 7001, left: 0, event: 'started' })
  const r = await udpAnnounce(url, { ...base, peerId: Buffer.from('-BT0001-bbbbbbbbbbbb'), port: 7002, left: 5, event: 'started' })
  assert.equal(r.peers.map((p) => `${p.host}:${p.port}`), ['127.0.0.1:7001'])
  assert.equal([r.complete, r.incomplete], [1, 1])
  const s = await udpScrape(url, [IH])
  assert.equal(s.get(IH.toString('hex')), { complete: 1, incomplete: 1, downloaded: 0 })
})

test.run()
