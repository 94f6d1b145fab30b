// The Client's connection cap counts an accepted incoming peer once: while it handshakes, then as a connection of its
// torrent (it was counted twice, so a seeder took at most half its cap of incoming peers: 200 of 500 in bench/scale.js).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { PeerWire } from '../../src/wire/peer-wire.js'
import { makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'
import { within } from '../helpers/wait.js'

const sockets: net.Socket[] = []
test.after.each(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await stopAll()
})

/** A plain peer that connects, handshakes, and stays: resolves true when the seeder answered its handshake. */
function rawPeer(port: number, infoHash: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    sockets.push(socket)
    const wire = new PeerWire('tcpOutgoing', 0)
    wire.on('error', () => {})
    socket.on('error', () => resolve(false))
    socket.once('close', () => resolve(false))
    socket.pipe(wire).pipe(socket)
    wire.once('handshake', () => resolve(true))
    socket.once('connect', () => wire.handshake(infoHash, Buffer.concat([Buffer.from('-XX0001-'), randomBytes(12)]), { dht: false }))
  })
}

test('a seeder with a cap of 6 connections accepts 6 incoming peers, then refuses the 7th', async () => {
  const tt = await makeTestTorrent([200_000], { pieceLength: 16384, seed: 71 })
  const { client, torrent } = await seedWith(tt, {}, { maxConnections: 6, maxPeersPerTorrent: 50 })
  const ih = tt.metainfo.infoHashBuffer
  const answered: boolean[] = []
  // One after another, so each is attached (and counted as a connection) before the next arrives.
  for (let i = 0; i < 6; i++) answered.push(await within(rawPeer(client.port(), ih), 5000, `peer ${i} got no answer`))
  assert.equal(answered, [true, true, true, true, true, true])
  assert.is(torrent.peers.size, 6)
  assert.is(await within(rawPeer(client.port(), ih), 5000, 'the 7th was neither answered nor closed'), false, 'over the cap')
})

test.run()
