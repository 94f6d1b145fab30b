// BEP 7 on the tracker side of bt's client: which IPv6 address bt names with `ipv6=`, that HTTP announces carry it,
// and that a dual-stack Client announcing over IPv4 tells a tracker its IPv6 address. Loopback only.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { announce, type AnnounceRequest } from '../../src/discovery/tracker.js'
import { announceIPv6 } from '../../src/discovery/own-address.js'
import {
  startFakeHttpTracker, sendBencoded, param, startFakeUdpTracker, udpConnectReply, udpAnnounceReply,
  type FakeHttpTracker, type FakeUdpTracker, type FakeUdpHandler,
} from '../helpers/fake-tracker.js'
import { makeTestTorrent, startClient, stopAll } from '../helpers/swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const req: AnnounceRequest = { infoHash: Buffer.alloc(20, 1), peerId: Buffer.alloc(20, 2), port: 6881, uploaded: 0, downloaded: 0, left: 5 }
let t: FakeHttpTracker | undefined

test.after.each(async () => {
  await t?.close()
  t = undefined
  await stopAll()
})

const ifaces = [
  { address: '::1', family: 'IPv6', internal: true },
  { address: 'fe80::1', family: 'IPv6', internal: false },
  { address: 'fd00::5', family: 'IPv6', internal: false },
  { address: '192.0.2.1', family: 'IPv4', internal: false },
  { address: '2001:DB8:0:0::7', family: 'IPv6', internal: false },
]

test('announceIPv6: a bound IPv6 address, else the first global one of an interface, and nothing without IPv6', () => {
  assert.is(announceIPv6([undefined], ifaces, true), '2001:db8::7')
  assert.is(announceIPv6(['::'], ifaces, true), '2001:db8::7')
  assert.is(announceIPv6(['127.0.0.1', '::1'], ifaces, true), '::1')
  assert.is(announceIPv6(['[0:0::1]'], ifaces, true), '::1')
  assert.is(announceIPv6(['127.0.0.1'], ifaces, false), undefined)
  assert.is(announceIPv6([undefined], ifaces, false), undefined)
  assert.is(announceIPv6([undefined], ifaces.slice(0, 4), true), undefined, 'link-local and unique-local are not announced')
})

test('an HTTP announce carries ipv6= when given, and not otherwise', async () => {
  t = await startFakeHttpTracker((_r, res) => sendBencoded(res, { interval: 900, peers: Buffer.alloc(0) }))
  await announce(`${t.origin}/announce`, { ...req, ipv6: '2001:db8::7' })
  await announce(`${t.origin}/announce`, req)
  assert.is(param(t.requests[0], 'ipv6')?.toString(), '2001:db8::7')
  assert.is(param(t.requests[1], 'ipv6'), undefined)
})

test('a client bound to 127.0.0.1 and ::1 tells an IPv4 tracker its IPv6 address', async () => {
  t = await startFakeHttpTracker((_r, res) => sendBencoded(res, { interval: 900, peers: Buffer.alloc(0) }))
  const tt = await makeTestTorrent([100_000])
  const c = await startClient({ hosts: ['127.0.0.1', '::1'] })
  c.add(tt.metainfo, { dir: tmpDir('bt-dl-'), trackers: [[`${t.origin}/announce`]] })
  const tracker = t
  await waitFor('an announce', () => tracker.requests.length > 0, 5000)
  assert.is(param(tracker.requests[0], 'ipv6')?.toString(), '::1')
  assert.is(Number(param(tracker.requests[0], 'port')?.toString()), c.port())
})

/** A UDP tracker answering with `peers` (compact, in its own family). */
function udpAnswering(peers: Buffer): FakeUdpHandler {
  const conn = Buffer.alloc(8, 7)
  return (pkt, reply) => {
    if (pkt.action === 0) reply(udpConnectReply(pkt.transactionId, conn))
    else if (pkt.action === 1) reply(udpAnnounceReply(pkt.transactionId, { interval: 900, leechers: 1, seeders: 1, peers }))
  }
}

/** Fake UDP trackers on 127.0.0.1 and ::1 at one port number, as one host name with both families would be. */
async function udpTrackerPair(h4: FakeUdpHandler, h6: FakeUdpHandler | undefined): Promise<FakeUdpTracker[]> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const t4 = await startFakeUdpTracker(h4, '127.0.0.1')
    if (!h6) return [t4]
    try {
      return [t4, await startFakeUdpTrackerAt(h6, '::1', t4.port)]
    } catch {
      await t4.close() // the port number was taken on ::1: try another
    }
  }
  throw new Error('no port free on both 127.0.0.1 and ::1 after 10 tries')
}

async function startFakeUdpTrackerAt(h: FakeUdpHandler, host: string, port: number): Promise<FakeUdpTracker> {
  const t6 = await startFakeUdpTracker(h, host, port)
  if (t6.port !== port) throw new Error('port differs')
  return t6
}

const dualName = (port: number) => `udp://dual.test:${port}/announce`
const dualLookup = async () => [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]
const peer4 = Buffer.from([127, 0, 0, 9, 0x1a, 0xe1])
const peer6 = Buffer.concat([Buffer.from('00000000000000000000000000000001', 'hex'), Buffer.from([0x1a, 0xe2])])

test('a UDP tracker whose name resolves to both families is announced over both, peers merged', async () => {
  const pair = await udpTrackerPair(udpAnswering(peer4), udpAnswering(peer6))
  try {
    const res = await announce(dualName(pair[0].port), req, { lookupAll: dualLookup })
    assert.equal(res.peers, [{ host: '127.0.0.9', port: 6881 }, { host: '::1', port: 6882 }])
    assert.equal(pair.map((t) => t.packets.map((p) => p.action)), [[0, 1], [0, 1]], 'each family heard connect and announce')
  } finally {
    for (const t of pair) await t.close()
  }
})

test('both families: a silent IPv6 side costs at most the grace period, and a dead one nothing', async () => {
  // IPv6 tracker that never answers: the IPv4 answer comes back after about 1.5 s, not the 15 s timeout.
  const pair = await udpTrackerPair(udpAnswering(peer4), () => {})
  try {
    const t0 = Date.now()
    const res = await announce(dualName(pair[0].port), req, { lookupAll: dualLookup })
    const took = Date.now() - t0
    assert.equal(res.peers, [{ host: '127.0.0.9', port: 6881 }])
    assert.ok(took >= 1000 && took < 5000, `took ${took} ms`)
  } finally {
    for (const t of pair) await t.close()
  }
  // Nothing listening on ::1 at that port: the IPv4 answer alone, and no error.
  const [t4] = await udpTrackerPair(udpAnswering(peer4), undefined)
  try {
    const res = await announce(dualName(t4.port), req, { lookupAll: dualLookup, timeoutMs: 4000 })
    assert.equal(res.peers, [{ host: '127.0.0.9', port: 6881 }])
  } finally {
    await t4.close()
  }
})

test.run()
