// BEP 7 on the tracker side of bt's client: which IPv6 address bt names with `ipv6=`, that HTTP announces carry it,
// and that a dual-stack Client announcing over IPv4 tells a tracker its IPv6 address. Loopback only.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { announce, type AnnounceRequest } from '../../src/discovery/tracker.js'
import { announceIPv6 } from '../../src/discovery/own-address.js'
import { startFakeHttpTracker, sendBencoded, param, type FakeHttpTracker } from '../helpers/fake-tracker.js'
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

test.run()
