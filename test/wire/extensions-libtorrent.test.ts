// ut_metadata and ut_pex against python3-libtorrent on 127.0.0.1: we fetch the info dict from a libtorrent seeder,
// a libtorrent magnet leecher fetches it from us, and libtorrent's PEX tells us about its other peers.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Wire, { type ExtensionClass } from 'bittorrent-protocol'
import { metadataExtension } from '../../src/wire/metadata.js'
import { pexExtension } from '../../src/wire/pex.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent, type Metainfo } from '../../src/metainfo/metainfo.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { within } from '../helpers/wait.js'

let dir: string
let torrentPath: string
let meta: Metainfo
let hash: Buffer
const cleanups: Array<() => Promise<void> | void> = []

test.before(async () => {
  dir = tmpDir()
  const root = join(dir, 'seed', 'album')
  mkdirSync(root, { recursive: true })
  // Enough files for an info dict of several metadata pieces.
  for (let i = 0; i < 400; i++) writeRandomFile(join(root, `${String(i).padStart(3, '0')} some long file name for metadata.dat`), 1000 + i, i + 1)
  const bytes = await createTorrent(root, { pieceLength: 16384 })
  torrentPath = join(dir, 'album.torrent')
  writeFileSync(torrentPath, bytes)
  meta = parseTorrent(bytes)
  hash = Buffer.from(meta.infoHash, 'hex')
  assert.ok(meta.infoBuffer.length > 16384, `info dict of ${meta.infoBuffer.length} bytes`)
})

test.after(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function lt(opts: Parameters<typeof startLibtorrent>[0]): Promise<LtHandle> {
  const h = await startLibtorrent(opts)
  cleanups.push(() => h.stop())
  return h
}

function dial(port: number, exts: ExtensionClass[], listenPort?: number): Wire {
  const sock: Socket = connect(port, '127.0.0.1')
  sock.on('error', () => {})
  const wire = new Wire()
  sock.pipe(wire).pipe(sock)
  for (const e of exts) wire.use(e)
  if (listenPort) wire.extendedHandshake.p = listenPort
  wire.handshake(hash, Buffer.concat([Buffer.from('-BT0001-'), randomBytes(12)]))
  cleanups.push(() => { sock.destroy(); wire.destroy() })
  return wire
}

let seeder: LtHandle

test('we fetch the info dict from a libtorrent seeder with ut_metadata', async () => {
  seeder = await lt({ torrentPath, saveDir: join(dir, 'seed'), seed: true })
  let bad = ''
  const info = await within(new Promise<Buffer>((resolve) => {
    dial(seeder.port, [metadataExtension({
      infoHash: hash,
      getInfo: () => undefined,
      onMetadata: (buf) => resolve(buf),
      onBadMetadata: (_w, reason) => { bad = reason },
      onGiveUp: (_w, reason) => { bad = reason },
    })])
  }), 10_000, () => `no metadata from libtorrent (${bad})`)
  assert.ok(info.equals(meta.infoBuffer))
})

test('a libtorrent magnet leecher fetches the info dict from us', async () => {
  const wires: Wire[] = []
  const server = createServer((sock) => {
    sock.on('error', () => {})
    const wire = new Wire()
    wires.push(wire)
    sock.pipe(wire).pipe(sock)
    wire.use(metadataExtension({ infoHash: hash, getInfo: () => meta.infoBuffer, onMetadata: () => {} }))
    wire.once('handshake', () => wire.handshake(hash, Buffer.concat([Buffer.from('-BT0001-'), randomBytes(12)])))
    cleanups.push(() => { sock.destroy(); wire.destroy() })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as { port: number }).port
  mkdirSync(join(dir, 'leech'))
  const leecher = await lt({ magnet: `magnet:?xt=urn:btih:${meta.infoHash}`, saveDir: join(dir, 'leech'), peers: [`127.0.0.1:${port}`] })
  const deadline = Date.now() + 15_000
  while (!/"ev": "metadata"/.test(leecher.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  assert.match(leecher.log(), /"ev": "metadata"/)
  assert.ok(wires.length >= 1)
})

test('libtorrent PEX tells us about another peer it is connected to', async () => {
  // Peer X connects first and tells libtorrent its listen port in the extended handshake (`p`); libtorrent's next
  // PEX message to our wire should name 127.0.0.1:<that port>.
  const xPort = 40000 + Math.floor(Math.random() * 20000)
  dial(seeder.port, [pexExtension({ onPeers: () => {} })], xPort)
  await new Promise((r) => setTimeout(r, 300))
  const seen: PeerAddress[] = []
  await within(new Promise<void>((resolve) => {
    dial(seeder.port, [pexExtension({
      onPeers: (peers) => {
        seen.push(...peers)
        if (peers.some((p) => p.host === '127.0.0.1' && p.port === xPort)) resolve()
      },
    })])
  }), 20_000, () => `libtorrent's PEX did not name 127.0.0.1:${xPort}; saw ${JSON.stringify(seen)}`)
})

test.run()
