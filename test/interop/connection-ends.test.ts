// Why connections ended, as a Torrent counts them: a closed port (refused), a listener that closes at once (in
// handshake), one that never answers (timeout), a seeder that stops (closed), a peer that breaks the protocol
// (banned). And the CLI shows them: in --json progress events and, with -v, in the status line.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import type { ConnectionEnds, Torrent } from '../../src/session/torrent.js'
import { freePort } from '../helpers/clients.js'
import { bt } from '../helpers/cli.js'
import { startHostilePeer, type HostilePeer } from '../helpers/hostile-peer.js'
import { makeTestTorrent, seedWith, startClient, stopAll, whenDone } from '../helpers/swarm.js'
import { tmpDir, randomHex } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const servers: net.Server[] = []
const sockets = new Set<net.Socket>()
const hostiles: HostilePeer[] = []
test.after.each(async () => {
  await stopAll()
  for (const s of sockets) s.destroy()
  sockets.clear()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
  await Promise.all(hostiles.splice(0).map((h) => h.stop()))
})

/** A TCP listener on 127.0.0.1 that does `onConn` with each connection. */
async function listener(onConn: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
    s.once('close', () => sockets.delete(s))
    onConn(s)
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as net.AddressInfo).port
}

const ends = (t: Torrent): ConnectionEnds => t.stats().ends

test('refused, closed in handshake, and timed out dials are counted apart', async () => {
  const closedPort = await freePort()
  const slammer = await listener((s) => s.destroy())
  const mute = await listener(() => {}) // accepts, never says a word: the handshake times out (10 s)
  const client = await startClient()
  const t = client.add({ infoHash: randomHex() }, {
    dir: tmpDir(),
    peers: [{ host: '127.0.0.1', port: closedPort }, { host: '127.0.0.1', port: slammer }, { host: '127.0.0.1', port: mute }],
  })
  await waitFor('a refused dial and one closed in handshake', () => ends(t).refused >= 1 && ends(t).handshake >= 1, 5000)
  await waitFor('the mute peer to time out', () => ends(t).timeout >= 1, 14_000)
  const e = ends(t)
  assert.is(e.closed, 0)
  assert.is(e.banned, 0)
  assert.is(t.stats().peers, 0)
})

test('closed after the handshake, and banned', async () => {
  const tt = await makeTestTorrent([600_000], { pieceLength: 65536, seed: 71 })
  const seed = await seedWith(tt)
  const client = await startClient()
  const t = client.add(tt.metainfo, { dir: tmpDir(), peers: [{ host: '127.0.0.1', port: seed.client.port() }] })
  await whenDone(t, 15_000)
  // Done: the seeder is of no more use and the connection ends (a seed and a finished download close it).
  await waitFor('the connection to the seeder to end', () => ends(t).closed >= 1, 5000)
  assert.is(ends(t).banned, 0)

  const tt2 = await makeTestTorrent([600_000], { pieceLength: 65536, seed: 72 })
  const hostile = await startHostilePeer(tt2.metainfo, 'corrupt')
  hostiles.push(hostile)
  const t2 = client.add(tt2.metainfo, { dir: tmpDir(), peers: [{ host: '127.0.0.1', port: hostile.port }] })
  await waitFor('the corrupt peer to be banned', () => ends(t2).banned >= 1, 10_000)
  assert.is(ends(t2).closed, 0)
})

test('bt download shows why connections ended: --json progress events, and the -v status line', async () => {
  const closedPort = await freePort()
  const hash = randomHex()
  const common = ['download', `infohash:${hash}`, '-o', tmpDir(), '--port', '0', '--no-dht', '--peer', `127.0.0.1:${closedPort}`, '--metadata-timeout', '6']
  const env = { XDG_DATA_HOME: tmpDir('bt-xdg-') }
  const [json, verbose] = await Promise.all([
    bt([...common, '--json'], { env, timeoutMs: 20_000 }),
    bt([...common, '-v'], { env: { XDG_DATA_HOME: tmpDir('bt-xdg-') }, timeoutMs: 20_000 }),
  ])
  assert.is(json.code, 3, json.stderr) // no metadata: a network error
  const progress = json.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'progress')
  assert.ok(progress.length > 0, json.stdout)
  const last = progress[progress.length - 1]
  assert.ok(last.ends.refused >= 1, JSON.stringify(last))
  assert.equal(Object.keys(last.ends).sort(), ['banned', 'closed', 'encryption', 'handshake', 'refused', 'timeout'])
  assert.is(verbose.code, 3, verbose.stderr)
  assert.match(verbose.stderr, /fetching metadata: 0 peers, 1 known.*; ended: \d+ refused/)
})

test.run()
