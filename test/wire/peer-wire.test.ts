// PeerWire's data path on real loopback sockets: an outgoing TCP connection reads into the process's shared buffer
// (src/net/shared-read.ts) and is parsed in place, so what the wire keeps (a bitfield) must be a copy and every block
// must arrive intact however the peer's bytes are split; requests are written by our own encoder. The peer on the
// other end is written by hand here (raw bytes), then is a second PeerWire (the incoming, non-shared path).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { dialPeer, TCP_ONLY } from '../../src/net/dialer.js'
import { PeerWire, connectWire } from '../../src/wire/peer-wire.js'
import { within } from '../helpers/wait.js'
import { listenTransports } from '../../src/net/listen.js'
import { inSharedBuffer } from '../../src/net/shared-read.js'

const INFO_HASH = Buffer.alloc(20, 0x5a)
const PEER_A = Buffer.alloc(20, 0x41)
const PEER_B = Buffer.alloc(20, 0x42)
const BLOCK = 16 * 1024

/** The bytes of block (piece, offset): different for every block, so a block from the wrong place shows. */
function blockBytes(piece: number, offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) b[i] = (piece * 31 + (offset >> 14) * 7 + i) & 0xff
  return b
}

function header(len: number, id: number, ...nums: number[]): Buffer {
  const b = Buffer.alloc(5 + 4 * nums.length)
  b.writeUInt32BE(len, 0)
  b[4] = id
  nums.forEach((n, i) => b.writeUInt32BE(n, 5 + 4 * i))
  return b
}

const tcp = () => ({ ...TCP_ONLY, tcpTimeoutMs: 5000 })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Start `server` on loopback, dial it over TCP, handshake as PEER_A and wait to be unchoked. */
async function dialUnchoked(server: net.Server): Promise<{ wire: PeerWire; socket: net.Socket }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const wire = new PeerWire('tcpOutgoing')
  const socket = (await dialPeer('127.0.0.1', port, tcp())).socket as net.Socket
  connectWire(socket, wire)
  wire.on('error', () => {})
  const unchoked = new Promise((r) => wire.once('unchoke', r))
  wire.handshake(INFO_HASH, PEER_A)
  try {
    await within(unchoked, 5000, 'the peer to unchoke us')
  } catch (err) {
    wire.destroy()
    socket.destroy()
    throw err
  }
  return { wire, socket }
}

test('outgoing TCP: blocks split across reads arrive intact, the bitfield survives later reads, requests are well-formed', async () => {
  const requests: Array<[number, number, number]> = []
  let peerSocket: net.Socket | undefined
  const server = net.createServer((s) => {
    peerSocket = s
    let buf = Buffer.alloc(0)
    let greeted = false
    let sending = Promise.resolve()
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (!greeted) {
        if (buf.length < 68) return
        buf = buf.subarray(68)
        greeted = true
        // Handshake (no extensions), a bitfield of pieces 0, 2, 8, 9 of 12, unchoke.
        s.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), INFO_HASH, PEER_B]))
        s.write(Buffer.concat([header(3, 5), Buffer.from([0b10100000, 0b11000000])]))
        s.write(header(1, 1))
      }
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0)
        const msg = buf.subarray(4, 4 + len)
        buf = buf.subarray(4 + len)
        if (len === 13 && msg[0] === 6) {
          const r: [number, number, number] = [msg.readUInt32BE(1), msg.readUInt32BE(5), msg.readUInt32BE(9)]
          requests.push(r)
          // Answer in three writes with pauses between, so a message straddles reads at odd places.
          sending = sending.then(async () => {
            const whole = Buffer.concat([header(9 + r[2], 7, r[0], r[1]), blockBytes(...r)])
            for (const [a, b] of [[0, 3], [3, 9001], [9001, whole.length]]) {
              if (s.destroyed) return
              s.write(whole.subarray(a, b))
              await sleep(2)
            }
          })
        }
      }
    })
    s.on('error', () => {})
  })
  let conn: { wire: PeerWire; socket: net.Socket } | undefined
  try {
    conn = await dialUnchoked(server)
    const { wire } = conn
    const want: Array<[number, number, number]> = []
    for (const piece of [0, 2, 8]) for (let b = 0; b < 4; b++) want.push([piece, b * BLOCK, b === 3 ? 1000 : BLOCK])
    const got = new Map<string, Buffer>()
    await within(Promise.all(want.map(([p, o, l]) => new Promise<void>((resolve, reject) => {
      wire.request(p, o, l, (err, buf) => {
        if (err || !buf) return reject(err ?? new Error('no data'))
        got.set(`${p}:${o}`, Buffer.from(buf)) // the view is valid only now: copy, as the session does
        resolve()
      })
    }))), 10_000, () => `all ${want.length} blocks (have ${got.size})`)
    for (const [p, o, l] of want) assert.ok(got.get(`${p}:${o}`)!.equals(blockBytes(p, o, l)), `block ${p}:${o} intact`)
    // Requests reached the peer in the order made, each as one well-formed 13-byte message.
    assert.equal(requests, want)
    assert.is(wire.requests.length, 0)
    // The bitfield came in the same reads as the handshake; 12 blocks of reads later it still says 0, 2, 8, 9.
    const bits = [...Array(12).keys()].filter((i) => wire.peerPieces.get(i))
    assert.equal(bits, [0, 2, 8, 9])
  } finally {
    conn?.wire.destroy()
    conn?.socket.destroy()
    peerSocket?.destroy()
    await new Promise((r) => server.close(r))
  }
})

test('two PeerWires (incoming side fed by data events): many blocks both ways match, timeouts fail the oldest request', async () => {
  let incoming: PeerWire | undefined
  let inSocket: net.Socket | undefined
  const server = net.createServer((s) => {
    inSocket = s
    const w = (incoming = new PeerWire('tcpIncoming'))
    w.on('error', () => {})
    connectWire(s, w)
    w.once('handshake', () => {
      w.handshake(INFO_HASH, PEER_B)
      w.unchoke()
    })
    w.on('request', (index: number, offset: number, length: number, respond: (e: Error | null, b?: Uint8Array) => void) => {
      // Piece 5 is never answered (a peer that silently drops requests).
      if (index !== 5) respond(null, blockBytes(index, offset, length))
    })
    s.on('error', () => {})
  })
  let conn: { wire: PeerWire; socket: net.Socket } | undefined
  try {
    conn = await dialUnchoked(server)
    const { wire } = conn
    // 64 pieces of 16 blocks, 1024 requests in flight at once.
    let ok = 0
    let bad = 0
    await within(Promise.all([...Array(1024).keys()].map((k) => new Promise<void>((resolve, reject) => {
      const p = k >> 4
      const o = (k & 15) * BLOCK
      wire.request(p === 5 ? 64 : p, o, BLOCK, (err, buf) => {
        if (err || !buf) return reject(err ?? new Error('no data'))
        if (Buffer.compare(buf, blockBytes(p === 5 ? 64 : p, o, BLOCK)) === 0) ok++
        else bad++
        resolve()
      })
    }))), 20_000, () => `1024 blocks (${ok} ok, ${bad} bad)`)
    assert.is(ok, 1024)
    assert.is(bad, 0)
    // A request the peer drops fails by the wire's timeout, oldest first.
    wire.setTimeout(300)
    const errs: string[] = []
    await within(Promise.all([0, BLOCK].map((o) => new Promise<void>((resolve) => {
      wire.request(5, o, BLOCK, (err) => {
        errs.push(`${o}:${err?.message}`)
        resolve()
      })
    }))), 5000, 'the dropped requests to time out')
    assert.equal(errs, ['0:request has timed out', `${BLOCK}:request has timed out`])
    assert.is(wire.requests.length, 0)
  } finally {
    conn?.wire.destroy()
    incoming?.destroy()
    conn?.socket.destroy()
    inSocket?.destroy()
    await new Promise((r) => server.close(r))
  }
})

test('accepted TCP (listenTransports): reads go to the shared buffer too; split and whole blocks arrive intact, the bitfield survives', async () => {
  let incoming: PeerWire | undefined
  let inSocket: net.Socket | undefined
  let acceptedResolve!: (w: PeerWire) => void
  const accepted = new Promise<PeerWire>((resolve) => (acceptedResolve = resolve))
  const listening = listenTransports({
    candidates: [0],
    hosts: ['127.0.0.1'],
    tcp: true,
    utp: false,
    onTcp: (s) => {
      inSocket = s
      s.on('error', () => {})
      const w = (incoming = new PeerWire('tcpIncoming'))
      w.on('error', () => {})
      connectWire(s, w)
      w.once('handshake', () => w.handshake(INFO_HASH, PEER_B))
      acceptedResolve(w)
    },
    onUtp: () => {},
    warn: () => {},
  })
  const l = await listening
  // The dialling peer, by hand: handshake, bitfield of pieces 1 and 3 of 4, unchoke; answers piece 1's requests in
  // three writes with pauses (messages straddle reads) and piece 3's in one write each.
  const raw = net.connect(l.port, '127.0.0.1')
  raw.on('error', () => {})
  try {
    await new Promise((r) => raw.once('connect', r))
    raw.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), INFO_HASH, PEER_A]))
    let buf = Buffer.alloc(0)
    let greeted = false
    let sending = Promise.resolve()
    raw.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (!greeted) {
        if (buf.length < 68) return
        buf = buf.subarray(68)
        greeted = true
        raw.write(Buffer.concat([header(2, 5), Buffer.from([0b01010000])]))
        raw.write(header(1, 1))
      }
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0)
        const msg = buf.subarray(4, 4 + len)
        buf = buf.subarray(4 + len)
        if (len !== 13 || msg[0] !== 6) continue
        const r: [number, number, number] = [msg.readUInt32BE(1), msg.readUInt32BE(5), msg.readUInt32BE(9)]
        sending = sending.then(async () => {
          const whole = Buffer.concat([header(9 + r[2], 7, r[0], r[1]), blockBytes(...r)])
          const cuts = r[0] === 1 ? [[0, 3], [3, 9001], [9001, whole.length]] : [[0, whole.length]]
          for (const [a, b] of cuts) {
            if (raw.destroyed) return
            raw.write(whole.subarray(a, b))
            await sleep(3)
          }
        })
      }
    })
    const wire = await within(accepted, 5000, 'the connection to be accepted')
    await within(new Promise((r) => (wire.peerChoking ? wire.once('unchoke', r) : r(null))), 5000, 'the peer to unchoke us')
    const got = new Map<string, Buffer>()
    let shared = 0
    for (const piece of [1, 3]) {
      await within(Promise.all([0, 1, 2, 3].map((b) => new Promise<void>((resolve, reject) => {
        wire.request(piece, b * BLOCK, BLOCK, (err, data) => {
          if (err || !data) return reject(err ?? new Error('no data'))
          if (inSharedBuffer(data)) shared++
          got.set(`${piece}:${b}`, Buffer.from(data))
          resolve()
        })
      }))), 10_000, () => `piece ${piece}'s blocks (have ${got.size})`)
    }
    for (const piece of [1, 3]) for (let b = 0; b < 4; b++) assert.ok(got.get(`${piece}:${b}`)!.equals(blockBytes(piece, b * BLOCK, BLOCK)), `block ${piece}:${b} intact`)
    // Whole blocks were handed over as views of the shared read buffer: the accepted socket reads into it.
    assert.ok(shared >= 1, `blocks read in place: ${shared}`)
    assert.equal([0, 1, 2, 3].filter((i) => wire.peerPieces.get(i)), [1, 3])
  } finally {
    raw.destroy()
    incoming?.destroy()
    inSocket?.destroy()
    for (const s of l.servers) await new Promise((r) => s.close(r))
  }
})

test.run()
