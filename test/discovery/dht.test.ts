// DhtNode on a local 20-node DHT (127.0.0.1 only): announce/lookup, saved routing tables, hostile datagrams.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import bencode from 'bencode'
import { DhtNode, wellFormedKrpc } from '../../src/discovery/dht.js'
import type { PeerAddress } from '../../src/discovery/peer-address.js'
import { addLatency, setDhtLatency, startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { tmpDir } from '../helpers/tmp.js'
import { within } from '../helpers/wait.js'

let swarm: DhtSwarm
const extra: DhtNode[] = []

function node(opts: ConstructorParameters<typeof DhtNode>[0] = {}): DhtNode {
  const d = new DhtNode({ host: '127.0.0.1', port: 0, bootstrap: swarm.bootstrap, ...opts })
  extra.push(d)
  // Every node's sends obey setDhtLatency (0 but in the timing test).
  const listen = d.listen.bind(d)
  d.listen = async () => {
    const port = await listen()
    if (!latencyAdded.has(d)) { latencyAdded.add(d); addLatency(d) }
    return port
  }
  return d
}
const latencyAdded = new WeakSet<DhtNode>()

/** Resolves with the first batch that contains `want`, collecting everything seen until then. */
function findPeer(d: DhtNode, hash: Buffer, want: PeerAddress, ms: number): Promise<{ seen: PeerAddress[]; cancel: () => void }> {
  const seen: PeerAddress[] = []
  let cancel = () => {}
  const p = new Promise<{ seen: PeerAddress[]; cancel: () => void }>((resolve) => {
    cancel = d.lookup(hash, (peers) => {
      seen.push(...peers)
      if (peers.some((x) => x.host === want.host && x.port === want.port)) resolve({ seen, cancel })
    })
  })
  return within(p, ms, () => `lookup did not find ${want.host}:${want.port} (saw ${JSON.stringify(seen)})`).finally(cancel)
}

function announced(d: DhtNode, hash: Buffer, ms = 5000): Promise<number> {
  return within(new Promise<number>((resolve) => {
    const on = (h: Buffer, n: number) => {
      if (!h.equals(hash)) return
      d.off('announced', on)
      resolve(n)
    }
    d.on('announced', on)
  }), ms, 'announce did not complete')
}

test.before(async () => {
  swarm = await startDhtSwarm(20)
})

test.after(async () => {
  await Promise.all(extra.map((d) => d.destroy()))
  await swarm?.stop()
})

test('swarm: every node knows most of the others', () => {
  assert.is(swarm.nodes.length, 20)
  assert.match(swarm.bootstrap[0], /^127\.0\.0\.1:\d+$/)
  for (const d of swarm.nodes) assert.ok(d.nodeCount >= 10, `node knows only ${d.nodeCount} nodes`)
})

test('announce on one node, lookup from another finds address and port within seconds', async () => {
  const a = node()
  const b = node()
  await a.listen()
  await b.listen()
  const hash = randomBytes(20)
  const started = Date.now()
  const done = announced(a, hash)
  a.announce(hash, 51413)
  const reached = await done
  assert.ok(reached >= 5, `announce reached only ${reached} nodes`)
  const { seen } = await findPeer(b, hash, { host: '127.0.0.1', port: 51413 }, 5000)
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
  // Only what was announced: nothing invented, no duplicates within a round.
  assert.equal(seen, [{ host: '127.0.0.1', port: 51413 }])
  // Another info hash stays empty.
  const other: PeerAddress[] = []
  const cancel = b.lookup(randomBytes(20), (p) => other.push(...p))
  await new Promise((r) => setTimeout(r, 300))
  cancel()
  assert.equal(other, [])
})

test('lookup and announce given before listen() start once the socket is bound', async () => {
  const a = node()
  const b = node()
  const hash = randomBytes(20)
  const done = announced(a, hash)
  a.announce(hash, 6001)
  const found = findPeer(b, hash, { host: '127.0.0.1', port: 6001 }, 8000)
  await a.listen()
  await done
  await b.listen()
  await found
})

test('saved routing table: a restart finds peers without bootstrap, with the same id, at least as fast as a fresh bootstrap', async () => {
  const dir = tmpDir()
  const statePath = join(dir, 'sub', 'dht.json')
  const hash = randomBytes(20)
  const seeder = node()
  await seeder.listen()
  const done = announced(seeder, hash)
  seeder.announce(hash, 7777)
  await done

  const first = node({ statePath })
  await first.listen()
  await first.ready()
  const id = first.nodeId!.toString('hex')
  assert.ok(first.nodeCount >= 10)
  await first.destroy()
  assert.ok(existsSync(statePath))
  const saved = JSON.parse(readFileSync(statePath, 'utf8'))
  assert.is(saved.id, id)
  assert.ok(saved.nodes.length >= 10, `saved ${saved.nodes.length} nodes`)
  assert.ok(saved.nodes.every((n: any) => n.host === '127.0.0.1' && /^[0-9a-f]{40}$/.test(n.id)))
  assert.ok(saved.nodes.every((n: any) => n.answered > Date.now() - 60_000 && n.answered <= Date.now()), 'each node saved with when it answered')

  // Time from listen() to the seeder's address: fresh (bootstrap node only), restarted (saved table only) and
  // restarted with the bootstrap node too (the usual start: both at once), alternating, five of each. Every datagram
  // is delayed by LATENCY ms, so a round trip costs 2 × LATENCY and times count round trips: a fresh start needs one
  // more (the bootstrap node's answer) than a restart whose saved nodes are close to the hash. The assertion allows
  // half a round trip of noise, so a loaded machine does not decide it. The fresh nodes bootstrap from a node that
  // joined after the announce, as a public router that stores no peers.
  const LATENCY = 40
  const router = node()
  const routerPort = await router.listen()
  await router.ready()
  setDhtLatency(LATENCY)
  const kinds = ['fresh', 'restarted', 'restarted + bootstrap'] as const
  const runs = new Map<string, Array<{ ms: number; sent: number }>>(kinds.map((k) => [k, []]))
  const text = readFileSync(statePath, 'utf8')
  try {
    for (let i = 0; i < 5; i++) {
      for (const kind of kinds) {
        let d: DhtNode
        if (kind === 'fresh') d = node({ bootstrap: [`127.0.0.1:${routerPort}`] })
        else {
          const copy = join(dir, `restart-${i}-${kind.length}.json`)
          writeFileSync(copy, text)
          d = node({ statePath: copy, bootstrap: kind === 'restarted' ? false : [`127.0.0.1:${routerPort}`] })
        }
        const t0 = performance.now()
        await d.listen()
        if (kind !== 'fresh') assert.is(d.nodeId!.toString('hex'), id)
        await findPeer(d, hash, { host: '127.0.0.1', port: 7777 }, 5000)
        runs.get(kind)!.push({ ms: performance.now() - t0, sent: d.stats().sent })
        await d.destroy()
      }
    }
  } finally {
    setDhtLatency(0)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const m = (kind: string) => ({ ms: median(runs.get(kind)!.map((x) => x.ms)), sent: median(runs.get(kind)!.map((x) => x.sent)) })
  const rtt = 2 * LATENCY
  const msg = kinds.map((k) => `${k} ${m(k).ms.toFixed(0)} ms (${(m(k).ms / rtt).toFixed(1)} round trips) / ${m(k).sent} queries`).join(', ')
  console.log(msg)
  const f = m('fresh')
  assert.ok(f.ms >= 1.5 * rtt, `a fresh start takes at least two round trips: ${msg}`) // the latency did apply
  assert.ok(m('restarted').ms <= f.ms + rtt / 2, msg)
  assert.ok(m('restarted + bootstrap').ms <= f.ms + rtt / 2, msg)
})

test('no bootstrap, no state: listens, knows nobody; an offline start does not wipe the saved table', async () => {
  const dir = tmpDir()
  const statePath = join(dir, 'dht.json')
  const lonely = node({ bootstrap: false })
  const port = await lonely.listen()
  assert.ok(port > 0)
  assert.is(lonely.nodeCount, 0)

  const good = { version: 1, id: 'ab'.repeat(20), nodes: [{ id: 'cd'.repeat(20), host: '127.0.0.1', port: 9 }] }
  writeFileSync(statePath, JSON.stringify(good))
  const offline = node({ bootstrap: false, statePath })
  await offline.listen()
  assert.is(offline.nodeId!.toString('hex'), 'ab'.repeat(20))
  assert.is(offline.nodeCount, 0, 'a saved node joins the table only once it answers')
  await offline.ready() // the first walk asked the saved node, which is silent
  assert.is(offline.stats().candidates, 0)
  await offline.destroy()
  assert.equal(JSON.parse(readFileSync(statePath, 'utf8')), good)
})

test('a corrupt state file is ignored with a warning', async () => {
  const statePath = join(tmpDir(), 'dht.json')
  writeFileSync(statePath, '{not json')
  const d = node({ bootstrap: false, statePath })
  const warnings: string[] = []
  d.on('warning', (e: Error) => warnings.push(e.message))
  await d.listen()
  assert.is(d.nodeCount, 0)
  assert.ok(warnings.some((w) => w.includes('corrupt state')), warnings.join('; '))
})

test('listen fails cleanly on a port in use', async () => {
  const a = node({ bootstrap: false })
  const port = await a.listen()
  const b = node({ bootstrap: false, port })
  try {
    await b.listen()
    assert.unreachable('listen should fail')
  } catch (err) {
    assert.match((err as Error).message, /EADDRINUSE/)
  }
})

function udpQuery(port: number, msg: unknown, wait = 300): Promise<any[]> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    const replies: any[] = []
    s.on('message', (buf) => {
      try { replies.push(bencode.decode(buf)) } catch {}
    })
    s.bind(0, '127.0.0.1', () => {
      const buf = Buffer.isBuffer(msg) ? msg : Buffer.from(bencode.encode(msg))
      s.send(buf, port, '127.0.0.1')
      setTimeout(() => { s.close(); resolve(replies) }, wait)
    })
  })
}

test('hostile queries do not crash the node; it still answers afterwards', async () => {
  const d = node({ bootstrap: false })
  const port = await d.listen()
  const id = randomBytes(20)
  const hostile = [
    { t: 'aa', y: 'q', q: 'announce_peer', a: { id, info_hash: randomBytes(20), port: 1, token: 5 } },
    { t: 'ab', y: 'q', q: 'find_node', a: { id, target: 7 } },
    { t: 'ac', y: 'q', q: 'get_peers', a: { id, info_hash: 'short' } },
    { t: 'ad', y: 'q', q: 'get_peers', a: { id, info_hash: [1, 2] } },
    { t: 'ae', y: 'q', q: 'put', a: { id, v: 5, k: 1, sig: 2, token: 3 } },
    { t: 'af', y: 'q', q: 'ping', a: 5 },
    { t: 'ag', y: 'q', q: 'ping' },
    { t: 'ah', y: 'r', r: { id: 5 } },
    [1, 2, 3],
    Buffer.from('d1:t2:aa1:y1:q1:q4:ping1:ad2:id20:'),
    Buffer.from('garbage'),
  ]
  for (const m of hostile) assert.equal(await udpQuery(port, m, 50), [])
  const pong = await udpQuery(port, { t: 'zz', y: 'q', q: 'ping', a: { id } })
  assert.is(pong.length, 1)
  assert.ok(Buffer.from(pong[0].r.id).equals(d.nodeId!))
})

test('an answer with a non-buffer id from a known node does not crash or hang a lookup', async () => {
  const d = node({ bootstrap: false })
  await d.listen()
  const fake = createSocket('udp4')
  const fakeId = randomBytes(20)
  let queries = 0
  fake.on('message', (buf, rinfo) => {
    const q = bencode.decode(buf)
    queries++
    fake.send(Buffer.from(bencode.encode({ t: q.t, y: 'r', r: { id: 12345, nodes: 9 } })), rinfo.port, rinfo.address)
  })
  await new Promise<void>((r) => fake.bind(0, '127.0.0.1', () => r()))
  try {
    d.dht!.addNode({ id: fakeId, host: '127.0.0.1', port: fake.address().port })
    const n = await within(new Promise<number>((resolve) => d.dht!.lookup(randomBytes(20), (_e, n) => resolve(n ?? 0))), 6000, 'lookup hung')
    assert.is(n, 0)
    assert.ok(queries >= 1)
  } finally {
    fake.close()
  }
})

test('get_peers answers are bounded (50 peers, 16 nodes), whatever is stored', async () => {
  const d = node({ bootstrap: false })
  const port = await d.listen()
  const hash = randomBytes(20)
  const id = randomBytes(20)
  const [first] = await udpQuery(port, { t: 'g0', y: 'q', q: 'get_peers', a: { id, info_hash: hash } })
  const token = first.r.token
  const s = createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
  for (let i = 0; i < 120; i++) {
    s.send(Buffer.from(bencode.encode({ t: 'a' + i, y: 'q', q: 'announce_peer', a: { id, info_hash: hash, port: 10000 + i, token } })), port, '127.0.0.1')
  }
  await new Promise((r) => setTimeout(r, 300))
  s.close()
  const [res] = await udpQuery(port, { t: 'g1', y: 'q', q: 'get_peers', a: { id, info_hash: hash } })
  assert.is(res.r.values.length, 50)
  const seen = new Set<number>()
  for (const v of res.r.values) seen.add(Buffer.from(v).readUInt16BE(4))
  assert.is(seen.size, 50)

  // find_node on a swarm node: at most 16 nodes (26 bytes each).
  const swarmPort = Number(swarm.bootstrap[0].split(':')[1])
  const [fn] = await udpQuery(swarmPort, { t: 'f0', y: 'q', q: 'find_node', a: { id, target: randomBytes(20) } })
  assert.is(fn.r.nodes.length, 16 * 26)
})

test('wellFormedKrpc accepts real messages and rejects malformed ones', () => {
  const id = randomBytes(20)
  const ok = (m: unknown) => wellFormedKrpc(Buffer.from(bencode.encode(m)))
  assert.ok(ok({ t: 'aa', y: 'q', q: 'ping', a: { id } }))
  assert.ok(ok({ t: 'aa', y: 'q', q: 'sample_infohashes', a: { id, target: id } }))
  assert.ok(ok({ t: 'aa', y: 'r', r: { id, nodes: Buffer.alloc(26), values: [Buffer.alloc(6)], token: Buffer.alloc(4) } }))
  assert.ok(ok({ t: 'aa', y: 'e', e: [201, 'oops'] }))
  assert.not.ok(ok({ t: 'aa', y: 'q', q: 'ping', a: { id: id.subarray(0, 19) } }))
  assert.not.ok(ok({ t: 'aa', y: 'r', r: { id, values: [5] } }))
  assert.not.ok(ok({ t: 'aa', y: 'r', r: { id, nodes: [Buffer.alloc(26)] } }))
  assert.not.ok(ok({ t: 'aa', y: 'x' }))
  assert.not.ok(ok({ y: 'q', q: 'ping', a: { id } }))
})

test('a cancelled lookup reports nothing more', async () => {
  const a = node()
  const b = node()
  await a.listen()
  await b.listen()
  const hash = randomBytes(20)
  const calls: PeerAddress[][] = []
  const cancel = b.lookup(hash, (p) => calls.push(p))
  cancel()
  const done = announced(a, hash)
  a.announce(hash, 4242)
  await done
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(calls, [])
})

test.run()
