// A bt leecher that knows only an info hash, next to a peer that lies about the metadata (a 1 GB metadata_size, or an
// info dict that does not hash to the info hash) and an honest bt seeder: the metadata must come from the honest one,
// the liar must be dropped, memory must stay small; and `bt download --metadata-timeout` ends a hopeless magnet.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import Wire, { type ExtensionClass } from 'bittorrent-protocol'
import { bdecode, isDict } from '../../src/metainfo/bdecode.js'
import { METADATA_PIECE_SIZE } from '../../src/wire/metadata.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import type { Torrent } from '../../src/session/torrent.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { bt } from '../helpers/cli.js'
import { assertSameFiles, makeTestTorrent, seedWith, startClient, stopAll, whenDone } from '../helpers/swarm.js'

const MiB = 1024 * 1024
const GB = 1_000_000_000

type LiarMode =
  /** Advertises metadata_size 1 GB; answers any request (and volunteers piece 0) with 16 KiB claiming 1 GB total. */
  | 'huge-size'
  /** Advertises the right size and serves `fakeInfo` (same length, other bytes) for every request. */
  | 'wrong-info'
  /** Advertises the right size and never answers a request. */
  | 'silent'

interface LiarStats {
  handshakes: number
  closed: number
  /** ut_metadata requests received. */
  requests: number
  /** ut_metadata data messages sent. */
  piecesSent: number
}

interface Liar {
  addr: PeerAddress
  stats: LiarStats
  stop(): Promise<void>
}

const stoppers: Array<() => Promise<void>> = []
test.after.each(async () => {
  await stopAll()
  await Promise.allSettled(stoppers.splice(0).map((s) => s()))
})

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  })
}

/** A peer (bittorrent-protocol and a scripted ut_metadata) that handshakes for `infoHashHex` and lies as `mode` says. */
async function startLiar(infoHashHex: string, mode: LiarMode, info: { length: number; fake?: Buffer }): Promise<Liar> {
  const stats: LiarStats = { handshakes: 0, closed: 0, requests: 0, piecesSent: 0 }
  const sockets = new Set<net.Socket>()
  const filler = randomBytes(METADATA_PIECE_SIZE)
  const advertised = mode === 'huge-size' ? GB : info.length

  const send = (wire: Wire, piece: number) => {
    let payload: Uint8Array
    if (mode === 'wrong-info') {
      const start = piece * METADATA_PIECE_SIZE
      payload = info.fake!.subarray(start, start + METADATA_PIECE_SIZE)
    } else payload = filler
    const head = Buffer.from(bencode.encode({ msg_type: 1, piece, total_size: advertised }))
    try {
      wire.extended('ut_metadata', Buffer.concat([head, payload]))
      stats.piecesSent++
    } catch {}
  }

  class LyingMetadata {
    declare name: string
    constructor(private readonly wire: Wire) {
      wire.extendedHandshake.metadata_size = advertised
    }
    onExtendedHandshake() {
      // Unasked-for data claiming the huge size, should the leecher still be listening (bt drops the connection as
      // soon as it reads our handshake, usually before its own extended handshake, which this needs, has gone out).
      if (mode === 'huge-size') send(this.wire, 0)
    }
    onMessage(buf: Uint8Array) {
      let msg
      try { msg = bdecode(buf, { allowTrailing: true }).value } catch { return }
      if (!isDict(msg) || msg.msg_type !== 0 || typeof msg.piece !== 'number') return
      stats.requests++
      if (mode !== 'silent') send(this.wire, msg.piece)
    }
  }
  ;(LyingMetadata.prototype as { name: string }).name = 'ut_metadata'

  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => {
      sockets.delete(socket)
      stats.closed++
    })
    const wire = new Wire()
    wire.on('error', () => {})
    wire.use(LyingMetadata as unknown as ExtensionClass)
    socket.pipe(wire).pipe(socket)
    wire.once('handshake', (infoHash: string) => {
      if (infoHash !== infoHashHex) return socket.destroy()
      stats.handshakes++
      wire.handshake(infoHashHex, Buffer.concat([Buffer.from('-LI0001-'), randomBytes(12)]), { dht: false })
    })
  })
  const port = await listen(server)
  const stop = async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  stoppers.push(stop)
  return { addr: { host: '127.0.0.1', port }, stats, stop }
}

/**
 * A TCP relay to `port` that connects only `delayMs` after a client arrives: the honest seeder answers after the liar
 * has had its say, so the liar's metadata is judged (not just outrun by the honest peer's).
 */
async function startDelayedRelay(port: number, delayMs: number): Promise<PeerAddress> {
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket) => {
    sockets.add(s)
    s.on('error', () => {})
    s.once('close', () => sockets.delete(s))
  }
  const server = net.createServer((client) => {
    track(client)
    client.pause()
    const timer = setTimeout(() => {
      const upstream = net.connect({ host: '127.0.0.1', port })
      track(upstream)
      upstream.once('connect', () => {
        client.pipe(upstream).pipe(client)
        client.resume()
      })
      upstream.once('close', () => client.destroy())
      client.once('close', () => upstream.destroy())
    }, delayMs)
    client.once('close', () => clearTimeout(timer))
  })
  const relayPort = await listen(server)
  stoppers.push(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { host: '127.0.0.1', port: relayPort }
}

/** Highest RSS seen between start and stop, sampled every 20 ms. */
function rssWatch() {
  const base = process.memoryUsage().rss
  let max = base
  const timer = setInterval(() => { max = Math.max(max, process.memoryUsage().rss) }, 20)
  return () => {
    clearInterval(timer)
    return Math.max(max, process.memoryUsage().rss) - base
  }
}


interface Outcome {
  liar: Liar
  leech: Torrent
  warnings: string[]
  /** RSS growth of this process (seeder, liar and leecher) over the run. */
  rssGrowth: number
  ms: number
}

/** Honest bt seeder behind a 400 ms relay, a liar, and a bt leecher given the bare info hash and both (liar first). */
async function scenario(mode: LiarMode, seed: number, fakeFrom?: 'other-torrent' | 'flipped'): Promise<Outcome> {
  const size = 14 * MiB + 777
  const tt = await makeTestTorrent([size], { pieceLength: 16384, seed })
  const realInfo = tt.metainfo.infoBuffer
  // 16 KiB pieces: the info dict holds 897 piece hashes, two metadata pieces (the last one partial).
  assert.is(Math.ceil(realInfo.length / METADATA_PIECE_SIZE), 2)
  let fake: Buffer | undefined
  if (fakeFrom === 'other-torrent') {
    // Same name, size and piece length, other bytes: an info dict of the same length that hashes elsewhere.
    fake = (await makeTestTorrent([size], { pieceLength: 16384, seed: seed + 1000 })).metainfo.infoBuffer
    assert.is(fake.length, realInfo.length)
    assert.not.ok(fake.equals(realInfo))
  } else if (fakeFrom === 'flipped') {
    fake = Buffer.from(realInfo)
    fake[fake.length - 100] ^= 0x20 // inside the piece hashes of the second metadata piece
  }
  const honest = await seedWith(tt)
  const relay = await startDelayedRelay(honest.client.port(), 400)
  const liar = await startLiar(tt.metainfo.infoHash, mode, { length: realInfo.length, fake })
  const client = await startClient()
  const dir = tmpDir()
  const warnings: string[] = []
  global.gc?.()
  const rss = rssWatch()
  const started = Date.now()
  const leech = client.add({ infoHash: tt.metainfo.infoHash }, { dir, peers: [liar.addr, relay] })
  leech.on('warning', (w: string) => warnings.push(w))
  try {
    await whenDone(leech, 15_000)
  } catch (err) {
    rss()
    throw new Error(`${(err as Error).message}\nwarnings: ${warnings.join(' | ')}\nliar: ${JSON.stringify(liar.stats)}`)
  }
  const ms = Date.now() - started
  const rssGrowth = rss()
  assert.ok(leech.metainfo!.infoBuffer.equals(realInfo), 'the metadata is the real info dict')
  assertSameFiles(tt, dir)
  assert.ok(honest.torrent.stats().uploaded >= size, 'the data came from the honest seeder')
  console.error(`  ${mode}${fakeFrom ? ` (${fakeFrom})` : ''}: done in ${ms} ms, RSS +${(rssGrowth / MiB).toFixed(1)} MiB, liar ${JSON.stringify(liar.stats)}`)
  return { liar, leech, warnings, rssGrowth, ms }
}

/** The liar was banned for its metadata, its connection is closed, and it is not dialled again. */
async function assertLiarDropped(o: Outcome, reason: RegExp): Promise<void> {
  const key = `127.0.0.1:${o.liar.addr.port}`
  const ban = o.warnings.find((w) => w.includes('banned') && w.includes(key))
  assert.ok(ban, `the leecher banned ${key}; warnings: ${o.warnings.join(' | ')}`)
  assert.match(ban!, /bad metadata/)
  assert.match(ban!, reason)
  await waitFor('the liar\'s connection to close', () => o.liar.stats.closed >= o.liar.stats.handshakes, 2000)
  assert.ok(o.liar.stats.handshakes >= 1, 'the leecher did talk to the liar')
  const handshakes = o.liar.stats.handshakes
  // The leecher ticks every second and re-dials candidates after 5 s; a banned address is no candidate.
  await new Promise((r) => setTimeout(r, 1200))
  assert.is(o.liar.stats.handshakes, handshakes, 'a banned peer is not dialled again')
  assert.not.ok(o.leech.peers.has(key))
}

test('metadata_size of 1 GB: nothing requested, nothing like 1 GB allocated, liar banned, download completes', async () => {
  const o = await scenario('huge-size', 41)
  assert.is(o.liar.stats.requests, 0, 'no ut_metadata request went to a peer advertising 1 GB')
  assert.ok(o.rssGrowth < 64 * MiB, `RSS grew by ${(o.rssGrowth / MiB).toFixed(1)} MiB`)
  await assertLiarDropped(o, /metadata_size 1000000000/)
  assert.ok(o.ms < 8000, `took ${o.ms} ms`)
})

test('metadata of another torrent (same length): rejected by hash, liar banned, real metadata from the seeder', async () => {
  const o = await scenario('wrong-info', 42, 'other-torrent')
  // The liar answered every request for the whole dict before the honest seeder was even reachable.
  assert.ok(o.liar.stats.requests >= 2, `liar saw ${o.liar.stats.requests} requests`)
  assert.ok(o.liar.stats.piecesSent >= 2)
  assert.ok(o.rssGrowth < 64 * MiB, `RSS grew by ${(o.rssGrowth / MiB).toFixed(1)} MiB`)
  await assertLiarDropped(o, /does not match the info hash/)
  assert.ok(o.ms < 8000, `took ${o.ms} ms`)
})

test('metadata with one flipped bit: rejected by hash, liar banned, download completes', async () => {
  const o = await scenario('wrong-info', 43, 'flipped')
  // Usually the liar sends both pieces; on a loaded machine its plain redial (after the encrypted dial it does not
  // speak) can let the honest seeder answer piece 0 first. Either way the liar's piece 1 carries the flipped bit.
  assert.ok(o.liar.stats.piecesSent >= 1, `liar sent ${o.liar.stats.piecesSent} pieces`)
  await assertLiarDropped(o, /does not match the info hash/)
  assert.ok(o.ms < 8000, `took ${o.ms} ms`)
})

test('bt download --metadata-timeout 2 with only a peer that never sends metadata: exit 3, one line naming the timeout', async () => {
  const tt = await makeTestTorrent([200_000], { pieceLength: 32768, seed: 44 })
  const liar = await startLiar(tt.metainfo.infoHash, 'silent', { length: tt.metainfo.infoBuffer.length })
  const home = tmpDir()
  const out = tmpDir()
  const started = Date.now()
  const r = await bt(['download', `magnet:?xt=urn:btih:${tt.metainfo.infoHash}`, '--metadata-timeout', '2', '--no-dht', '--port', '0',
    '--peer', `127.0.0.1:${liar.addr.port}`, '-o', out], { env: { XDG_DATA_HOME: home, XDG_CONFIG_HOME: home }, timeoutMs: 20_000 })
  const secs = (Date.now() - started) / 1000
  assert.is(r.code, 3, `exit code ${r.code}; stderr: ${r.stderr}`)
  const lines = r.stderr.trim().split('\n')
  assert.is(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`)
  assert.match(lines[0], /^bt: .*no metadata after 2 s/)
  assert.ok(secs >= 2 && secs < 8, `exited after ${secs.toFixed(1)} s`)
  // It did reach the peer and ask (the timeout is about metadata, not about finding no one).
  assert.ok(liar.stats.handshakes >= 1 && liar.stats.requests >= 1, JSON.stringify(liar.stats))
})

test.run()
