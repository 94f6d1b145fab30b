// DhtNode against dead and changed nodes (issue 17) on a local 12-node DHT: a node whose id changed behind the same
// address replaces its entry, a table full of dead nodes does not hold a lookup up, stale saved nodes are tried
// beside the bootstrap node and then forgotten, and stats() says what the node is doing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createSocket, Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DhtNode } from '../../src/discovery/dht.js'
import { formatState, parseState, STALE_AFTER } from '../../src/discovery/dht-state.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import { addLatency, setDhtLatency, startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { waitFor, within } from '../helpers/wait.js'
import { tmpDir } from '../helpers/tmp.js'

let swarm: DhtSwarm
const extra: DhtNode[] = []
const holes: Socket[] = []

function node(opts: ConstructorParameters<typeof DhtNode>[0] = {}): DhtNode {
  const d = new DhtNode({ host: '127.0.0.1', port: 0, bootstrap: swarm.bootstrap, ...opts })
  d.on('warning', () => {})
  extra.push(d)
  return d
}

/** n UDP sockets on 127.0.0.1 that read everything and answer nothing: dead DHT nodes with live addresses. */
async function blackHoles(n: number): Promise<number[]> {
  const ports: number[] = []
  for (let i = 0; i < n; i++) {
    const s = createSocket('udp4')
    s.on('message', () => {})
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
    holes.push(s)
    ports.push(s.address().port)
  }
  return ports
}

/** An id sharing the first 17 bytes with target: closer to it than any random node. */
function near(target: Buffer): Buffer {
  return Buffer.concat([target.subarray(0, 17), randomBytes(3)])
}

async function announce(hash: Buffer, port: number): Promise<void> {
  const a = node()
  await a.listen()
  const done = within(new Promise<number>((r) => a.once('announced', (_h: Buffer, n: number) => r(n))), 5000, 'announce')
  a.announce(hash, port)
  assert.ok((await done) >= 3)
}

function firstPeer(d: DhtNode, hash: Buffer, want: number, ms: number): Promise<number> {
  const t0 = performance.now()
  let cancel = () => {}
  return within(new Promise<number>((resolve) => {
    cancel = d.lookup(hash, (peers: PeerAddress[]) => {
      if (peers.some((p) => p.port === want)) resolve(performance.now() - t0)
    })
  }), ms, () => `port ${want} not found in ${ms} ms`).finally(() => cancel())
}

test.before(async () => {
  swarm = await startDhtSwarm(12)
})

test.after(async () => {
  await Promise.all(extra.map((d) => d.destroy()))
  for (const s of holes) s.close()
  await swarm?.stop()
})

test('a node that came back with a new id behind the same address replaces its old entry', async () => {
  const a = node({ bootstrap: false })
  await a.listen()
  const x1 = node({ bootstrap: false })
  const port = await x1.listen()
  const oldId = x1.nodeId!
  a.dht!.addNode({ id: oldId, host: '127.0.0.1', port })
  assert.is(a.nodeCount, 1)
  await x1.destroy()
  const x2 = node({ bootstrap: false, port })
  await x2.listen()
  const newId = x2.nodeId!
  assert.not.ok(newId.equals(oldId))
  // Any walk asks the one node it knows; the answer comes from the new id.
  await within(new Promise<void>((r) => a.dht!.lookup(randomBytes(20), () => r())), 3000, 'lookup')
  const at = a.krpc!.nodes.toArray().filter((n) => n.port === port)
  assert.is(at.length, 1, 'one entry for the address')
  assert.ok(at[0].id.equals(newId), 'the new id')
})

test('a table full of dead nodes closer than any live one does not hold a lookup up; they are evicted', async () => {
  const hash = randomBytes(20)
  await announce(hash, 4101)
  const d = node()
  await d.listen()
  await d.ready()
  const live = d.nodeCount
  // They all fall in one k-bucket (20 places); if it overflows, bittorrent-dht pings and swaps in the rest later.
  const dead = await blackHoles(15)
  for (const port of dead) d.dht!.addNode({ id: near(hash), host: '127.0.0.1', port })
  const deadIn = d.krpc!.nodes.toArray().filter((n) => dead.includes(n.port)).map((n) => n.port)
  assert.ok(deadIn.length >= 10, `only ${deadIn.length} dead nodes in a table of ${d.nodeCount} (${live} live)`)
  assert.ok(d.krpc!.nodes.closest(hash, 8).every((n) => dead.includes(n.port)), 'the closest are dead')
  // k-rpc's walk asked the 16 closest (all dead), waited 2 s, asked the next 16, …; ours widens after each soft timeout.
  const ms = await firstPeer(d, hash, 4101, 2500)
  assert.ok(ms < 2000, `found after ${ms.toFixed(0)} ms`)
  // Each dead node the lookup asked is dropped at its first hard timeout (2 s).
  await waitFor('dead nodes evicted', () => !d.krpc!.nodes.toArray().some((n) => deadIn.includes(n.port)), 6000)
  assert.ok(d.stats().timeouts >= 10)
})

test('stale saved nodes: tried beside the bootstrap node, the dead forgotten, too-old ones not even tried', async () => {
  const hash = randomBytes(20)
  await announce(hash, 4102)
  const dir = tmpDir()
  const statePath = join(dir, 'dht.json')
  const dead = await blackHoles(12)
  const hour = 3600_000
  const nodes = [
    ...dead.map((port, i) => ({ id: near(hash).toString('hex'), host: '127.0.0.1', port, answered: Date.now() - (i + 1) * hour })),
    { id: randomBytes(20).toString('hex'), host: '127.0.0.1', port: 9, answered: Date.now() - 8 * 24 * hour }, // a week+ old
  ]
  writeFileSync(statePath, JSON.stringify({ version: 2, id: randomBytes(20).toString('hex'), nodes }))
  const d = node({ statePath })
  await d.listen()
  assert.is(d.stats().candidates + d.stats().inflight >= 12, true)
  // The explicit bootstrap node is asked whatever the saved table holds, and the lookup goes on through it.
  const ms = await firstPeer(d, hash, 4102, 3000)
  assert.ok(ms < 1500, `found after ${ms.toFixed(0)} ms`)
  // Every saved node gets its ping (or walk query) and, silent, is dropped; the save keeps only nodes that answered.
  await waitFor('saved nodes tried', () => d.stats().candidates === 0, 8000)
  await waitFor('queries to dead nodes timed out', () => d.stats().inflight === 0, 8000)
  await d.save()
  const saved = JSON.parse(readFileSync(statePath, 'utf8'))
  assert.is(saved.version, 2)
  assert.ok(saved.nodes.length >= 5, `saved ${saved.nodes.length}`)
  for (const n of saved.nodes) {
    assert.ok(!dead.includes(n.port) && n.port !== 9, `dead node ${n.port} saved`)
    assert.ok(swarm.nodes.some((s) => s.port === n.port) || extra.some((e) => e.port === n.port), `unknown node ${n.port}`)
    assert.ok(Date.now() - n.answered < 60_000)
  }
})

test('an explicit bootstrap node is asked even when the saved table is good', async () => {
  const statePath = join(tmpDir(), 'dht.json')
  const first = node({ statePath })
  await first.listen()
  await first.ready()
  await first.destroy()
  const saved = JSON.parse(readFileSync(statePath, 'utf8')).nodes
  assert.ok(saved.length >= 10, `saved ${saved.length}`)
  const router = node({ bootstrap: false })
  const routerPort = await router.listen()
  const asked: string[] = []
  router.krpc!.on('query', (q: { q: Buffer }) => asked.push(q.q.toString()))
  const again = node({ statePath, bootstrap: [`127.0.0.1:${routerPort}`] })
  await again.listen()
  await again.ready()
  assert.ok(asked.length >= 1, 'the bootstrap node was asked')
  assert.ok(again.nodeCount >= 10)
})

test('on start the saved nodes and the bootstrap node are asked together, before any answer arrives', async () => {
  const statePath = join(tmpDir(), 'dht.json')
  const first = node({ statePath })
  await first.listen()
  await first.ready()
  await first.destroy()
  const savedPorts = new Set<number>(JSON.parse(readFileSync(statePath, 'utf8')).nodes.map((n: { port: number }) => n.port))
  assert.ok(savedPorts.size >= 8, `saved ${savedPorts.size}`)
  const router = node({ bootstrap: false })
  const routerPort = await router.listen()
  addLatency(router)
  // Every answer (swarm nodes and router) leaves 100 ms late: what the node sends before then, it sent without
  // waiting for anyone. Destination ports of the datagrams our node sends, in order, up to its first answer.
  setDhtLatency(100)
  const sent: Array<{ from: number; to: number }> = []
  const send = Socket.prototype.send
  Socket.prototype.send = function (this: Socket, ...args: any[]) {
    try { sent.push({ from: this.address().port, to: Number(args.length >= 5 ? args[3] : args[1]) }) } catch {}
    return (send as any).apply(this, args)
  } as typeof send
  let before: number[] = []
  try {
    const d = node({ statePath, bootstrap: [`127.0.0.1:${routerPort}`] })
    const port = await d.listen()
    await within(new Promise<void>((resolve) => d.krpc!.socket.socket.once('message', () => resolve())), 3000, 'no answer')
    before = sent.filter((x) => x.from === port).map((x) => x.to)
  } finally {
    Socket.prototype.send = send
    setDhtLatency(0)
  }
  assert.ok(before.includes(routerPort), `the bootstrap node was not asked first: ${before}`)
  const saved = before.filter((p) => savedPorts.has(p))
  assert.ok(saved.length >= 2, `saved nodes asked beside it: ${saved.length} of ${before.length}`)
})

test('state file: freshest first, one entry per address, version 1 files read, silent and stale nodes not written', () => {
  const now = 1_800_000_000_000
  const id = (c: string) => c.repeat(40)
  const v1 = JSON.stringify({ version: 1, id: id('a'), nodes: [
    { id: id('b'), host: '10.0.0.1', port: 1 },
    { id: id('c'), host: '10.0.0.1', port: 1 }, // a second id for the same address: the first one wins
    { id: 'zz', host: '10.0.0.2', port: 2 },
    { id: id('d'), host: '::1', port: 3 },
  ] })
  const a = parseState(v1, now)
  assert.is(a.id!.toString('hex'), id('a'))
  assert.equal(a.nodes.map((n) => [n.id.toString('hex'), n.answered]), [[id('b'), 0]])
  const v2 = JSON.stringify({ version: 2, id: id('a'), nodes: [
    { id: id('1'), host: '10.0.0.1', port: 1, answered: now - 3000 },
    { id: id('2'), host: '10.0.0.2', port: 2, answered: now - 1000 },
    { id: id('3'), host: '10.0.0.3', port: 3, answered: now - STALE_AFTER - 1 },
    { id: id('4'), host: '10.0.0.4', port: 4, answered: now + 60_000 }, // from the future: clamped to now
  ] })
  const b = parseState(v2, now)
  assert.equal(b.nodes.map((n) => [n.port, n.answered]), [[4, now], [2, now - 1000], [1, now - 3000]])
  const out = JSON.parse(formatState(Buffer.from(id('a'), 'hex'), [
    ...b.nodes,
    { id: Buffer.from(id('5'), 'hex'), host: '10.0.0.5', port: 5, answered: 0 }, // never answered
  ], now))
  assert.equal(out.nodes.map((n: any) => n.port), [4, 2, 1])
  assert.throws(() => parseState('{oops', now))
})

test('stats(): table size, nodes answering, lookups and queries in flight', async () => {
  const d = node()
  const before = d.stats()
  assert.equal([before.nodes, before.lookups, before.inflight], [0, 0, 0])
  await d.listen()
  await d.ready()
  const s = d.stats()
  assert.ok(s.nodes >= 8, JSON.stringify(s))
  assert.ok(s.answering >= 8 && s.answering <= s.nodes, JSON.stringify(s))
  assert.ok(s.sent >= s.answers && s.answers >= 8, JSON.stringify(s))
  const cancel = d.lookup(randomBytes(20), () => {})
  await new Promise((r) => setImmediate(r))
  assert.ok(d.stats().lookups >= 1, 'a lookup in flight')
  assert.ok(d.stats().inflight >= 1, 'queries in flight')
  await waitFor('lookup over', () => d.stats().lookups === 0, 3000)
  cancel()
})

test.run()
