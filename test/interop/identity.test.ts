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

// A throwaway libtorrent session that dials bt and prints, from its peer log, how it names the peer (from the peer
// id) and the `v` bt sent in its extended handshake, as JSON.
const LT_CLIENT_NAMES = `
import json, re, sys, time
import libtorrent as lt
torrent, save, peer = sys.argv[1], sys.argv[2], sys.argv[3]
# TCP only, plaintext: by default libtorrent dials over uTP first and then opens with an encrypted (MSE) handshake,
# neither of which bt speaks; it falls back to plain TCP only on a later attempt, seconds on.
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
                  'enable_natpmp': False, 'allow_multiple_connections_per_ip': True,
                  'enable_outgoing_utp': False, 'enable_incoming_utp': False, 'out_enc_policy': 2,
                  'alert_mask': lt.alert.category_t.peer_log_notification})
h = ses.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
host, port = peer.rsplit(':', 1)
names, v = set(), None
for i in range(200):
    if i % 20 == 0:
        h.connect_peer((host, int(port)))
    for a in ses.pop_alerts():
        m = a.message()
        if 'received peer_id' in m:
            names.update(re.findall(r'received peer_id: [0-9a-f]+ client: (.*?) ascii:', m))
        if '<== EXTENDED_HANDSHAKE' in m:
            v = (re.findall(r"'v': '([^']*)'", m) or [None])[0]
    if v:
        break
    time.sleep(0.05)
print(json.dumps({'names': sorted(n for n in names if n != 'Unknown'), 'v': v}))
`

test('libtorrent sees the peer id as TK <version> and v as bt/<version>', async () => {
  const tt = await makeTestTorrent([300_000], { seed: 82 })
  const seed = await seedWith(tt)
  const r = await run('/usr/bin/python3', ['-c', LT_CLIENT_NAMES, tt.torrentPath, tmpDir(), seed.addr], { timeoutMs: 20_000 })
  assert.is(r.code, 0, r.stderr)
  const seen = JSON.parse(r.stdout) as { names: string[]; v: string | null }
  assert.is(seen.v, `bt/${version}`)
  // libtorrent's own table does not know TK: it shows the code and version, not another client's name.
  assert.equal(seen.names, [`TK ${version}`])
})

test.run()
