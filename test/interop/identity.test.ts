// How bt introduces itself: an Azureus-style peer id with the client code TK (no known client uses it; mainline's BT
// made other clients show bt as "BitTorrent 0.1.0"), and `v` = bt/<version> in the BEP 10 extended handshake. Seen
// from a plain bittorrent-protocol wire, and from libtorrent, which names the peer from `v`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Wire from 'bittorrent-protocol'
import { makePeerId, clientName, CLIENT_CODE } from '../../src/session/identity.js'
import { makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'
import { run } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { within } from '../helpers/wait.js'

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
test.after.each(async () => {
  await stopAll()
})

test('makePeerId: -TK, four version characters, -, 12 random bytes', () => {
  const id = makePeerId('0.1.0')
  assert.is(id.length, 20)
  assert.is(id.subarray(0, 8).toString(), '-TK0100-')
  assert.is(makePeerId('1.12.3').subarray(0, 8).toString(), '-TK1C30-')
  assert.is(makePeerId('2').subarray(0, 8).toString(), '-TK2000-')
  assert.not.equal(makePeerId('0.1.0').subarray(8), id.subarray(8))
  assert.is(CLIENT_CODE, 'TK')
  assert.is(clientName(), `bt/${version}`)
})

test('a bt seeder handshakes as -TK<version>- and sends v = bt/<version>', async () => {
  const tt = await makeTestTorrent([100_000], { seed: 81 })
  const seed = await seedWith(tt)
  const sock = net.connect(seed.client.port(), '127.0.0.1')
  sock.on('error', () => {})
  const wire = new Wire()
  sock.pipe(wire).pipe(sock)
  try {
    const ext = new Promise<Record<string, any>>((resolve) => wire.on('extended', (name: string, data: any) => name === 'handshake' && resolve(data)))
    const hs = new Promise<string>((resolve) => wire.once('handshake', (_ih: string, peerId: string) => resolve(peerId)))
    wire.handshake(tt.metainfo.infoHash, randomBytes(20))
    const peerId = Buffer.from(await within(hs, 5000, 'handshake'), 'hex')
    const digits = version.split('.').map(Number).concat(0).slice(0, 4).join('')
    assert.is(peerId.subarray(0, 8).toString(), `-TK${digits}-`)
    const data = await within(ext, 5000, 'extended handshake')
    assert.is(Buffer.from(data.v).toString(), `bt/${version}`)
    assert.ok(data.reqq >= 2000, `reqq ${data.reqq}`)
  } finally {
    sock.destroy()
    wire.destroy()
  }
})

// A throwaway libtorrent session that dials bt and prints what it calls each peer (peer_info.client), as JSON.
const LT_CLIENT_NAMES = `
import json, sys, time
import libtorrent as lt
torrent, save, peer = sys.argv[1], sys.argv[2], sys.argv[3]
# TCP only: libtorrent dials over uTP first, which bt does not speak, and waits for that to fail.
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
                  'enable_natpmp': False, 'allow_multiple_connections_per_ip': True,
                  'enable_outgoing_utp': False, 'enable_incoming_utp': False})
h = ses.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
host, port = peer.rsplit(':', 1)
names = []
# Poll often: libtorrent finishes 300 KB in milliseconds, and two seeds then drop the connection.
for i in range(1000):
    if i % 50 == 0:
        h.connect_peer((host, int(port)))
    names = [p.client for p in h.get_peer_info()]
    if any(names):
        break
    time.sleep(0.01)
print(json.dumps([n.decode() if isinstance(n, bytes) else n for n in names]))
`

test('libtorrent names a bt peer bt/<version>', async () => {
  const tt = await makeTestTorrent([300_000], { seed: 82 })
  const seed = await seedWith(tt)
  const r = await run('/usr/bin/python3', ['-c', LT_CLIENT_NAMES, tt.torrentPath, tmpDir(), seed.addr], { timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout), [`bt/${version}`])
})

test.run()
