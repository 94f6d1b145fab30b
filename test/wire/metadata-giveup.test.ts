// When a peer stops giving metadata (it rejects requests), `bt download` says so on stderr — once per retry, and
// when it gives the peer up — instead of showing "fetching metadata" with no hint until the metadata timeout.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import Wire, { type ExtensionClass } from 'bittorrent-protocol'
import { bdecode, isDict } from '../../src/metainfo/bdecode.js'
import { bt } from '../helpers/cli.js'
import { tmpDir, randomHex } from '../helpers/tmp.js'

const sockets = new Set<net.Socket>()
let server: net.Server | undefined
test.after.each(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
})

/** A peer that advertises 40 KiB of metadata and rejects every ut_metadata request; counts the requests. */
async function rejectingPeer(infoHash: string): Promise<{ port: number; requests: () => number }> {
  let requests = 0
  class Rejecting {
    declare name: string
    constructor(private readonly wire: Wire) {
      wire.extendedHandshake.metadata_size = 40_000
    }
    onMessage(buf: Uint8Array) {
      const { value } = bdecode(buf, { allowTrailing: true })
      if (!isDict(value) || value.msg_type !== 0) return
      requests++
      this.wire.extended('ut_metadata', Buffer.from(bencode.encode({ msg_type: 2, piece: value.piece })))
    }
  }
  ;(Rejecting.prototype as { name: string }).name = 'ut_metadata'
  server = net.createServer((sock) => {
    sockets.add(sock)
    sock.on('error', () => {})
    const wire = new Wire()
    wire.on('error', () => {})
    wire.use(Rejecting as unknown as ExtensionClass)
    sock.pipe(wire).pipe(sock)
    wire.once('handshake', () => wire.handshake(infoHash, randomBytes(20)))
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return { port: (server.address() as net.AddressInfo).port, requests: () => requests }
}

test('bt download warns when a peer rejects metadata requests, and when it gives the peer up', async () => {
  const hash = randomHex()
  const peer = await rejectingPeer(hash)
  const r = await bt(['download', `magnet:?xt=urn:btih:${hash}&x.pe=127.0.0.1:${peer.port}`, '-o', tmpDir(), '--port', '0', '--no-dht', '--metadata-timeout', '16'], {
    env: { XDG_DATA_HOME: tmpDir('bt-xdg-') },
    timeoutMs: 30_000,
  })
  assert.is(r.code, 3, r.stderr) // no metadata in the end: a network error
  const retries = r.stderr.match(new RegExp(`metadata from 127\\.0\\.0\\.1:${peer.port}: peer rejected a metadata request; will retry`, 'g')) ?? []
  // Three tries 3 s and 6 s apart (±25 %), then the peer is dropped and not dialled again for 30 s. The two
  // "will retry" warnings read the same, and bt shows a repeated warning once (the three requests prove the tries).
  assert.is(retries.length, 1, r.stderr)
  assert.match(r.stderr, new RegExp(`gave up fetching metadata from 127\\.0\\.0\\.1:${peer.port}: peer rejected a metadata request`))
  assert.is(peer.requests(), 3, 'one request per try')
})

test.run()
