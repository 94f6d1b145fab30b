// Hostile DHT nodes and metadata peers against the crawler, all on 127.0.0.1: malformed and oversized samples, lies
// about num, bad node lists and private addresses, garbage datagrams, a query flood, metadata that does not hash to
// the info hash and a peer claiming 100 MB of metadata. The crawler must drop them and keep working.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import bencode from 'bencode'
import Wire from 'bittorrent-protocol'
import { Crawler, MAX_SAMPLES } from '../../src/crawl/crawler.js'
import { encodeCompactNode } from '../../src/crawl/address.js'
import { metadataExtension } from '../../src/wire/metadata.js'
import { waitFor, delay } from '../helpers/wait.js'
import { MemoryIndex } from './helpers.js'

type Mode = 'bad-length' | 'oversized' | 'num-lie' | 'bad-nodes' | 'good'

interface FakeNode {
  sock: dgram.Socket
  port: number
  id: Buffer
  mode: Mode
  queries: Record<string, number>
}

const closers: Array<() => void | Promise<void>> = []
test.after.each(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

function decode(buf: Buffer): any {
  try { return bencode.decode(buf) } catch { return undefined }
}

/** bencode 4 decodes strings to Uint8Array. */
const str = (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v))

/** A UDP DHT node that answers find_node with all fake nodes (plus private addresses) and sample_infohashes by mode. */
async function fakeNodes(modes: Mode[], sampleHashes: Buffer[] = []): Promise<FakeNode[]> {
  const nodes: FakeNode[] = []
  for (const mode of modes) {
    const sock = dgram.createSocket('udp4')
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
    nodes.push({ sock, port: sock.address().port, id: randomBytes(20), mode, queries: {} })
    closers.push(() => new Promise<void>((r) => sock.close(() => r())))
  }
  const all = Buffer.concat([
    ...nodes.map((n) => encodeCompactNode(n.id, '127.0.0.1', n.port)),
    encodeCompactNode(randomBytes(20), '192.168.1.20', 6881),
    encodeCompactNode(randomBytes(20), '10.0.0.7', 6881),
    encodeCompactNode(randomBytes(20), '224.0.0.1', 6881),
  ])
  for (const n of nodes) {
    n.sock.on('message', (buf, rinfo) => {
      const m = decode(buf)
      if (!m || str(m.y) !== 'q') return
      const q = str(m.q)
      n.queries[q] = (n.queries[q] ?? 0) + 1
      const reply = (r: Record<string, unknown>) => n.sock.send(bencode.encode({ t: m.t, y: 'r', r: { id: n.id, ...r } }), rinfo.port, rinfo.address)
      if (q === 'find_node' || q === 'get_peers') {
        return reply({ nodes: n.mode === 'bad-nodes' ? Buffer.concat([all, Buffer.alloc(5)]) : all, token: Buffer.from('tok') })
      }
      if (q === 'sample_infohashes') {
        const twenty = Buffer.concat(Array.from({ length: 20 }, (_, i) => sampleHashes[i % Math.max(1, sampleHashes.length)] ?? randomBytes(20)))
        if (n.mode === 'bad-length') return reply({ interval: 0, num: 21, samples: Buffer.concat([twenty, Buffer.alloc(1)]) })
        if (n.mode === 'oversized') return reply({ interval: 0, num: 1000, samples: randomBytes(20 * (MAX_SAMPLES + 50)) })
        if (n.mode === 'num-lie') return reply({ interval: 0, num: 1, samples: twenty })
        return reply({ interval: 0, num: 20, samples: twenty, nodes: all })
      }
      reply({})
    })
  }
  return nodes
}

async function startCrawler(bootPort: number, extra: Partial<ConstructorParameters<typeof Crawler>[0]> = {}) {
  const index = new MemoryIndex()
  const c = new Crawler({ index, bootstrap: [{ host: '127.0.0.1', port: bootPort }], host: '127.0.0.1', rate: 300, minSampleIntervalS: 1, flushMs: 200, ...extra })
  closers.push(() => c.stop())
  const [port] = await c.start()
  return { c, index, port }
}

test('hostile nodes: malformed or oversized samples, lies about num and bad node lists get a node dropped and banned', async () => {
  const nodes = await fakeNodes(['good', 'bad-length', 'oversized', 'num-lie', 'bad-nodes'])
  const { c } = await startCrawler(nodes[0].port)
  await waitFor('the hostile nodes to be banned', () => nodes.slice(1).every((n) => c.isBanned('127.0.0.1', n.port)), 15_000)
  assert.not.ok(c.isBanned('127.0.0.1', nodes[0].port), 'the well-behaved node is kept')
  assert.ok(c.table.get(`127.0.0.1:${nodes[0].port}`))
  for (const n of nodes.slice(1)) assert.is(c.table.get(`127.0.0.1:${n.port}`), undefined)
  // Private and multicast addresses handed over in node lists never enter the table (so are never queried).
  assert.ok(c.table.all().every((n) => n.host === '127.0.0.1'), 'only loopback nodes in the table')
  const s = c.stats()
  assert.ok(s.hostileDropped >= 4)
  assert.ok(s.infoHashes.discovered > 0, 'the good node still feeds it')
  // Banned nodes are not asked again.
  const before = nodes.slice(1).map((n) => n.queries.sample_infohashes ?? 0)
  await delay(2500)
  assert.equal(nodes.slice(1).map((n) => n.queries.sample_infohashes ?? 0), before)
})

test('garbage datagrams and a query flood: no crash, answers capped per IP, queues bounded, still answering', async () => {
  const nodes = await fakeNodes(['good'])
  const { c, port } = await startCrawler(nodes[0].port, { incomingPerIpRate: 50 })
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
  closers.push(() => new Promise<void>((r) => sock.close(() => r())))
  const answers: any[] = []
  sock.on('message', (buf) => { const m = decode(buf); if (m) answers.push(m) })
  const id = randomBytes(20)
  const bad: Array<Buffer | string> = [
    'd1:ad2:idi5ee1:q4:ping1:t2:aa1:y1:qe', // id is an integer
    'd1:ad2:id20:aaaaaaaaaaaaaaaaaaaa9:info_hashi1ee1:q9:get_peers1:t2:aa1:y1:qe', // info_hash an integer
    'd1:ad2:id20:aaaaaaaaaaaaaaaaaaaa9:info_hash20:aaaaaaaaaaaaaaaaaaaa5:tokeni1e4:porti1ee1:q13:announce_peer1:t2:aa1:y1:qe',
    'd1:rd2:idi1ee1:t2:aa1:y1:re', // answer with an integer id
    'd1:y1:q1:q4:ping1:t2:aae', // no arguments
    'l1:a1:be', 'i42e', 'd', '', 'x'.repeat(9000),
  ]
  for (let i = 0; i < 3000; i++) {
    const b = i % 3 === 0 ? bad[i % bad.length] : randomBytes(1 + (i % 200))
    sock.send(typeof b === 'string' ? Buffer.from(b) : b, port, '127.0.0.1')
  }
  // A flood of well-formed get_peers for random hashes, far above the per-IP answer cap.
  const floodStart = Date.now()
  for (let i = 0; i < 3000; i++) {
    sock.send(bencode.encode({ t: Buffer.from([i >> 8, i & 255]), y: 'q', q: 'get_peers', a: { id, info_hash: randomBytes(20) } }), port, '127.0.0.1')
    if (i % 500 === 499) await delay(5)
  }
  await delay(1500)
  const s = c.stats()
  // The cap is 50 answers per 1 s window; a loaded machine spreads the flood over more windows than the 2 s it takes
  // when idle, so the bound counts the windows it could have touched.
  const windows = Math.ceil((Date.now() - floodStart) / 1000) + 1
  assert.ok(answers.length <= 50 * windows, `answered ${answers.length} of 3000 flood queries (cap 50/s, ${windows} windows)`)
  assert.ok(s.infoHashes.discovered - 20 * 10 <= 200, 'flood hashes beyond the cap were not taken in')
  assert.ok(s.lookups.queued + s.lookups.active <= 20_512)
  // Still alive and polite: a ping a second later is answered.
  await delay(1100)
  answers.length = 0
  sock.send(bencode.encode({ t: Buffer.from('pp'), y: 'q', q: 'ping', a: { id } }), port, '127.0.0.1')
  await waitFor('a ping answer', () => answers.some((m) => str(m.t) === 'pp'), 3000)
})

/** A TCP peer that serves wrong metadata (`wrong`), or claims 100 MB of it (`huge`), for any info hash. */
async function badMetadataPeer(mode: 'wrong' | 'huge'): Promise<{ port: number; handshakes: number }> {
  const other = Buffer.from(bencode.encode({ name: 'decoy', 'piece length': 16384, length: 10, pieces: randomBytes(20) }))
  const state = { port: 0, handshakes: 0 }
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    const wire = new Wire()
    wire.on('error', () => {})
    wire.use(metadataExtension({ infoHash: randomBytes(20), getInfo: () => other, onMetadata: () => {}, fetch: false }))
    if (mode === 'huge') wire.extendedHandshake.metadata_size = 100 * 1024 * 1024
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (hash: string) => {
      state.handshakes++
      wire.handshake(hash, randomBytes(20), { dht: false })
      if (mode === 'huge') wire.extendedHandshake.metadata_size = 100 * 1024 * 1024
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  state.port = (server.address() as net.AddressInfo).port
  closers.push(() => new Promise<void>((r) => { server.close(() => r()); for (const s of [] as net.Socket[]) s.destroy() }))
  return state
}

test('hostile metadata peers: metadata that does not hash to the info hash, or 100 MB of it, is refused and not indexed', async () => {
  const nodes = await fakeNodes(['good'])
  const { c, index, port } = await startCrawler(nodes[0].port)
  const wrong = await badMetadataPeer('wrong')
  const huge = await badMetadataPeer('huge')
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
  closers.push(() => new Promise<void>((r) => sock.close(() => r())))
  const answers = new Map<string, any>()
  sock.on('message', (buf) => { const m = decode(buf); if (m) answers.set(str(m.t), m) })
  const id = randomBytes(20)
  const hashes = [createHash('sha1').update('one').digest(), createHash('sha1').update('two').digest()]
  for (const [i, peerPort] of [wrong.port, huge.port].entries()) {
    sock.send(bencode.encode({ t: Buffer.from(`g${i}`), y: 'q', q: 'get_peers', a: { id, info_hash: hashes[i] } }), port, '127.0.0.1')
    const a = await waitFor('a token', () => answers.get(`g${i}`), 3000)
    sock.send(bencode.encode({ t: Buffer.from(`a${i}`), y: 'q', q: 'announce_peer', a: { id, info_hash: hashes[i], port: peerPort, token: a.r.token } }), port, '127.0.0.1')
    await waitFor('the announce answer', () => answers.get(`a${i}`), 3000)
  }
  await waitFor('both fetches to end', () => c.stats().metadata.failed >= 2, 15_000).catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(c.stats())} ${wrong.handshakes} ${huge.handshakes}`) })
  assert.ok(wrong.handshakes >= 1 && huge.handshakes >= 1, 'the crawler went to the announced peers')
  const s = c.stats()
  assert.ok(s.metadata.bad >= 1, 'the wrong metadata was seen as bad')
  assert.is(s.metadata.fetched, 0)
  assert.is(index.rows.size, 0)
  // A bad token is refused.
  sock.send(bencode.encode({ t: Buffer.from('bt'), y: 'q', q: 'announce_peer', a: { id, info_hash: randomBytes(20), port: wrong.port, token: Buffer.from('nope') } }), port, '127.0.0.1')
  const e = await waitFor('the error answer', () => answers.get('bt'), 3000)
  assert.is(str(e.y), 'e')
})

test.run()
