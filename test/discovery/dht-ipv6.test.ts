// The IPv6 DHT (BEP 32) on ::1: the compact forms, `want` answered from both tables of a dual-stack client, announce
// and lookup among bt nodes, and a bare magnet fetched from a python3-libtorrent seeder on ::1 that bt finds only
// through an IPv6-only DHT of bt nodes. Loopback only: 127.0.0.1 and ::1.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import bencode from 'bencode'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DhtNode, wellFormedKrpc } from '../../src/discovery/dht.js'
import { decodePeerValues, encodeNodes, parseNodes, wantedFamilies } from '../../src/discovery/dht-family.js'
import { encodeCompactAddress, formatIPv6, ipv6Bytes, normalizeHost, parsePeerAddress } from '../../src/discovery/peer-address.js'
import { parseState, formatState } from '../../src/discovery/dht-state.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import { startDhtSwarm, watchAnnounces, type DhtSwarm } from '../helpers/dht-swarm.js'
import { within } from '../helpers/wait.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { Client } from '../../src/session/client.js'

const nodes: DhtNode[] = []
const clients: Client[] = []
let swarm: DhtSwarm | undefined
let lt: LtHandle | undefined

test.after.each(async () => {
  await Promise.allSettled([...nodes.splice(0).map((d) => d.destroy()), ...clients.splice(0).map((c) => c.destroy())])
})
test.after(async () => {
  await lt?.stop()
  await swarm?.stop()
})

function node(opts: ConstructorParameters<typeof DhtNode>[0] = {}): DhtNode {
  const d = new DhtNode({ host: '::1', bootstrap: false, ...opts })
  d.on('warning', () => {})
  nodes.push(d)
  return d
}

/** One KRPC query over UDP (either family) to a node on loopback; the replies that came within `wait` ms. */
function udpQuery(host: '127.0.0.1' | '::1', port: number, msg: unknown, wait = 300): Promise<any[]> {
  return new Promise((resolve) => {
    const s = createSocket(host === '::1' ? 'udp6' : 'udp4')
    const replies: any[] = []
    s.on('message', (buf) => {
      try { replies.push(bencode.decode(buf)) } catch {}
    })
    s.bind(0, host, () => {
      s.send(Buffer.from(bencode.encode(msg)), port, host)
      setTimeout(() => { s.close(); resolve(replies) }, wait)
    })
  })
}

test('IPv6 text and compact forms: canonical spelling, 18-byte peers, 38-byte nodes', () => {
  for (const [given, want] of [['::1', '::1'], ['0:0:0:0:0:0:0:1', '::1'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['FE80::A', 'fe80::a'], ['2001:db8::', '2001:db8::']]) {
    assert.is(formatIPv6(ipv6Bytes(given)!), want, given)
  }
  assert.is(normalizeHost('::ffff:127.0.0.1'), '127.0.0.1')
  assert.is(normalizeHost('[::1]'), '::1')
  assert.equal(parsePeerAddress('[0::1]:6881'), { host: '::1', port: 6881 })
  assert.is(parsePeerAddress('[::zz]:6881'), undefined)
  assert.is(parsePeerAddress('[::1]:0'), undefined)
  assert.is(encodeCompactAddress({ host: '::1', port: 258 })!.toString('hex'), '00000000000000000000000000000001' + '0102')
  assert.is(encodeCompactAddress({ host: '::ffff:10.0.0.1', port: 1 })!.length, 6)

  const id6 = randomBytes(20)
  const id4 = randomBytes(20)
  const mixed = [{ id: id6, host: '2001:db8::7', port: 6881 }, { id: id4, host: '10.1.2.3', port: 6882 }]
  const n6 = encodeNodes(mixed, 6)
  assert.is(n6.length, 38)
  assert.equal(parseNodes(n6, 6), [{ id: id6, host: '2001:db8::7', port: 6881 }])
  assert.equal(parseNodes(encodeNodes(mixed, 4), 4), [{ id: id4, host: '10.1.2.3', port: 6882 }])
  // Unspecified addresses, port 0 and IPv4-mapped entries are not IPv6 nodes.
  const junk = Buffer.concat([randomBytes(20), Buffer.alloc(16), Buffer.from([0, 1]), randomBytes(20), ipv6Bytes('::ffff:1.2.3.4')!, Buffer.from([0, 1])])
  assert.equal(parseNodes(junk, 6), [])

  assert.equal(wantedFamilies({ a: { want: [Buffer.from('n4'), Buffer.from('n6')] } }, 6), [4, 6])
  assert.equal(wantedFamilies({ a: { want: [Buffer.from('n9')] } }, 6), [6])
  assert.equal(wantedFamilies({ a: {} }, 4), [4])
  assert.equal(decodePeerValues([encodeCompactAddress({ host: '::1', port: 7 }), encodeCompactAddress({ host: '127.0.0.1', port: 8 }), Buffer.alloc(5)]),
    [{ host: '::1', port: 7 }, { host: '127.0.0.1', port: 8 }])

  const ok = (m: unknown) => wellFormedKrpc(Buffer.from(bencode.encode(m)))
  assert.ok(ok({ t: 'aa', y: 'r', r: { id: id4, nodes6: Buffer.alloc(38) } }))
  assert.ok(ok({ t: 'aa', y: 'q', q: 'find_node', a: { id: id4, target: id6, want: ['n4', 'n6'] } }))
  assert.not.ok(ok({ t: 'aa', y: 'r', r: { id: id4, nodes6: [1] } }))
  assert.not.ok(ok({ t: 'aa', y: 'q', q: 'find_node', a: { id: id4, target: id6, want: 'n6' } }))

  // Saved nodes: each family keeps its own.
  const saved = formatState(id4, [{ id: id6, host: '::1', port: 1, answered: Date.now() }, { id: id4, host: '127.0.0.1', port: 2, answered: Date.now() }], Date.now(), 6)
  assert.equal(parseState(saved, Date.now(), 6).nodes.map((n) => n.host), ['::1'])
  assert.equal(parseState(saved, Date.now(), 4).nodes, [])
})

test('an IPv6 swarm of bt nodes: announce and lookup over ::1, peers as 18-byte values', async () => {
  swarm = await startDhtSwarm(6, { host: '::1' })
  assert.ok(swarm.nodes.every((d) => d.family === 6 && d.nodeCount > 0), 'every node has IPv6 neighbours')
  const hash = randomBytes(20)
  const seen = watchAnnounces(swarm, hash)
  const a = node({ bootstrap: swarm.bootstrap })
  await a.listen()
  a.announce(hash, 4242)
  await within(seen(4242), 10_000, 'announce over IPv6 not stored')
  const b = node({ bootstrap: swarm.bootstrap })
  await b.listen()
  const found = await within(new Promise<PeerAddress[]>((resolve) => b.lookup(hash, resolve)), 10_000, 'lookup over IPv6 found nothing')
  assert.equal(found, [{ host: '::1', port: 4242 }])

  // The stored value on the wire is the 18-byte form.
  const [res] = await udpQuery('::1', swarm.ports[0], { t: 'g1', y: 'q', q: 'get_peers', a: { id: randomBytes(20), info_hash: hash } })
  if (res.r.values) assert.ok(res.r.values.every((v: Uint8Array) => v.length === 18), 'values are 18 bytes')
  else assert.ok(Buffer.from(res.r.nodes6).length % 38 === 0 && res.r.nodes === undefined, 'nodes6 only, no IPv4 nodes')
})

test('a dual-stack client answers want n4/n6 from both tables, and only its own family without want', async () => {
  const c = new Client({ port: 0, hosts: ['127.0.0.1', '::1'], resumeDir: join(tmpDir('bt-resume-'), 'r'), dht: { bootstrap: false, statePath: join(tmpDir('bt-dht-'), 'dht.json') } })
  clients.push(c)
  await c.listen()
  assert.ok(c.dht && c.dht6, 'both DHT nodes run')
  assert.is(c.dht!.family, 4)
  assert.is(c.dht6!.family, 6)
  // Fill each table with one node of its family that answers (a real node, pinged by addNode).
  const v4 = new DhtNode({ host: '127.0.0.1', bootstrap: false })
  v4.on('warning', () => {})
  nodes.push(v4)
  const v6 = node()
  const p4 = await v4.listen()
  const p6 = await v6.listen()
  c.dhtNode('127.0.0.1', p4)
  c.dhtNode('::ffff:127.0.0.1', p4) // an IPv4 peer's PORT message seen on a dual-stack socket: the IPv4 table
  c.dhtNode('::1', p6)
  const deadline = Date.now() + 5000
  while ((c.dht!.nodeCount < 1 || c.dht6!.nodeCount < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  assert.is(c.dht!.nodeCount, 1)
  assert.is(c.dht6!.nodeCount, 1)

  // (A node that queries us joins our table too: the asker's own address may be in the answers as well.)
  const id = randomBytes(20)
  const port6 = c.dht6!.port!
  const ports = (buf: Uint8Array, f: 4 | 6) => parseNodes(Buffer.from(buf), f).map((n) => n.port)
  const [both] = await udpQuery('::1', port6, { t: 'w1', y: 'q', q: 'find_node', a: { id, target: randomBytes(20), want: ['n4', 'n6'] } })
  assert.equal(ports(both.r.nodes, 4), [p4])
  assert.ok(ports(both.r.nodes6, 6).includes(p6))
  const [plain6] = await udpQuery('::1', port6, { t: 'w2', y: 'q', q: 'find_node', a: { id, target: randomBytes(20) } })
  assert.is(plain6.r.nodes, undefined)
  assert.ok(ports(plain6.r.nodes6, 6).includes(p6))
  const [want6over4] = await udpQuery('127.0.0.1', c.dht!.port!, { t: 'w3', y: 'q', q: 'get_peers', a: { id, info_hash: randomBytes(20), want: ['n6'] } })
  assert.is(want6over4.r.nodes, undefined)
  assert.ok(ports(want6over4.r.nodes6, 6).includes(p6))
  assert.ok(Buffer.isBuffer(Buffer.from(want6over4.r.token)), 'get_peers answered with a token')
})

test('want across families: a dual-stack client bootstrapped over IPv4 only fills its IPv6 table from nodes6 answers', async () => {
  const mk = (bootstrap: string[] | false) => {
    const c = new Client({ port: 0, hosts: ['127.0.0.1', '::1'], resumeDir: join(tmpDir('bt-resume-'), 'r'), dht: { bootstrap, statePath: join(tmpDir('bt-dht-'), 'dht.json') } })
    clients.push(c)
    return c
  }
  // S knows IPv6 nodes (x6 joined its IPv6 table by querying it); C is told only S's IPv4 address.
  const s = mk(false)
  await s.listen()
  const x6 = node({ bootstrap: [`[::1]:${s.dht6!.port}`] })
  await x6.listen()
  await within(x6.ready(), 5000, 'x6 bootstrap')
  assert.ok(s.dht6!.nodeCount >= 1, 'S has an IPv6 node')
  const c = mk([`127.0.0.1:${s.dht!.port}`])
  await c.listen()
  const deadline = Date.now() + 5000
  while (c.dht6!.nodeCount === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  const v6 = c.dht6!.krpc!.nodes.toArray().map((n) => `[${n.host}]:${n.port}`)
  assert.ok(v6.includes(`[::1]:${x6.port}`), `C's IPv6 table: ${v6.join(', ') || 'empty'}`)
})

test('a bare magnet over an IPv6-only local DHT: bt finds a libtorrent seeder on ::1 and checks every byte', async () => {
  swarm ??= await startDhtSwarm(6, { host: '::1' })
  const tt = await makeTestTorrent([2 * 1024 * 1024 + 77], { pieceLength: 65536, seed: 6 })
  const hash = Buffer.from(tt.metainfo.infoHash, 'hex')
  const seen = watchAnnounces(swarm, hash)
  lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, dhtBootstrap: swarm.bootstrap, settings: { listen_interfaces: '[::1]:0' } })
  await within(seen(lt.port), 20_000, () => `libtorrent did not announce into the IPv6 DHT:\n${lt?.log().slice(-3000) ?? ""}`)
  const out = tmpDir('bt-dl-')
  // --bind ::1: no IPv4 socket and no IPv4 DHT at all; no tracker, no x.pe.
  const r = await bt(['download', `magnet:?xt=urn:btih:${tt.metainfo.infoHash}`, '-o', out, '--bind', '::1', '-p', '0', '--dht-bootstrap', swarm.bootstrap[0], '--json'],
    { timeoutMs: 30_000, env: { XDG_DATA_HOME: tmpDir('bt-xdg-') } })
  assert.is(r.code, 0, r.stderr)
  await assertSameMd5(tt, out)
})

test.run()
