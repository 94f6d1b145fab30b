// A peer that dials a bt seeder over uTP again from the address of a connection it already closed is admitted.
//
// Over uTP a peer dials from its listen port, so a second connection from it comes from the same address as the
// first. libtorrent (qBittorrent, Deluge) ends a uTP connection with a FIN carrying its close-reason extension, which
// utp-native's libutp ignores: the first connection lingers on bt's side, and bt used to refuse the second as a
// duplicate, so qBittorrent, which reconnects after fetching a magnet's metadata, never got the data. Here a UDP relay
// on 127.0.0.1 drops the first leecher's FIN the way libutp does (so the test does not depend on libtorrent's timing),
// and every leecher's datagrams reach the seeder from the relay's one port.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import { makeTestTorrent, seedWith, startClient, stopAll, whenDone } from '../helpers/swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const ST_FIN = 1
const ST_SYN = 4
const sockets: dgram.Socket[] = []
test.after.each(async () => {
  await stopAll()
  for (const s of sockets.splice(0)) s.close()
})

/**
 * A UDP relay: leechers send to `port`; everything reaches `target` from one other port, and each answer goes back to
 * the leecher whose connection it belongs to (by uTP connection id). Counts the FINs it dropped.
 */
async function relay(target: number): Promise<{ port: number; dropFins: (on: boolean) => void; dropped: () => number }> {
  const bind = async () => {
    const s = dgram.createSocket('udp4')
    sockets.push(s)
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
    return s
  }
  const front = await bind()
  const back = await bind()
  // The seeder's packets carry the id the leecher's SYN named; the leecher's own later packets carry that id + 1.
  const leechers = new Map<number, dgram.RemoteInfo>()
  let drop = false
  let dropped = 0
  front.on('message', (m, from) => {
    if (m.length < 20) return
    const id = m.readUInt16BE(2)
    leechers.set(m[0] >> 4 === ST_SYN ? id : (id - 1) & 0xffff, from)
    if (drop && m[0] >> 4 === ST_FIN) return void dropped++
    back.send(m, target, '127.0.0.1')
  })
  back.on('message', (m) => {
    const to = m.length >= 20 ? leechers.get(m.readUInt16BE(2)) : undefined
    if (to) front.send(m, to.port, to.address)
  })
  return { port: front.address().port, dropFins: (on) => (drop = on), dropped: () => dropped }
}

test('a leecher redialling over uTP from the address of a connection whose FIN was lost gets the data', async () => {
  const tt = await makeTestTorrent([700_000], { pieceLength: 65536, seed: 161 })
  const seed = await seedWith(tt)
  const r = await relay(seed.client.port())
  const leech = async () => {
    const client = await startClient({ tcp: false, utp: true })
    const t = client.add(tt.metainfo, { dir: tmpDir('bt-utp-redial-'), peers: [{ host: '127.0.0.1', port: r.port }] })
    await whenDone(t, 15_000)
    return { client, t }
  }

  // The first leecher finishes and leaves; its FIN never arrives, so the seeder still holds the connection.
  r.dropFins(true)
  const first = await leech()
  await first.client.destroy()
  await waitFor('the relay to drop the first leecher\'s FIN', () => r.dropped() > 0, 5000)
  assert.is(seed.torrent.stats().peers, 1, 'the seeder still holds the connection whose FIN was lost')
  r.dropFins(false)

  // A second leecher (another peer id) arrives from the same address: it replaces the stale connection at once. (Before,
  // the seeder closed each of its connections right after the handshake until the stale one timed out, if it ever did:
  // a stale connection with nothing unacknowledged lasts until the seeder's next keep-alive, 55 s on.)
  const started = Date.now()
  const second = await leech()
  const ends = second.t.stats().ends
  assert.is(ends.closed + ends.handshake + ends.timeout, 0, `the second leecher's connections ended: ${JSON.stringify(ends)}`)
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`)
  assert.is(seed.torrent.stats().peers, 1, JSON.stringify(seed.torrent.stats()))
})

test.run()
