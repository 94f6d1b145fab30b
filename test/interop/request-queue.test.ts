// The request queue a bt seeder advertises (reqq 2000) is one it honours: a peer with 2000 requests outstanding at
// once gets every block. And what a peer may queue is bounded in bytes, not only in count: 600 requests of 128 KiB
// (75 MiB asked for, far under the count cap) from a peer that reads nothing get it dropped as a flood.
// The peer here is raw TCP, so nothing between it and the seeder second-guesses the requests.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import type { Metainfo } from '../../src/metainfo/metainfo.js'
import { makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'
import { waitFor } from '../helpers/wait.js'

const sockets: net.Socket[] = []
test.after.each(async () => {
  for (const s of sockets) s.destroy()
  sockets.length = 0
  await stopAll()
})

interface RawPeer {
  socket: net.Socket
  /** Piece messages received, and their payload bytes. */
  pieces: number
  bytes: number
  unchoked: boolean
  closed: boolean
  request(index: number, offset: number, length: number): void
}

/** Handshake with a bt seeder on `port`, say interested, and count what comes back. */
function rawPeer(port: number, m: Metainfo): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    sockets.push(socket)
    socket.on('error', () => {})
    const peer: RawPeer = {
      socket, pieces: 0, bytes: 0, unchoked: false, closed: false,
      request(index, offset, length) {
        const msg = Buffer.alloc(17)
        msg.writeUInt32BE(13, 0)
        msg[4] = 6
        msg.writeUInt32BE(index, 5)
        msg.writeUInt32BE(offset, 9)
        msg.writeUInt32BE(length, 13)
        socket.write(msg)
      },
    }
    socket.once('close', () => { peer.closed = true })
    const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.from(m.infoHash, 'hex'), randomBytes(20)])
    socket.write(hs)
    socket.write(Buffer.from([0, 0, 0, 1, 2])) // interested
    let buf = Buffer.alloc(0)
    let shook = false
    socket.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d
      if (!shook) {
        if (buf.length < 68) return
        shook = true
        buf = buf.subarray(68)
      }
      // Count messages without keeping piece data.
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0)
        if (buf.length < 4 + len) break
        const id = len > 0 ? buf[4] : -1
        if (id === 1 && !peer.unchoked) {
          peer.unchoked = true
          resolve(peer)
        }
        if (id === 7) {
          peer.pieces++
          peer.bytes += len - 9
        }
        buf = buf.subarray(4 + len)
      }
    })
    setTimeout(() => reject(new Error('not unchoked in 5 s')), 5000).unref()
  })
}

test('a peer with 2000 requests outstanding (the advertised reqq) gets every block', async () => {
  const tt = await makeTestTorrent([1024 * 1024], { pieceLength: 262144, seed: 111 })
  const seed = await seedWith(tt)
  const warnings: string[] = []
  seed.torrent.on('warning', (w: string) => warnings.push(w))
  const peer = await rawPeer(seed.client.port(), tt.metainfo)
  // 2000 distinct 512-byte blocks (a client never asks for one block twice at once), written in one go.
  for (let i = 0; i < 2000; i++) peer.request(Math.floor(i / 512), (i % 512) * 512, 512)
  await waitFor('2000 blocks', () => peer.pieces >= 2000 || peer.closed, 20_000)
  assert.is(peer.closed, false, warnings.join(' | '))
  assert.is(peer.pieces, 2000)
  assert.is(peer.bytes, 2000 * 512)
  assert.equal(warnings, [])
})

test('requests for 75 MiB (600 x 128 KiB) from a peer that reads nothing: dropped as a flood', async () => {
  const tt = await makeTestTorrent([1024 * 1024], { pieceLength: 262144, seed: 112 })
  const seed = await seedWith(tt)
  const warnings: string[] = []
  seed.torrent.on('warning', (w: string) => warnings.push(w))
  const peer = await rawPeer(seed.client.port(), tt.metainfo)
  peer.socket.pause() // read nothing: blocks pile up in the seeder's socket, requests in its queue
  for (let i = 0; i < 600; i++) peer.request(i % 4, (i % 2) * 131072, 131072)
  await waitFor('the seeder to drop the peer', () => warnings.some((w) => /request flood/.test(w)), 10_000)
  assert.ok(seed.torrent.stats().ends.banned >= 1)
})

test.run()
