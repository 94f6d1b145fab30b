// bt's own uTP binding (native/utp through src/net/utp-own.ts), the parts utp-native could not do: uTP over IPv6 and a
// dual-stack socket, and a prompt end when libtorrent closes (its FIN carries a close-reason extension that libutp's
// version check takes for a non-uTP packet; utp-native's connection lingered ~88 s until libutp timed out).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { UtpEndpoint, type PeerSocket } from '../../src/net/utp.js'
import { formatIPv6 } from '../../src/net/utp-own.js'
import { PeerWire } from '../../src/wire/peer-wire.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { within } from '../helpers/wait.js'
import { tmpDir } from '../helpers/tmp.js'
import { join } from 'node:path'
import { Client } from '../../src/session/client.js'
import { endpointsFor, once } from './utp-endpoints.js'

const peers: LtHandle[] = []
const openEndpoint = endpointsFor(test, () => Promise.allSettled(peers.splice(0).map((p) => p.stop())))
const open = (host: string) => openEndpoint(host, 'own')


/** b dials a at host and sends a line; resolves with both ends once the line arrived. */
async function pair(a: UtpEndpoint, b: UtpEndpoint, host: string): Promise<[PeerSocket, PeerSocket]> {
  const incoming = once<PeerSocket>(a, 'connection', 5000)
  const c = b.connect(host, a.port, 5000)
  await once(c, 'connect', 5000)
  c.write(`hello from ${host}`)
  const s = await incoming
  assert.is(String(await once<Buffer>(s, 'data', 5000)), `hello from ${host}`)
  return [c, s]
}

test('IPv6 text of address bytes (RFC 5952)', () => {
  const b = (hex: string) => Buffer.from(hex, 'hex')
  assert.is(formatIPv6(b('00000000000000000000000000000001'), 0), '::1')
  assert.is(formatIPv6(b('20010db8000000000001000000000001'), 0), '2001:db8::1:0:0:1')
  assert.is(formatIPv6(b('fe800000000000000000000000000000'), 0), 'fe80::')
  assert.is(formatIPv6(b('00000000000000000000ffff7f000001'), 0), '::ffff:127.0.0.1')
  assert.is(formatIPv6(b('20010db8000100020003000400050006'), 0), '2001:db8:1:2:3:4:5:6')
})

test('uTP on ::1: echo both ways, remote address and port, end closes both sides', async () => {
  const a = await open('::1')
  const b = await open('::1')
  const [c, s] = await pair(a, b, '::1')
  assert.is(s.remoteAddress, '::1')
  assert.is(s.remotePort, b.port)
  assert.is(c.remoteAddress, '::1')
  s.write('back')
  assert.is(String(await once<Buffer>(c, 'data', 5000)), 'back')
  const closed = Promise.all([once(s, 'close', 5000), once(c, 'close', 5000)])
  c.end()
  await closed
  assert.is(a.connections + b.connections, 0)
  assert.throws(() => a.connect('127.0.0.1', b.port), /IPv6 addresses only/)
})

test('no timer while idle: it starts with a connection and stops once libutp let go of it', async () => {
  const a = await open('127.0.0.1')
  const b = await open('127.0.0.1')
  assert.ok(!a.timerRunning && !b.timerRunning, 'idle endpoints run no timer')
  const [c] = await pair(a, b, '127.0.0.1')
  assert.ok(a.timerRunning && b.timerRunning)
  c.destroy()
  await within((async () => { while (a.timerRunning || b.timerRunning) await new Promise((r) => setTimeout(r, 50)) })(), 8000, 'timers to stop')
  assert.is(a.connections + b.connections, 0)
})

test("a dual-stack endpoint ('::') accepts IPv4 and IPv6 peers on one port and dials both", async () => {
  const a = await open('::')
  const v4 = await open('127.0.0.1')
  const v6 = await open('::1')
  const [, s4] = await pair(a, v4, '127.0.0.1')
  assert.is(s4.remoteAddress, '127.0.0.1') // not ::ffff:127.0.0.1
  assert.is(s4.remotePort, v4.port)
  const [, s6] = await pair(a, v6, '::1')
  assert.is(s6.remoteAddress, '::1')
  const [c4] = await pair(v4, a, '127.0.0.1')
  assert.is(c4.remoteAddress, '127.0.0.1')
  assert.ok(a.canDial('::1') && a.canDial('127.0.0.1'))
  assert.ok(!v4.canDial('::1') && !v6.canDial('127.0.0.1'))
})

test('a non-uTP datagram on the port reaches the IPv4 facade with its source; IPv6 senders do not', async () => {
  const a = await open('::')
  const facade = a.datagramSocket()
  const got: Array<{ msg: string; address: string }> = []
  facade.on('message', (buf: Buffer, rinfo: { address: string }) => got.push({ msg: String(buf), address: rinfo.address }))
  const raw: Array<{ msg: string; family: string }> = []
  a.on('message', (buf: Buffer, rinfo: { family: string }) => raw.push({ msg: String(buf), family: rinfo.family }))
  const dgram = await import('node:dgram')
  for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
    const s = dgram.createSocket(type)
    await new Promise<void>((r) => s.send(`d1:ad2:id20:${type}e`, a.port, host, () => r()))
    s.close()
  }
  await within((async () => { while (raw.length < 2) await new Promise((r) => setTimeout(r, 20)) })(), 3000, 'both datagrams')
  assert.equal(raw.map((x) => x.family).sort(), ['IPv4', 'IPv6'])
  assert.equal(got, [{ msg: 'd1:ad2:id20:udp4e', address: '127.0.0.1' }])
})

test('a default client: uTP dual stack on its port, and both DHT nodes share that UDP port and answer on it', async () => {
  const c = new Client({ port: 0, resumeDir: join(tmpDir('bt-resume-'), 'r'), dht: { bootstrap: false, statePath: join(tmpDir('bt-dht-'), 'dht.json') } })
  try {
    const port = await c.listen()
    assert.ok(c.dht && c.dht6, 'both DHT nodes run')
    assert.is(c.dht!.port, port)
    assert.is(c.dht6!.port, port, 'the IPv6 node on the listen port too (it shares the dual-stack socket)')
    const dgram = await import('node:dgram')
    const { default: bencode } = await import('bencode')
    for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
      const s = dgram.createSocket(type)
      try {
        const answer = new Promise<Buffer>((r) => s.once('message', r))
        s.send(bencode.encode({ t: 'p1', y: 'q', q: 'ping', a: { id: randomBytes(20) } }), port, host)
        const res = bencode.decode(await within(answer, 3000, `DHT ping over ${type}`)) as { y: Uint8Array }
        assert.is(Buffer.from(res.y).toString(), 'r')
      } finally {
        s.close()
      }
    }
  } finally {
    await c.destroy()
  }
})

test('a client bound to ::1 only: uTP on ::1 at its port, and its IPv6 DHT node shares that socket', async () => {
  const c = new Client({ port: 0, hosts: ['::1'], resumeDir: join(tmpDir('bt-resume-'), 'r'), dht: { bootstrap: false, statePath: join(tmpDir('bt-dht-'), 'dht.json') } })
  try {
    const port = await c.listen()
    assert.ok(c.dht6, 'the IPv6 DHT node runs')
    assert.is(c.dht6!.port, port, 'on the listen port (it shares the uTP socket instead of losing the port to it)')
    const b = await open('::1')
    const sock = b.connect('::1', port, 5000)
    await once(sock, 'connect', 5000)
    sock.destroy()
  } finally {
    await c.destroy()
  }
})

// libtorrent with TCP off: only uTP reaches it. A seed meeting a seed is pointless, so libtorrent closes the
// connection as soon as our bitfield says we have everything: its FIN carries the close reason.
const UTP_ONLY = { enable_outgoing_tcp: false, enable_incoming_tcp: false }

for (const family of ['127.0.0.1', '::1']) {
  test(`libtorrent closes a uTP connection (seed meets seed, ${family}): our side ends within a few seconds`, async () => {
    const tt = await makeTestTorrent([100_000], { pieceLength: 16384, seed: 171 })
    const settings = family === '::1' ? { ...UTP_ONLY, listen_interfaces: '[::1]:0' } : UTP_ONLY
    const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, utp: true, settings })
    peers.push(lt)
    const b = await open(family)
    let sock: PeerSocket | undefined
    for (let attempt = 1; attempt <= 2 && !sock; attempt++) {
      const s = b.connect(family, lt.port, 5000)
      try {
        await once(s, 'connect', 6000)
        sock = s
      } catch (err) {
        if (attempt === 2) throw err
        console.error(`uTP dial to libtorrent: ${(err as Error).message}; dialling again`) // a loaded machine, seen rarely
      }
    }
    const wire = new PeerWire('utpOutgoing')
    sock!.pipe(wire).pipe(sock!)
    wire.on('error', () => {})
    wire.handshake(tt.metainfo.infoHash, randomBytes(20).toString('hex'), { dht: false })
    assert.is(await once<string>(wire, 'handshake', 10_000), tt.metainfo.infoHash)
    const closed = once(sock!, 'close', 8000)
    const t0 = Date.now()
    const all = Buffer.alloc(Math.ceil(tt.metainfo.pieceCount / 8))
    for (let i = 0; i < tt.metainfo.pieceCount; i++) all[i >> 3] |= 0x80 >> (i & 7)
    wire.bitfield(all)
    await closed
    const ms = Date.now() - t0
    console.error(`  libtorrent closed, our side ended after ${ms} ms`)
    assert.ok(ms < 5000, `ended after ${ms} ms`)
    await within((async () => { while (b.connections > 0) await new Promise((r) => setTimeout(r, 20)) })(), 2000, 'connection count 0')
  })
}

test.run()
