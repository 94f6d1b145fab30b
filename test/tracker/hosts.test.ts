// `--host` takes host names too: the UDP front end binds addresses, so a name is resolved to all its addresses
// (localhost: 127.0.0.1, and ::1 where the resolver lists it) and both front ends listen on each. A name that does
// not resolve is a one-line usage error. No test here sends a DNS query: localhost comes from /etc/hosts, and other
// names go through a stand-in resolver.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { lookup } from 'node:dns/promises'
import { resolveListenHosts } from '../../src/tracker/hosts.js'
import { startTracker, type TrackerService } from '../../src/tracker/service.js'
import { udpAnnounce } from '../../src/discovery/tracker-udp.js'
import { BtError } from '../../src/errors.js'
import { killSpawned, spawnBt } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

let svc: TrackerService | undefined
test.after.each(async () => {
  await svc?.close()
  svc = undefined
  killSpawned()
})

const fake = (table: Record<string, string[]>) => async (h: string) => {
  const a = table[h]
  if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' })
  return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
}

test('names resolve to every address, literals pass through, duplicates go, unresolvable names are usage errors', async () => {
  const r = fake({ 'dual.test': ['127.0.0.1', '::1'], 'll.test': ['fe80::1'] })
  assert.equal(await resolveListenHosts(['dual.test'], r), ['127.0.0.1', '::1'])
  assert.equal(await resolveListenHosts(['127.0.0.1', '[::1]', 'dual.test'], r), ['127.0.0.1', '::1'])
  const err = await resolveListenHosts(['nosuch.test'], r).catch((e) => e)
  assert.ok(err instanceof BtError)
  assert.is(err.exitCode, 2)
  assert.match(err.message, /^--host nosuch\.test: cannot resolve this name \(host not found\)$/)
  assert.match((await resolveListenHosts(['ll.test'], r).catch((e) => e)).message, /no usable address/)
  assert.match((await resolveListenHosts([' '], r).catch((e) => e)).message, /no address given/)
  // The real resolver: localhost is whatever /etc/hosts says, IPv4 at least.
  const sys = (await lookup('localhost', { all: true })).map((a) => a.address)
  const got = await resolveListenHosts(['localhost'])
  assert.ok(got.includes('127.0.0.1'), String(got))
  assert.equal([...got].sort(), [...new Set(sys)].filter((a) => !/^fe80:/i.test(a)).sort())
})

test('startTracker({ hosts: [localhost] }): UDP and HTTP listen on its addresses and answer', async () => {
  svc = await startTracker({ hosts: ['localhost'], httpPort: 0, udpPort: 0, rateLimit: 0 })
  const addrs = svc.udp.map((u) => u.address.address)
  assert.ok(addrs.includes('127.0.0.1'), String(addrs))
  assert.equal(svc.http.map((h) => h.address.address), addrs)
  const url = `udp://127.0.0.1:${svc.udp[0].address.port}/announce`
  const r = await udpAnnounce(url, { infoHash: Buffer.alloc(20, 1), peerId: Buffer.from('-BT0001-aaaaaaaaaaaa'), port: 7001, left: 0, uploaded: 0, downloaded: 0, event: 'started' })
  assert.is(r.complete, 1)
})

test('bt tracker --host localhost: announce URLs with the address, no "reachable from other machines" notice', async () => {
  const p = spawnBt(['tracker', '--host', 'localhost', '--http-port', '0', '--udp-port', '0', '--memory', '--json'])
  const ev = await waitFor('the listening line', () => p.events.find((e) => e.event === 'listening'), 15_000).catch((err) => {
    throw new Error(`${err.message}: ${p.stderr()}`)
  })
  assert.ok((ev!.udp as string[]).some((u) => /^udp:\/\/127\.0\.0\.1:\d+\/announce$/.test(u)), JSON.stringify(ev))
  assert.not.match(p.stderr(), /reachable from other machines/)
})

test.run()
