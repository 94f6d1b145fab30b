#!/usr/bin/env node
// A bare fetcher for bench/utp.js: one connection to one seeder, over bt's uTP transport or plain TCP, through bt's
// PeerWire; requests every block in order (128 in flight), hashes them in order, stores nothing. It measures the
// transport and the wire, not the session (no picker, no disk). Prints one JSON line: bytes, md5, seconds.
//
//   node bench/utp-fetch.js TORRENT HOST:PORT utp|tcp
import { readFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'
import { ROOT } from './lib.js'

const [torrentPath, addr, transport] = process.argv.slice(2)
const dist = (p) => import(new URL(`dist/src/${p}`, `file://${ROOT}/`).href)
const { parseTorrent } = await dist('metainfo/metainfo.js')
const { PeerWire } = await dist('wire/peer-wire.js')
const { UtpEndpoint } = await dist('net/utp.js')
const m = parseTorrent(readFileSync(torrentPath))
const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))]
const BLOCK = 16384
const IN_FLIGHT = 128

const t0 = process.hrtime.bigint()
let endpoint
let sock
// A uTP dial that gets no answer in 5 s is retried once (and reported): seen a few times here on a loaded machine.
let connectRetries = 0
for (;;) {
  if (transport === 'utp') {
    endpoint ??= await UtpEndpoint.open({ port: 0, host: '127.0.0.1' })
    if (!endpoint) throw new Error('no uTP binding loaded (npm run build compiles native/utp)')
    sock = endpoint.connect(host, port, 5000)
  } else sock = net.connect(port, host)
  const err = await new Promise((r) => { sock.once('connect', () => r(null)); sock.once('error', r) })
  if (!err) break
  if (transport !== 'utp' || connectRetries++ > 0) { console.error(`fetch: ${err.message}`); process.exit(3) }
  console.error(`fetch: ${err.message}; retrying`)
}
const connectMs = Number(process.hrtime.bigint() - t0) / 1e6
sock.on('error', (e) => { console.error(`fetch: ${e.message}`); process.exit(3) })
const wire = new PeerWire(`${transport}Outgoing`)
wire.setPieceCount(m.pieceCount)
sock.pipe(wire).pipe(sock)
wire.handshake(m.infoHash, randomBytes(20).toString('hex'), { dht: false })
await new Promise((r) => wire.once('handshake', r))
wire.interested()
if (wire.peerChoking) await new Promise((r) => wire.once('unchoke', r))

const md5 = createHash('md5')
const total = m.length
const done = new Map() // offset -> block, until it can be hashed in order
let next = 0 // next offset to request
let hashed = 0
let inflight = 0
await new Promise((resolve, reject) => {
  const pump = () => {
    while (inflight < IN_FLIGHT && next < total) {
      const off = next
      const len = Math.min(BLOCK, total - off, m.pieceLength - (off % m.pieceLength))
      next += len
      inflight++
      wire.request(Math.floor(off / m.pieceLength), off % m.pieceLength, len, (err, buf) => {
        inflight--
        if (err) return reject(err)
        done.set(off, Buffer.from(buf))
        while (done.has(hashed)) {
          const b = done.get(hashed)
          done.delete(hashed)
          md5.update(b)
          hashed += b.length
        }
        if (hashed === total) resolve()
        else pump()
      })
    }
  }
  pump()
})
const seconds = Number(process.hrtime.bigint() - t0) / 1e9
sock.destroy()
await endpoint?.close()
console.log(JSON.stringify({ bytes: hashed, md5: md5.digest('hex'), seconds, connectMs: Math.round(connectMs), connectRetries }))
process.exit(0)
