// Dial policy (src/net/dial-policy.ts) and the two-transport listener (src/net/listen.ts): uTP first, what worked
// remembered per peer, switches honoured; TCP and uTP on one port number, and TCP alone when the binding is missing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import net from 'node:net'
import { DialPolicy } from '../../src/net/dial-policy.js'
import { listenTransports, type Listeners } from '../../src/net/listen.js'
import { dialPeer } from '../../src/net/dialer.js'
import type { PeerSocket } from '../../src/net/utp.js'
import { within } from '../helpers/wait.js'

const open: Listeners[] = []
test.after.each(async () => {
  for (const l of open.splice(0)) {
    for (const s of l.servers) s.close()
    await l.utp?.close()
  }
})

test('unknown peer: TCP then uTP by default, uTP first when asked; IPv6 peers TCP only (utp-native is IPv4-only)', () => {
  assert.equal(new DialPolicy({ utp: true, tcp: true }).plan('10.0.0.1', 6881), ['tcp', 'utp'])
  const p = new DialPolicy({ utp: true, tcp: true, first: 'utp' })
  assert.equal(p.plan('10.0.0.1', 6881), ['utp', 'tcp'])
  assert.equal(p.plan('::1', 6881), ['tcp'])
})

test('what worked is tried first next time; after a failure the other transport goes first', () => {
  const p = new DialPolicy({ utp: true, tcp: true, first: 'utp' })
  p.failed('10.0.0.1', 1, 'utp')
  p.succeeded('10.0.0.1', 1, 'tcp')
  assert.equal(p.plan('10.0.0.1', 1), ['tcp', 'utp'])
  p.failed('10.0.0.2', 1, 'utp')
  assert.equal(p.plan('10.0.0.2', 1), ['tcp', 'utp'])
  p.succeeded('10.0.0.2', 1, 'utp')
  assert.equal(p.plan('10.0.0.2', 1), ['utp', 'tcp'])
  // Only the exact address: another port of the same host is another peer.
  assert.equal(p.plan('10.0.0.2', 2), ['utp', 'tcp'])
  // A transport that worked and then failed is no longer preferred.
  p.failed('10.0.0.2', 1, 'utp')
  assert.equal(p.plan('10.0.0.2', 1), ['tcp', 'utp'])
  // A peer that ignored uTP (still starting) and then closed TCP (uTP-only): uTP again.
  p.failed('10.0.0.3', 1, 'utp')
  p.failed('10.0.0.3', 1, 'tcp')
  assert.equal(p.plan('10.0.0.3', 1), ['utp', 'tcp'])
})

test('--no-utp / --no-tcp leave one transport; nothing for IPv6 with --no-tcp', () => {
  assert.equal(new DialPolicy({ utp: false, tcp: true }).plan('10.0.0.1', 1), ['tcp'])
  assert.equal(new DialPolicy({ utp: true, tcp: false }).plan('10.0.0.1', 1), ['utp'])
  assert.equal(new DialPolicy({ utp: true, tcp: false }).plan('::1', 1), [])
})

test('memory is bounded: the oldest peer is forgotten', () => {
  const p = new DialPolicy({ utp: true, tcp: true, first: 'utp', capacity: 2 })
  p.succeeded('10.0.0.1', 1, 'tcp')
  p.succeeded('10.0.0.2', 1, 'tcp')
  p.succeeded('10.0.0.3', 1, 'tcp')
  assert.equal(p.plan('10.0.0.1', 1), ['utp', 'tcp'])
  assert.equal(p.plan('10.0.0.3', 1), ['tcp', 'utp'])
})

const noop = () => {}

test('TCP and uTP listen on the same port number, and both accept', async () => {
  let tcpIn = 0
  let utpIn: PeerSocket | undefined
  const l = await listenTransports({
    candidates: [0], hosts: ['127.0.0.1'], tcp: true, utp: true,
    onTcp: (s) => { tcpIn++; s.destroy() },
    onUtp: (s) => { utpIn = s },
    warn: (m) => assert.unreachable(m),
  })
  open.push(l)
  assert.ok(l.servers.length === 1 && l.utp)
  assert.is((l.servers[0].address() as net.AddressInfo).port, l.port)
  assert.is(l.utp!.port, l.port)
  const t = net.connect(l.port, '127.0.0.1')
  await within(new Promise((r) => t.on('close', r)), 5000, 'TCP accepted and closed')
  assert.is(tcpIn, 1)
  const dialer = await listenTransports({ candidates: [0], hosts: ['127.0.0.1'], tcp: false, utp: true, onTcp: noop, onUtp: noop, warn: noop })
  open.push(dialer)
  assert.is(dialer.servers.length, 0)
  const c = dialer.utp!.connect('127.0.0.1', l.port, 3000)
  await within(new Promise((r) => c.once('connect', r)), 5000, 'uTP connect')
  c.write('x')
  await within((async () => { while (!utpIn) await new Promise((r) => setTimeout(r, 10)) })(), 5000, 'uTP accepted')
  c.destroy()
})

test('a candidate whose UDP twin is taken fails with a clear error, and the next candidate is used', async () => {
  const udp = dgram.createSocket('udp4')
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r))
  const taken = udp.address().port
  try {
    try {
      await listenTransports({ candidates: [taken], hosts: ['127.0.0.1'], tcp: true, utp: true, onTcp: noop, onUtp: noop, warn: noop })
      assert.unreachable('bound a taken UDP port')
    } catch (err) {
      assert.match((err as Error).message, /address in use/)
    }
    const l = await listenTransports({ candidates: [taken, 0], hosts: ['127.0.0.1'], tcp: true, utp: true, onTcp: noop, onUtp: noop, warn: noop })
    open.push(l)
    assert.is.not(l.port, taken)
    assert.is(l.utp!.port, l.port)
  } finally {
    udp.close()
  }
})

test('several listen addresses: TCP on each (one port), uTP on the IPv4 one; IPv6 addresses alone get uTP on ::1 with our binding, none with utp-native', async () => {
  const both = await listenTransports({ candidates: [0], hosts: ['127.0.0.1', '::1'], tcp: true, utp: true, onTcp: noop, onUtp: noop, warn: noop })
  open.push(both)
  assert.is(both.servers.length, 2)
  assert.equal(both.servers.map((s) => (s.address() as net.AddressInfo).port), [both.port, both.port])
  assert.ok(both.utp, 'uTP on 127.0.0.1')
  assert.ok(both.utp!.canDial('127.0.0.1') && !both.utp!.canDial('::1'), 'the uTP socket is the IPv4 one')
  const v6 = await listenTransports({ candidates: [0], hosts: ['::1'], tcp: true, utp: true, onTcp: noop, onUtp: noop, warn: noop })
  open.push(v6)
  assert.is(v6.servers.length, 1)
  assert.ok(v6.utp, 'uTP on ::1 (our binding)')
  assert.is(v6.utp!.port, v6.port)
  assert.ok(v6.utp!.canDial('::1') && !v6.utp!.canDial('127.0.0.1'), 'the uTP socket is the IPv6 one')
  const v6only = await listenTransports({ candidates: [0], hosts: ['::1'], tcp: false, utp: true, onTcp: noop, onUtp: noop, warn: noop })
  open.push(v6only)
  assert.ok(v6only.utp, '--no-tcp on ::1 listens over uTP')
  const old = await listenTransports({ candidates: [0], hosts: ['::1'], tcp: true, utp: true, utpModule: 'utp-native', onTcp: noop, onUtp: noop, warn: noop })
  open.push(old)
  assert.is(old.utp, undefined, 'utp-native is IPv4-only')
  try {
    await listenTransports({ candidates: [0], hosts: ['::1'], tcp: false, utp: true, utpModule: 'utp-native', onTcp: noop, onUtp: noop, warn: noop })
    assert.unreachable('listened on nothing')
  } catch (err) {
    assert.match((err as Error).message, /uTP \(utp-native\) runs over IPv4 only/)
  }
})

test('missing binding: TCP only with one warning; --no-tcp then is a usage error', async () => {
  const warnings: string[] = []
  const l = await listenTransports({ candidates: [0], hosts: ['127.0.0.1'], tcp: true, utp: true, onTcp: noop, onUtp: noop, warn: (m) => warnings.push(m), utpModule: 'utp-native-absent' })
  open.push(l)
  assert.ok(l.servers.length === 1)
  assert.is(l.utp, undefined)
  assert.is(warnings.length, 1)
  try {
    await listenTransports({ candidates: [0], hosts: ['127.0.0.1'], tcp: false, utp: true, onTcp: noop, onUtp: noop, warn: (m) => warnings.push(m), utpModule: 'utp-native-absent' })
    assert.unreachable('listened on nothing')
  } catch (err) {
    assert.match((err as Error).message, /--no-tcp needs uTP/)
  }
  assert.is(warnings.length, 1, 'still one warning')
  try {
    await listenTransports({ candidates: [0], hosts: [undefined], tcp: false, utp: false, onTcp: noop, onUtp: noop, warn: noop })
    assert.unreachable('listened on nothing')
  } catch (err) {
    assert.match((err as Error).message, /both TCP and uTP are switched off/)
  }
})

test('dialPeer (uTP first): a TCP-only peer gets TCP after the uTP wait, and TCP first from then on', async () => {
  const me = await listenTransports({ candidates: [0], hosts: ['127.0.0.1'], tcp: true, utp: true, onTcp: noop, onUtp: noop, warn: noop })
  open.push(me)
  const tcpOnly = net.createServer((s) => s.destroy())
  await new Promise<void>((r) => tcpOnly.listen(0, '127.0.0.1', r))
  const tcpPort = (tcpOnly.address() as net.AddressInfo).port
  const both = await listenTransports({ candidates: [0], hosts: ['127.0.0.1'], tcp: true, utp: true, onTcp: noop, onUtp: (s) => s.resume(), warn: noop })
  open.push(both)
  try {
    const policy = new DialPolicy({ utp: true, tcp: true, first: 'utp' })
    const t = { policy, utp: me.utp, tcpTimeoutMs: 3000, utpTimeoutMs: 300 }
    let t0 = Date.now()
    const first = await within(dialPeer('127.0.0.1', tcpPort, t), 5000, 'dial a TCP-only peer')
    assert.is(first.transport, 'tcp')
    assert.ok(Date.now() - t0 >= 290, 'waited for uTP first')
    first.socket.destroy()
    t0 = Date.now()
    const second = await within(dialPeer('127.0.0.1', tcpPort, t), 5000, 'dial it again')
    assert.is(second.transport, 'tcp')
    assert.ok(Date.now() - t0 < 250, `TCP first this time (${Date.now() - t0} ms)`)
    second.socket.destroy()
    const u = await within(dialPeer('127.0.0.1', both.port, t), 5000, 'dial a uTP peer')
    assert.is(u.transport, 'utp')
    assert.is(u.socket.remotePort, both.port)
    u.socket.destroy()
    // Default order: TCP first; a peer with no TCP listener gets uTP in the same dial.
    const noTcp = await listenTransports({ candidates: [0], hosts: ['127.0.0.1'], tcp: false, utp: true, onTcp: noop, onUtp: (s) => s.resume(), warn: noop })
    open.push(noTcp)
    const fb = await within(dialPeer('127.0.0.1', noTcp.port, { ...t, policy: new DialPolicy({ utp: true, tcp: true }) }), 5000, 'TCP refused, then uTP')
    assert.is(fb.transport, 'utp')
    fb.socket.destroy()
    // --no-utp: TCP only, even to a uTP peer.
    const tcp = await within(dialPeer('127.0.0.1', both.port, { ...t, policy: new DialPolicy({ utp: false, tcp: true }) }), 5000, 'TCP dial')
    assert.is(tcp.transport, 'tcp')
    tcp.socket.destroy()
    // --no-tcp and an IPv6 peer: nothing can reach it.
    try {
      await dialPeer('::1', tcpPort, { ...t, policy: new DialPolicy({ utp: true, tcp: false }) })
      assert.unreachable('dialled')
    } catch (err) {
      assert.is((err as NodeJS.ErrnoException).code, 'ENOTRANSPORT')
    }
    // Every transport failing: the last error comes back.
    tcpOnly.close()
    await new Promise((r) => setTimeout(r, 50))
    try {
      await within(dialPeer('127.0.0.1', tcpPort, t), 5000, 'failing dial')
      assert.unreachable('dialled a closed port')
    } catch (err) {
      assert.ok(['ECONNREFUSED', 'ETIMEDOUT'].includes((err as NodeJS.ErrnoException).code ?? ''), String(err))
    }
  } finally {
    tcpOnly.close()
  }
})

test.run()
