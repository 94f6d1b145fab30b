#!/usr/bin/env node
// The simulated DHT of bench/crawl.js, on 127.0.0.1, built so that it is not the bottleneck: `--nodes` UDP nodes
// spread over `--procs` processes, and `--meta-procs` processes of TCP peers serving metadata. Every answer is cheap:
// queries are scanned, not decoded into objects; answers are assembled from bytes encoded once (each node's id, sets of
// 8 compact nodes, the metadata servers' compact addresses). Nodes answer ping, find_node (8 random nodes),
// sample_infohashes (`--samples` hashes, one in `--real-every` a torrent that really exists, `interval`
// `--interval` s, `num` 100,000) and get_peers (a metadata server for a real torrent, 8 nodes otherwise).
// Torrent i is a pure function of i (its name, files and pieces), so the metadata servers hold a map from info hash
// to i and build the info dict on request; node process k of P hands out torrents k, k+P, k+2P, … so each process
// knows its own real hashes, and the crawler (which asks the sampling node for peers) is answered by that process.
// The metadata servers speak just enough of BEP 3/10/9 (handshake, extended handshake, ut_metadata data) by hand.
// Prints {"ev":"ready","bootstrap":"127.0.0.1:P,…","pids":[…]}; a line {"realEvery": N} on stdin changes the share
// of real torrents (0: none); SIGUSR2 prints the summed counters; EOF on stdin ends it all.
import dgram from 'node:dgram'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, parseArgs } from './lib.js'

const args = parseArgs(process.argv.slice(2), ['help']).flags
const NODES = Number(args.nodes ?? 1500)
const PROCS = Math.max(1, Number(args.procs ?? 3))
const META_PROCS = Math.max(1, Number(args['meta-procs'] ?? 2))
const SERVERS = Number(args.servers ?? 8)
const SAMPLES = Number(args.samples ?? 40)
let realEvery = Number(args['real-every'] ?? 20)
const INTERVAL = Number(args.interval ?? 10)
// Enough distinct torrents for 10 minutes at the default share (2 per sample, 150 samples/s), before they repeat.
const TORRENTS = Number(args.torrents ?? 400_000)
const SELF = fileURLToPath(import.meta.url)
const SHOWS = ['The.Expanse', 'Severance', 'Slow.Horses', 'Andor', 'The.Bear', 'Fargo', 'Dark', 'Shogun']

function torrentInfo(i) {
  const files = []
  const name = `${SHOWS[i % SHOWS.length]}.S${String(1 + (i % 9)).padStart(2, '0')}E${String(1 + (i % 24)).padStart(2, '0')}.1080p.WEB-DL.x264-SIM${i}`
  for (let f = 0; f < 1 + (i % 4); f++) files.push({ length: 1000 + f + i, path: [Buffer.from(`part ${f} of ${name}.mkv`)] })
  const total = files.reduce((a, f) => a + f.length, 0)
  return Buffer.from(bencode.encode({ files, name, 'piece length': 16384, pieces: Buffer.alloc(20 * Math.ceil(total / 16384), i & 255) }))
}
const infoHash = (i) => createHash('sha1').update(torrentInfo(i)).digest()

const stats = { queries: 0, samples: 0, realServed: 0, getPeers: 0, getPeersReal: 0, metadataServed: 0, connections: 0 }
const reportStats = () => process.stdout.write(JSON.stringify({ ev: 'stats', ...stats }) + '\n')

if (args.role === 'meta') await metaRole()
else if (args.role === 'nodes') await nodesRole()
else await parentRole()

// ---- metadata servers --------------------------------------------------------------------------------------------

async function metaRole() {
  // The hashes come precomputed (the parent's cache file): hashing them here, even in the background, starved the
  // accept loop and made each fetch wait hundreds of milliseconds.
  const all = readFileSync(String(args.hashes))
  const byHash = new Map()
  for (let i = 0; i < TORRENTS; i++) byHash.set(all.toString('latin1', i * 20, i * 20 + 20), i)
  const peerId = randomBytes(20)
  const reserved = Buffer.alloc(8)
  reserved[5] = 0x10 // BEP 10
  const pstr = Buffer.from('\x13BitTorrent protocol', 'latin1')
  const msg = (id, ext, payload) => {
    const b = Buffer.allocUnsafe(6)
    b.writeUInt32BE(2 + payload.length, 0)
    b[4] = id
    b[5] = ext
    return [b, payload]
  }
  const ports = []
  for (let s = 0; s < SERVERS; s++) {
    const server = net.createServer((socket) => {
      stats.connections++
      socket.setNoDelay(true)
      socket.on('error', () => {})
      socket.setTimeout(20_000, () => socket.destroy())
      let buf = Buffer.alloc(0)
      let info
      let theirId = 0
      socket.on('data', (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d
        if (!info) {
          if (buf.length < 68) return
          const i = buf[0] === 19 ? byHash.get(buf.subarray(28, 48).toString('latin1')) : undefined
          if (i === undefined) return socket.destroy()
          info = torrentInfo(i)
          const ext = Buffer.from(`d1:md11:ut_metadatai1ee13:metadata_sizei${info.length}ee`)
          socket.write(Buffer.concat([pstr, reserved, buf.subarray(28, 48), peerId, ...msg(20, 0, ext)]))
          buf = buf.subarray(68)
        }
        while (buf.length >= 4) {
          const len = buf.readUInt32BE(0)
          if (len > 1 << 20) return socket.destroy()
          if (buf.length < 4 + len) break
          const m = buf.subarray(4, 4 + len)
          buf = buf.subarray(4 + len)
          if (len < 2 || m[0] !== 20) continue
          let d
          try { d = bencode.decode(m.subarray(2)) } catch { return socket.destroy() }
          if (m[1] === 0) theirId = d?.m?.ut_metadata ?? 0
          else if (m[1] === 1 && d?.msg_type === 0 && theirId) {
            const p = d.piece
            const head = Buffer.from(`d8:msg_typei1e5:piecei${p}e10:total_sizei${info.length}ee`)
            socket.write(Buffer.concat(msg(20, theirId, Buffer.concat([head, info.subarray(p * 16384, (p + 1) * 16384)]))))
            if ((p + 1) * 16384 >= info.length) stats.metadataServed++
          }
        }
      })
    })
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    ports.push(server.address().port)
  }
  process.stdout.write(JSON.stringify({ ev: 'servers', servers: ports }) + '\n')
  setInterval(reportStats, 2000).unref()
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => process.exit(0))
}

// ---- DHT nodes ---------------------------------------------------------------------------------------------------

/** Offsets of t, q and a.info_hash in a KRPC query, by walking the bencoding without building objects. */
function scanQuery(buf) {
  let pos = 0
  const str = () => {
    let n = 0
    while (pos < buf.length && buf[pos] !== 0x3a) n = n * 10 + buf[pos++] - 48
    const start = ++pos
    pos += n
    return [start, pos]
  }
  const skip = () => {
    const c = buf[pos]
    if (c === 0x69) { pos = buf.indexOf(0x65, pos) + 1; return }
    if (c === 0x6c || c === 0x64) {
      pos++
      while (pos < buf.length && buf[pos] !== 0x65) skip()
      pos++
      return
    }
    if (c >= 0x30 && c <= 0x39) { str(); return }
    pos = buf.length + 1
  }
  if (buf[pos++] !== 0x64) return undefined
  const out = {}
  while (pos < buf.length && buf[pos] !== 0x65) {
    const [ks, ke] = str()
    const key = buf.toString('latin1', ks, ke)
    if (key === 'a' && buf[pos] === 0x64) {
      pos++
      while (pos < buf.length && buf[pos] !== 0x65) {
        const [as, ae] = str()
        if (ae - as === 9 && buf.toString('latin1', as, ae) === 'info_hash') {
          const [vs, ve] = str()
          out.infoHash = buf.subarray(vs, ve)
        } else skip()
      }
      pos++
    } else if (key === 't' || key === 'q' || key === 'y') {
      const [vs, ve] = str()
      out[key] = buf.subarray(vs, ve)
    } else skip()
    if (pos > buf.length) return undefined
  }
  return out.t && out.q && out.y?.[0] === 0x71 ? out : undefined
}

async function nodesRole() {
  const part = Number(args.part)
  const count = Number(args.count)
  const servers = String(args.servers).split(',').map(Number)
  const peers = servers.map((port) => {
    const b = Buffer.from(`l6:xxxxxxe`, 'latin1')
    b.set([127, 0, 0, 1], 3)
    b.writeUInt16BE(port, 7)
    return b
  })
  const nodes = []
  for (let n = 0; n < count; n++) {
    const sock = dgram.createSocket('udp4')
    await new Promise((r) => sock.bind(0, '127.0.0.1', r))
    const id = randomBytes(20)
    nodes.push({ sock, id, port: sock.address().port, head: Buffer.concat([Buffer.from('d1:rd2:id20:'), id]) })
  }
  const mine = Buffer.concat(nodes.map((n) => {
    const b = Buffer.alloc(26)
    n.id.copy(b)
    b.set([127, 0, 0, 1], 20)
    b.writeUInt16BE(n.port, 24)
    return b
  }))
  process.stdout.write(JSON.stringify({ ev: 'nodes', compact: mine.toString('base64') }) + '\n')
  // Every process's nodes, once the parent sends them: 256 ready-made sets of 8, encoded as a "nodes" value.
  let nodeSets = [Buffer.concat([Buffer.from('5:nodes208:'), mine.subarray(0, 208)])]
  let next = 0
  const real = new Set()
  const all = readFileSync(String(args.hashes))
  const makeReal = () => {
    const i = (part + PROCS * next++) % TORRENTS
    const h = all.subarray(i * 20, i * 20 + 20)
    real.add(h.toString('latin1'))
    return h
  }
  createInterface({ input: process.stdin }).on('line', (l) => {
    const m = JSON.parse(l)
    if (m.compact) {
      const all = Buffer.from(m.compact, 'base64')
      const n = all.length / 26
      nodeSets = Array.from({ length: 256 }, () => Buffer.concat([Buffer.from('5:nodes208:'),
        ...Array.from({ length: 8 }, () => { const k = Math.floor(Math.random() * n); return all.subarray(k * 26, k * 26 + 26) })]))
    }
    if (m.realEvery !== undefined) realEvery = Number(m.realEvery)
  })
  process.stdin.on('end', () => process.exit(0))
  const someNodes = () => nodeSets[(Math.random() * nodeSets.length) | 0]
  const TOKEN = Buffer.from('5:token2:tk')
  const sampleHead = Buffer.from(`8:intervali${INTERVAL}e`)
  const sampleMid = Buffer.from(`3:numi100000e7:samples${SAMPLES * 20}:`)
  for (const node of nodes) {
    node.sock.on('message', (buf, rinfo) => {
      const m = scanQuery(buf)
      if (!m) return
      stats.queries++
      const q = m.q.toString('latin1')
      const parts = [node.head]
      if (q === 'sample_infohashes') {
        stats.samples++
        const samples = randomBytes(SAMPLES * 20)
        if (realEvery > 0) {
          for (let i = 0; i < SAMPLES; i += realEvery) {
            makeReal().copy(samples, i * 20)
            stats.realServed++
          }
        }
        parts.push(sampleHead, someNodes(), sampleMid, samples)
      } else if (q === 'get_peers') {
        stats.getPeers++
        if (m.infoHash && real.has(m.infoHash.toString('latin1'))) {
          stats.getPeersReal++
          parts.push(TOKEN, Buffer.from('6:values'), peers[(Math.random() * peers.length) | 0])
        } else parts.push(someNodes(), TOKEN)
      } else if (q === 'find_node') {
        parts.push(someNodes())
      }
      parts.push(Buffer.from(`e1:t${m.t.length}:`), m.t, Buffer.from('1:y1:re'))
      node.sock.send(Buffer.concat(parts), rinfo.port, rinfo.address)
    })
  }
  setInterval(reportStats, 2000).unref()
}

// ---- the parent: start the others, hand them each other's nodes, sum their counters ------------------------------

async function parentRole() {
  // The info hashes of torrents 0..TORRENTS-1, computed once and kept in bench/.cache.
  const hashes = join(ROOT, 'bench', '.cache', `crawl-sim-${TORRENTS}.bin`)
  if (!existsSync(hashes)) {
    console.error(`crawl-sim: hashing ${TORRENTS} torrents once into ${hashes}`)
    const buf = Buffer.allocUnsafe(TORRENTS * 20)
    for (let i = 0; i < TORRENTS; i++) infoHash(i).copy(buf, i * 20)
    mkdirSync(join(ROOT, 'bench', '.cache'), { recursive: true })
    writeFileSync(`${hashes}.tmp`, buf)
    renameSync(`${hashes}.tmp`, hashes)
  }
  const children = []
  const latest = new Map()
  const start = (role, extra) => {
    const child = spawn(process.execPath, [SELF, '--role', role, '--torrents', String(TORRENTS), '--procs', String(PROCS), '--hashes', hashes,
      '--samples', String(SAMPLES), '--real-every', String(realEvery), '--interval', String(INTERVAL), ...extra],
    { stdio: ['pipe', 'pipe', 'inherit'] })
    children.push(child)
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (l) => {
      const e = JSON.parse(l)
      if (e.ev === 'stats') latest.set(child, e)
      else child.emit('ev', e)
    })
    child.on('exit', (code) => { if (!ending) { console.error(`crawl-sim: a ${role} process exited (${code})`); process.exit(1) } })
    return child
  }
  let ending = false
  const once = (child, ev) => new Promise((r) => child.once('ev', (e) => { if (e.ev === ev) r(e) }))
  const perMeta = Math.max(1, Math.ceil(SERVERS / META_PROCS))
  const metas = Array.from({ length: META_PROCS }, () => start('meta', ['--servers', String(perMeta)]))
  const servers = (await Promise.all(metas.map((c) => once(c, 'servers')))).flatMap((e) => e.servers)
  const per = Math.ceil(NODES / PROCS)
  const nodeProcs = Array.from({ length: PROCS }, (_, k) => start('nodes', ['--part', String(k), '--count', String(per), '--servers', servers.join(',')]))
  const lists = (await Promise.all(nodeProcs.map((c) => once(c, 'nodes')))).map((e) => Buffer.from(e.compact, 'base64'))
  const all = Buffer.concat(lists).toString('base64')
  for (const c of nodeProcs) c.stdin.write(JSON.stringify({ compact: all }) + '\n')
  const bootstrap = lists.map((b) => `127.0.0.1:${b.readUInt16BE(24)}`).join(',')
  const sum = () => {
    const s = { ev: 'stats', ...Object.fromEntries(Object.keys(stats).map((k) => [k, 0])) }
    for (const e of latest.values()) for (const k of Object.keys(stats)) s[k] += e[k] ?? 0
    return s
  }
  process.stdout.write(JSON.stringify({ ev: 'ready', bootstrap, nodes: per * PROCS, procs: PROCS, servers, pids: children.map((c) => c.pid) }) + '\n')
  process.on('SIGUSR2', () => process.stdout.write(JSON.stringify(sum()) + '\n'))
  createInterface({ input: process.stdin }).on('line', (l) => { for (const c of nodeProcs) c.stdin.write(l + '\n') })
  process.stdin.on('end', () => {
    ending = true
    process.stdout.write(JSON.stringify(sum()) + '\n')
    for (const c of children) c.stdin.end()
    setTimeout(() => process.exit(0), 200)
  })
}
