// A UDP front-end thread: receives and sends the tracker's datagrams, so that node's per-datagram cost (the
// receive callback, the send call and its syscall: most of the CPU of a UDP announce) is spent off the swarm
// thread. It answers connects and refuses bad connection ids by itself (both need only the shared secret), and
// hands announces and scrapes to the swarm thread in batches: all the datagrams of one event-loop turn in one
// transferred buffer, the replies back the same way.
//
// Worker 0 binds the socket; the others open the same file descriptor (node 20 has no SO_REUSEPORT), and the
// kernel wakes whichever thread is idle.

import { parentPort, workerData } from 'node:worker_threads'
import dgram from 'node:dgram'
import { CHECKED, ConnectionIds, MAX_DATAGRAM, checkUdp, literalLookup } from './udp.js'

interface Config {
  host: string
  port: number
  fd?: number
  ipv6: boolean
  secret: Uint8Array
}

const cfg = workerData as Config
const ids = new ConnectionIds(Buffer.from(cfg.secret))
const sock = dgram.createSocket({ type: cfg.ipv6 ? 'udp6' : 'udp4', ipv6Only: cfg.ipv6, recvBufferSize: 4 * 1024 * 1024, lookup: literalLookup as never })
/** Datagrams per batch at most: a batch is also sent when the event-loop turn ends. */
const BATCH = 256

const buf = Buffer.allocUnsafe(BATCH * (MAX_DATAGRAM + 2))
let used = 0
let ips: string[] = []
let ports: number[] = []
let scheduled = false
let seq = 0
/** Sources of the batches the swarm thread is answering. */
const pending = new Map<number, { ips: string[]; ports: number[] }>()

function flushBatch(): void {
  scheduled = false
  if (ips.length === 0) return
  const ab = new ArrayBuffer(used)
  buf.copy(Buffer.from(ab), 0, 0, used)
  pending.set(++seq, { ips, ports })
  parentPort!.postMessage({ seq, buf: ab, ips }, [ab])
  used = 0
  ips = []
  ports = []
}

sock.on('message', (msg, rinfo) => {
  if (msg.length > MAX_DATAGRAM) return
  const pre = checkUdp(ids, msg, rinfo.address)
  if (pre !== CHECKED) {
    if (pre) sock.send(pre, rinfo.port, rinfo.address)
    return
  }
  buf.writeUInt16BE(msg.length, used)
  msg.copy(buf, used + 2)
  used += 2 + msg.length
  ips.push(rinfo.address)
  ports.push(rinfo.port)
  if (ips.length >= BATCH) flushBatch()
  else if (!scheduled) {
    scheduled = true
    setImmediate(flushBatch)
  }
})
sock.on('error', () => {}) // ICMP unreachable and the like: nothing to do

parentPort!.on('message', (m: { seq?: number; buf?: ArrayBuffer; close?: boolean }) => {
  if (m.close) {
    sock.close(() => parentPort!.postMessage({ closed: true }))
    return
  }
  const src = pending.get(m.seq!)
  if (!src || !m.buf) return
  pending.delete(m.seq!)
  const out = Buffer.from(m.buf)
  for (let k = 0, o = 0; k < src.ips.length && o + 2 <= out.length; k++) {
    const len = out.readUInt16BE(o)
    if (len > 0) sock.send(out.subarray(o + 2, o + 2 + len), src.ports[k], src.ips[k])
    o += 2 + len
  }
})

const ready = () => {
  const a = sock.address()
  // The descriptor for the other workers, from dgram's internal handle (node 20 exposes no public way).
  const state = (sock as unknown as Record<symbol, { handle?: { fd?: number } }>)[Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol')!]
  parentPort!.postMessage({ listening: { address: a.address, port: a.port, family: a.family }, fd: state?.handle?.fd })
}
sock.once('error', (err) => parentPort!.postMessage({ error: (err as NodeJS.ErrnoException).code ?? String(err) }))
if (cfg.fd !== undefined) sock.bind({ fd: cfg.fd }, ready)
else sock.bind(cfg.port, cfg.host, ready)
