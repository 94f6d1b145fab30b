// BEP 7 on the tracker side of bt's client: which IPv6 address bt names with `ipv6=`, and that HTTP announces carry
// it. Loopback only.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { announce, type AnnounceRequest } from '../../src/discovery/tracker.js'
import { announceIPv6 } from '../../src/discovery/own-address.js'
import { startFakeHttpTracker, sendBencoded, param, type FakeHttpTracker } from '../helpers/fake-tracker.js'
import { stopAll } from '../helpers/swarm.js'

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

test.run()
