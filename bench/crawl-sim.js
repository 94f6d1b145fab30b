#!/usr/bin/env node
// The simulated DHT of bench/crawl.js, in one process on 127.0.0.1: `--nodes` UDP nodes that answer ping,
// find_node (8 random others), sample_infohashes (`--samples` hashes per answer, mostly random, one in `--real-every`
// a torrent that really exists) and get_peers (a metadata server for real torrents, nodes otherwise), plus
// `--servers` TCP peers (in a child process) serving the metadata of every real torrent with ut_metadata. Real
// torrents come one after the other from a sequence of `--torrents` (default 300,000), so the crawler sees each one
// once until the sequence wraps. Prints {"bootstrap": "127.0.0.1:P"} and,
// on SIGUSR2 or every 10 s, its counters; EOF on stdin ends it.
import dgram from 'node:dgram'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import bencode from 'bencode'
import Wire from 'bittorrent-protocol'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from './lib.js'

const { metadataExtension } = await import('../dist/src/wire/metadata.js')
const args = parseArgs(process.argv.slice(2), ['help']).flags
const NODES = Number(args.nodes ?? 600)
const SAMPLES = Number(args.samples ?? 40)
const REAL_EVERY = Number(args['real-every'] ?? 8)
// Torrent i is a pure function of i, so the metadata servers (a child process of their own, so that the UDP load of
// the nodes cannot starve their accept loop) make the same torrents as the nodes sample.
const TORRENTS = Number(args.torrents ?? 300_000)
const SERVERS = Number(args.servers ?? 8)
const INTERVAL = Number(args.interval ?? 10)

const stats = { queries: 0, samples: 0, realServed: 0, getPeers: 0, metadataServed: 0 }
const torrents = new Map() // hex -> info buffer, in the metadata process
let made = 0
const SHOWS = ['The.Expanse', 'Severance', 'Slow.Horses', 'Andor', 'The.Bear', 'Fargo', 'Dark', 'Shogun']

function torrentInfo(i) {
  const files = []
  const name = `${SHOWS[i % SHOWS.length]}.S${String(1 + (i % 9)).padStart(2, '0')}E${String(1 + (i % 24)).padStart(2, '0')}.1080p.WEB-DL.x264-SIM${i}`
  for (let f = 0; f < 1 + (i % 4); f++) files.push({ length: 1000 + f + i, path: [Buffer.from(`part ${f} of ${name}.mkv`)] })
  const total = files.reduce((a, f) => a + f.length, 0)
  const info = Buffer.from(bencode.encode({ files, name, 'piece length': 16384, pieces: Buffer.alloc(20 * Math.ceil(total / 16384), i & 255) }))
  return info
}

// The nodes' side: the hash of torrent i, computed on first use.
const hashes = []
const realHashes = new Set()
function makeTorrent() {
  const i = made++ % TORRENTS
  hashes[i] ??= createHash('sha1').update(torrentInfo(i)).digest()
  return hashes[i]
}

if (args.meta) {
  await serveMetadata()
  await new Promise(() => {})
}

async function serveMetadata() {
  for (let i = 0; i < TORRENTS; i++) {
    const info = torrentInfo(i)
    torrents.set(createHash('sha1').update(info).digest('hex'), info)
  }
  const servers = []
for (let s = 0; s < SERVERS; s++) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    let info
    const wire = new Wire()
    wire.on('error', () => {})
    wire.use(metadataExtension({ infoHash: randomBytes(20), getInfo: () => info, onMetadata: () => {}, fetch: false }))
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (hash) => {
      info = torrents.get(hash)
      if (!info) return socket.destroy()
      stats.metadataServed++
      wire.extendedHandshake.metadata_size = info.length
      wire.handshake(hash, randomBytes(20), { dht: false })
    })
    socket.setTimeout(20_000, () => socket.destroy())
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  servers.push(server.address().port)
}
  process.stdout.write(JSON.stringify({ ev: 'servers', servers }) + '\n')
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => process.exit(0))
}



const metaChild = spawn(process.execPath, [fileURLToPath(import.meta.url), '--meta', '1', '--servers', String(SERVERS), '--torrents', String(TORRENTS)], { stdio: ['pipe', 'pipe', 'inherit'] })
const servers = await new Promise((resolve, reject) => {
  createInterface({ input: metaChild.stdout }).on('line', (l) => { const e = JSON.parse(l); if (e.ev === 'servers') resolve(e.servers) })
  metaChild.on('exit', () => reject(new Error('metadata servers exited')))
})

function compactPeer(port) {
  const b = Buffer.alloc(6)
  b.set([127, 0, 0, 1])
  b.writeUInt16BE(port, 4)
  return b
}

// DHT nodes.
const nodes = []
for (let n = 0; n < NODES; n++) {
  const sock = dgram.createSocket('udp4')
  await new Promise((r) => sock.bind(0, '127.0.0.1', r))
  nodes.push({ sock, id: randomBytes(20), port: sock.address().port })
}
const compact = nodes.map((n) => {
  const b = Buffer.alloc(26)
  n.id.copy(b)
  b.set([127, 0, 0, 1], 20)
  b.writeUInt16BE(n.port, 24)
  return b
})
const someNodes = () => Buffer.concat(Array.from({ length: 8 }, () => compact[Math.floor(Math.random() * compact.length)]))

for (const node of nodes) {
  node.sock.on('message', (buf, rinfo) => {
    let m
    try { m = bencode.decode(buf) } catch { return }
    if (!m || !m.y || Buffer.from(m.y).toString() !== 'q' || !m.a) return
    stats.queries++
    const q = Buffer.from(m.q).toString()
    let r
    if (q === 'sample_infohashes') {
      stats.samples++
      const hashes = []
      for (let i = 0; i < SAMPLES; i++) {
        if (i % REAL_EVERY === 0) {
          const h = makeTorrent()
          realHashes.add(h.toString('hex'))
          hashes.push(h)
          stats.realServed++
        } else hashes.push(randomBytes(20))
      }
      r = { id: node.id, interval: INTERVAL, num: 100_000, samples: Buffer.concat(hashes), nodes: someNodes() }
    } else if (q === 'get_peers') {
      stats.getPeers++
      const hex = Buffer.from(m.a.info_hash ?? []).toString('hex')
      r = { id: node.id, token: Buffer.from('tk') }
      if (realHashes.has(hex)) r.values = [compactPeer(servers[Math.floor(Math.random() * servers.length)])]
      else r.nodes = someNodes()
    } else if (q === 'find_node') {
      r = { id: node.id, nodes: someNodes() }
    } else {
      r = { id: node.id }
    }
    node.sock.send(bencode.encode({ t: m.t, y: 'r', r }), rinfo.port, rinfo.address)
  })
}

const report = () => process.stdout.write(JSON.stringify({ ev: 'stats', cpu: process.cpuUsage(), ...stats }) + '\n')
process.stdout.write(JSON.stringify({ ev: 'ready', bootstrap: `127.0.0.1:${nodes[0].port}`, nodes: NODES, servers }) + '\n')
setInterval(report, 10_000).unref()
process.on('SIGUSR2', report)
process.stdin.on('data', () => {})
process.stdin.on('end', () => { report(); metaChild.stdin.end(); process.exit(0) })
