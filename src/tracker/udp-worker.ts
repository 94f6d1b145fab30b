// A UDP front-end thread: receives and sends the tracker's datagrams, so that node's per-datagram cost (the
// receive callback, the send call and its syscall: most of the CPU of a UDP announce) is spent off the swarm
// thread. It answers connects and refuses bad connection ids by itself (both need only the shared secret), and
// hands announces and scrapes to the swarm thread in batches: all the datagrams of one event-loop turn in one
// transferred buffer, the replies back the same way.
//
// With batched I/O (udp-batch.ts) the swarm thread opens the socket and every worker polls the same descriptor;
// with dgram, worker 0 binds it and the others open its descriptor (node 20 has no SO_REUSEPORT). Either way the
// kernel wakes whichever thread is idle.

import { parentPort, workerData } from 'node:worker_threads'
import dgram from 'node:dgram'
import { CHECKED, ConnectionIds, MAX_DATAGRAM, checkUdp, literalLookup } from './udp.js'
import { BATCH, BatchSocket, META, loadUdpBatch } from './udp-batch.js'

interface Config {
  host: string
  port: number
  fd?: number
  ipv6: boolean
  /** The descriptor in `fd` is a batch socket opened by the swarm thread. */
  native: boolean
  secret: Uint8Array
}

const cfg = workerData as Config
const ids = new ConnectionIds(Buffer.from(cfg.secret))

const buf = Buffer.allocUnsafe(BATCH * (MAX_DATAGRAM + 2))
let used = 0
let ips: string[] = []
let seq = 0

/** Adds an announce or scrape to the batch for the swarm thread. */
function queue(msg: Buffer, ip: string): void {
  buf.writeUInt16BE(msg.length, used)
  msg.copy(buf, used + 2)
  used += 2 + msg.length
  ips.push(ip)
}

/** Sends the batch to the swarm thread; `to` is how this front end finds the senders again. */
function post<T>(pending: Map<number, T>, to: T): void {
  const ab = new ArrayBuffer(used)
  buf.copy(Buffer.from(ab), 0, 0, used)
  pending.set(++seq, to)
  parentPort!.postMessage({ seq, buf: ab, ips }, [ab])
  used = 0
  ips = []
}

/** Calls send(k, reply) for each non-empty reply of a batch answered by the swarm thread. */
function eachReply(m: { buf: ArrayBuffer }, count: number, send: (k: number, reply: Buffer) => void): void {
  const out = Buffer.from(m.buf)
  for (let k = 0, o = 0; k < count && o + 2 <= out.length; k++) {
    const len = out.readUInt16BE(o)
    if (len > 0) send(k, out.subarray(o + 2, o + 2 + len))
    o += 2 + len
  }
}

type Reply = { seq?: number; buf?: ArrayBuffer; close?: boolean }

if (cfg.native) runNative()
else runDgram()

function runNative(): void {
  const b = loadUdpBatch()!
  const s = new BatchSocket(b, cfg.fd!)
  const pending = new Map<number, { records: Buffer; count: number }>()
  s.start((n) => {
    // The records of the datagrams passed on, in their batch order, to reply to them after this buffer is reused.
    const passed: number[] = []
    for (let k = 0; k < n; k++) {
      const msg = s.message(k)
      if (!msg) continue
      const ip = s.ip(k)
      const pre = checkUdp(ids, msg, ip)
      if (pre === CHECKED) {
        queue(msg, ip)
        passed.push(k)
      } else if (pre) s.reply(k, pre)
    }
    s.flush()
    if (passed.length === 0) return
    const records = Buffer.allocUnsafe(passed.length * META)
    passed.forEach((k, i) => s.inMeta.copy(records, i * META, k * META, k * META + META))
    post(pending, { records, count: passed.length })
  })
  parentPort!.on('message', (m: Reply) => {
    if (m.close) {
      s.stop()
      parentPort!.postMessage({ closed: true })
      return
    }
    const to = pending.get(m.seq!)
    if (!to || !m.buf) return
    pending.delete(m.seq!)
    eachReply(m as { buf: ArrayBuffer }, to.count, (k, reply) => s.reply(k, reply, to.records))
    s.flush()
  })
  parentPort!.postMessage({ listening: { address: cfg.host, port: cfg.port, family: cfg.ipv6 ? 'IPv6' : 'IPv4' }, fd: cfg.fd })
}

function runDgram(): void {
  const sock = dgram.createSocket({ type: cfg.ipv6 ? 'udp6' : 'udp4', ipv6Only: cfg.ipv6, recvBufferSize: 4 * 1024 * 1024, lookup: literalLookup as never })
  let ports: number[] = []
  let scheduled = false
  const pending = new Map<number, { ips: string[]; ports: number[] }>()
  const flushBatch = (): void => {
    scheduled = false
    if (ips.length === 0) return
    post(pending, { ips, ports })
    ports = []
  }
  sock.on('message', (msg, rinfo) => {
    if (msg.length > MAX_DATAGRAM) return
    const pre = checkUdp(ids, msg, rinfo.address)
    if (pre !== CHECKED) {
      if (pre) sock.send(pre, rinfo.port, rinfo.address)
      return
    }
    queue(msg, rinfo.address)
    ports.push(rinfo.port)
    // A batch is sent when full or when the event-loop turn ends.
    if (ips.length >= BATCH) flushBatch()
    else if (!scheduled) {
      scheduled = true
      setImmediate(flushBatch)
    }
  })
  sock.on('error', () => {}) // ICMP unreachable and the like: nothing to do

  parentPort!.on('message', (m: Reply) => {
    if (m.close) {
      sock.close(() => parentPort!.postMessage({ closed: true }))
      return
    }
    const src = pending.get(m.seq!)
    if (!src || !m.buf) return
    pending.delete(m.seq!)
    eachReply(m as { buf: ArrayBuffer }, src.ips.length, (k, reply) => sock.send(reply, src.ports[k], src.ips[k]))
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
}
