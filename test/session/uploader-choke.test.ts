// The uploader after a choke: a peer that is choked while its requests wait for disk reads, then unchoked, asks for
// the same blocks again; the stale queue entries must not swallow the new requests (the seeder then never sent
// them, and a torrentfs read waited for the downloader's 12 s request timeout: test/fs/swarm-blocked under load).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PeerWire } from '../../src/wire/peer-wire.js'
import { Peer } from '../../src/session/peer.js'
import { Uploader } from '../../src/session/uploader.js'
import { Bandwidth } from '../../src/session/bandwidth.js'
import { RateMeter } from '../../src/session/rate.js'

test('a block asked again after a choke and unchoke is sent, though the stale request was still being read', async () => {
  const leech = new PeerWire('leech')
  const seed = new PeerWire('seed')
  leech.pipe(seed).pipe(leech)
  const infoHash = Buffer.alloc(20, 1)
  seed.handshake(infoHash, Buffer.alloc(20, 2))
  leech.handshake(infoHash, Buffer.alloc(20, 3))
  const peer = new Peer('leech', { host: '127.0.0.1', port: 1 }, seed, { writableLength: 0, once() {} } as never, true)
  const reads: Array<() => void> = []
  const block = Buffer.alloc(16 * 1024, 7)
  const uploader = new Uploader(
    {
      pieceCount: () => 1,
      pieceSize: () => 16 * 1024,
      have: () => true,
      ready: () => true,
      // Each disk read waits until the test lets it finish.
      read: () => new Promise<Buffer>((resolve) => reads.push(() => resolve(block))),
      stopped: () => false,
      enabled: () => true,
    },
    new Bandwidth(() => undefined),
    new RateMeter(),
  )
  seed.on('request', (i: number, o: number, l: number, respond: (e: Error | null, b?: Uint8Array) => void, request: object) => uploader.request(peer, i, o, l, respond, request))
  const until = async (what: string, ok: () => boolean) => {
    for (let k = 0; k < 200 && !ok(); k++) await new Promise((r) => setTimeout(r, 5))
    assert.ok(ok(), what)
  }
  await until('handshakes', () => !!seed.peerId && !!leech.peerId)
  seed.unchoke()
  await until('unchoke arrives', () => !leech.peerChoking)

  const first = new Promise<string>((r) => leech.request(0, 0, 16 * 1024, (err) => r(err ? err.message : 'data')))
  await until('the first request is being read', () => reads.length === 1)
  seed.choke() // drops the pending request (the downloader's callback fails: choked)
  assert.is(await first, 'peer is choking')
  seed.unchoke()
  await until('unchoke arrives again', () => !leech.peerChoking)
  let got: Buffer | undefined
  let failed: string | undefined
  leech.request(0, 0, 16 * 1024, (err, buf) => (err ? (failed = err.message) : (got = Buffer.from(buf!))))
  await until('the second request arrives', () => seed.peerRequests.length === 1)
  reads.shift()!() // the stale read completes: it must not answer (or swallow) the new request
  await until('a read for the second request', () => reads.length === 1 || got !== undefined)
  reads.shift()?.()
  await until('the block arrives', () => got !== undefined || failed !== undefined)
  assert.is(failed, undefined)
  assert.ok(got!.equals(block))
  leech.destroy()
  seed.destroy()
})

test.run()
