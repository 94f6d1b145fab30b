// ut_pex between two bittorrent-protocol wires over TCP on 127.0.0.1: peers sent by one side arrive at the other,
// at most 50 per message and one message per interval; garbage messages are ignored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import Wire, { type ExtensionClass } from 'bittorrent-protocol'
import { pexExtension, type PexExtension } from '../../src/wire/pex.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import { waitFor } from '../helpers/wait.js'

const closers: Array<() => void> = []
test.after.each(() => {
  while (closers.length) closers.pop()!()
})

const infoHash = randomBytes(20)

/** Two wires joined by a real TCP connection, handshakes done both ways. */
async function wirePair(aExts: ExtensionClass[], bExts: ExtensionClass[]): Promise<{ a: Wire; b: Wire }> {
  const sockets: Socket[] = []
  const wires: Wire[] = []
  closers.push(() => {
    for (const s of sockets) s.destroy()
    for (const w of wires) w.destroy()
  })
  const a = await new Promise<Wire>((resolve) => {
    const server: Server = createServer((sock) => {
      sockets.push(sock)
      sock.on('error', () => {})
      const w = new Wire()
      wires.push(w)
      sock.pipe(w).pipe(sock)
      for (const e of aExts) w.use(e)
      w.once('handshake', () => w.handshake(infoHash, randomBytes(20)))
      resolve(w)
    })
    closers.push(() => server.close())
    server.listen(0, '127.0.0.1', () => {
      const sock = connect((server.address() as { port: number }).port, '127.0.0.1')
      sockets.push(sock)
      sock.on('error', () => {})
      const w = new Wire()
      wires.push(w)
      sock.pipe(w).pipe(sock)
      for (const e of bExts) w.use(e)
      w.handshake(infoHash, randomBytes(20))
    })
  })
  const b = wires[0] === a ? wires[1] : wires[0]
  // Both extended handshakes must be in before the test talks.
  const deadline = Date.now() + 2000
  while ((!a.peerExtendedMapping.ut_pex && bExts.length) || (!b.peerExtendedMapping.ut_pex && aExts.length)) {
    if (Date.now() > deadline) throw new Error('extended handshake did not complete')
    await new Promise((r) => setTimeout(r, 10))
  }
  return { a, b }
}

interface Received { at: number; peers: PeerAddress[] }

function receiver(interval?: number) {
  const added: Received[] = []
  const dropped: Received[] = []
  const ext = pexExtension({
    onPeers: (peers) => added.push({ at: Date.now(), peers }),
    onDropped: (peers) => dropped.push({ at: Date.now(), peers }),
    interval,
  })
  return { ext, added, dropped }
}

const sorted = (ps: PeerAddress[]) => ps.map((p) => `${p.host}|${p.port}`).sort()

test('peers sent by one wire arrive at the other, IPv4 and IPv6, added and dropped', async () => {
  const sender = pexExtension({ onPeers: () => {} })
  const rx = receiver()
  const { b } = await wirePair([rx.ext], [sender])
  const pex = b.ut_pex as PexExtension
  assert.ok(pex.supported)
  const added = [
    { host: '10.0.0.1', port: 6881 },
    { host: '192.168.1.20', port: 51413 },
    { host: '2001:db8::1', port: 6882 },
    { host: 'fe80::1:2:3', port: 1 },
  ]
  pex.sendPeers(added, [{ host: '10.9.9.9', port: 7000 }, { host: '2001:db8::9', port: 7001 }])
  await waitFor('rx.added.length === 1 && rx.dropped.length === 1', () => rx.added.length === 1 && rx.dropped.length === 1)
  assert.equal(sorted(rx.added[0].peers), sorted([
    { host: '10.0.0.1', port: 6881 },
    { host: '192.168.1.20', port: 51413 },
    { host: '2001:db8::1', port: 6882 },
    { host: 'fe80::1:2:3', port: 1 },
  ]))
  assert.equal(sorted(rx.dropped[0].peers), sorted([{ host: '10.9.9.9', port: 7000 }, { host: '2001:db8::9', port: 7001 }]))
})

test('sendPeers before the extended handshake waits for it; a peer added then dropped is not sent as added', async () => {
  const rx = receiver()
  let early: PexExtension | undefined
  class Early {
    declare name: string
    constructor(wire: Wire) {
      // Queue from the constructor: the handshake has not even been sent.
      queueMicrotask(() => {
        early = wire.ut_pex as PexExtension
        early.sendPeers([{ host: '10.1.1.1', port: 1000 }, { host: '10.1.1.2', port: 1001 }], [])
        early.sendPeers([], [{ host: '10.1.1.2', port: 1001 }])
      })
    }
  }
  ;(Early.prototype as { name: string }).name = 'x_early'
  const sender = pexExtension({ onPeers: () => {} })
  await wirePair([rx.ext], [sender, Early as unknown as ExtensionClass])
  await waitFor('rx.added.length === 1', () => rx.added.length === 1)
  assert.ok(early)
  assert.equal(rx.added[0].peers, [{ host: '10.1.1.1', port: 1000 }])
  assert.equal(sorted(rx.dropped[0]?.peers ?? []), ['10.1.1.2|1001'])
})

test('at most 50 added per message; the rest and later calls wait for the interval', async () => {
  const interval = 300
  const sender = pexExtension({ onPeers: () => {}, interval })
  const rx = receiver(interval)
  const { b } = await wirePair([rx.ext], [sender])
  const pex = b.ut_pex as PexExtension
  const many = Array.from({ length: 120 }, (_, i) => ({ host: `10.2.${i >> 8}.${i & 255}`, port: 2000 + i }))
  const started = Date.now()
  pex.sendPeers(many, [])
  pex.sendPeers([{ host: '10.3.0.1', port: 3000 }], []) // merged into the queue, not a message of its own
  await waitFor('rx.added.reduce((n, r) => n + r.peers.length, 0) === 121', () => rx.added.reduce((n, r) => n + r.peers.length, 0) === 121, 5000)
  assert.equal(rx.added.map((r) => r.peers.length), [50, 50, 21])
  for (let i = 1; i < rx.added.length; i++) {
    const gap = rx.added[i].at - rx.added[i - 1].at
    assert.ok(gap >= interval - 20, `messages ${gap} ms apart`)
  }
  assert.ok(rx.added[0].at - started < 200, 'the first message goes out at once')
  assert.equal(sorted(rx.added.flatMap((r) => r.peers)), sorted([...many, { host: '10.3.0.1', port: 3000 }]))
})

test('the default interval is a minute: a second call inside it is held back', async () => {
  const sender = pexExtension({ onPeers: () => {} })
  const rx = receiver()
  const { b } = await wirePair([rx.ext], [sender])
  const pex = b.ut_pex as PexExtension
  pex.sendPeers([{ host: '10.4.0.1', port: 1 }], [])
  await waitFor('rx.added.length === 1', () => rx.added.length === 1)
  pex.sendPeers([{ host: '10.4.0.2', port: 2 }], [])
  await new Promise((r) => setTimeout(r, 300))
  assert.is(rx.added.length, 1)
})

test('garbage and flooding pex messages are ignored; the wire stays up and later valid ones arrive', async () => {
  const interval = 300
  const rx = receiver(interval)
  const { a, b } = await wirePair([rx.ext], [])
  let closed = false
  a.once('close', () => { closed = true })
  const raw = (payload: Uint8Array | Record<string, unknown>) =>
    b.extended('ut_pex', payload instanceof Uint8Array ? payload : Buffer.from(bencode.encode(payload)))
  raw(Buffer.from([0xde, 0xad, 0xbe, 0xef]))
  raw(Buffer.from('le'))
  raw(Buffer.from('d5:addedi5ee'))
  raw({ added: [1, 2, 3] })
  raw({ added: 'x' }) // one byte: no whole peer
  raw({ added6: Buffer.alloc(17) })
  raw({ added: Buffer.from([10, 5, 0, 1, 0, 0]) }) // port 0
  raw(Buffer.from('d5:added6:')) // truncated
  await new Promise((r) => setTimeout(r, 100))
  assert.is(rx.added.length, 0)
  // A valid message with a duplicate and a trailing partial entry: the whole peers, once each.
  const one = Buffer.from([10, 5, 0, 1, 0x1a, 0xe1])
  raw({ added: Buffer.concat([one, one, Buffer.from([10, 5, 0, 2, 0, 80]), Buffer.from([1])]) })
  await waitFor('rx.added.length === 1', () => rx.added.length === 1)
  assert.equal(sorted(rx.added[0].peers), sorted([{ host: '10.5.0.1', port: 6881 }, { host: '10.5.0.2', port: 80 }]))
  // A flood right after: ignored.
  raw({ added: Buffer.from([10, 6, 0, 1, 0, 81]) })
  raw({ added: Buffer.from([10, 6, 0, 2, 0, 82]) })
  await new Promise((r) => setTimeout(r, 100))
  assert.is(rx.added.length, 1)
  // A huge list: capped at 200.
  await new Promise((r) => setTimeout(r, interval))
  const huge = Buffer.alloc(1000 * 6)
  for (let i = 0; i < 1000; i++) {
    huge.writeUInt32BE(0x0a070000 + i, i * 6)
    huge.writeUInt16BE(1000 + i, i * 6 + 4)
  }
  raw({ added: huge })
  await waitFor('rx.added.length === 2', () => rx.added.length === 2)
  assert.is(rx.added[1].peers.length, 200)
  assert.not.ok(closed)
  assert.ok(!a.destroyed && !b.destroyed)
})

test('sendPeers to a wire whose peer has no ut_pex is a no-op', async () => {
  const sender = pexExtension({ onPeers: () => {} })
  const { b } = await wirePair([], [sender])
  const pex = b.ut_pex as PexExtension
  assert.not.ok(pex.supported)
  pex.sendPeers([{ host: '10.0.0.1', port: 1 }], [])
  await new Promise((r) => setTimeout(r, 100))
  assert.ok(!b.destroyed)
})

test.run()
