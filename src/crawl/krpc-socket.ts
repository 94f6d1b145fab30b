// KRPC (BEP 5) over one UDP socket, for the crawler: queries with 4-byte transaction ids in a Map, timeouts swept
// in send order, answers matched on transaction id AND sender address, and every datagram decoded once, strictly
// (src/metainfo/bdecode), and checked for shape before anything reads it.
// Written here instead of using k-rpc-socket (k-rpc's transport), which finds the transaction of every answer, and
// a free slot for every query, by a linear scan of all queries in flight (thousands, for a crawler: that scan was
// the crawler's top CPU cost), decodes with a lenient decoder that other code then trusts, and checks only the host.

import dgram, { type RemoteInfo } from 'node:dgram'
import { bdecode, isDict, type BDict } from '../metainfo/bdecode.js'
import { Fifo } from './fifo.js'
import { encodeKrpc } from './krpc-encode.js'

export const MAX_DATAGRAM = 8192
const MAX_INFLIGHT = 32_768
const SWEEP_MS = 100
const TID_LIMIT = 2 ** 30
const RECV_BUFFER = 4 * 1024 * 1024

export interface KrpcError extends Error {
  code?: number | string
}

export type AnswerCallback = (err: KrpcError | null, r?: BDict) => void

interface Pending {
  host: string
  port: number
  cb: AnswerCallback
}

export interface KrpcQuery {
  t: Buffer
  q: string
  a: BDict
}

const isBuf = (v: unknown, len?: number): v is Buffer => Buffer.isBuffer(v) && (len === undefined || v.length === len)
const optBuf = (d: BDict, key: string, len?: number): boolean => d[key] === undefined || isBuf(d[key], len)

/** The query's arguments when it has the shape our handlers rely on, else undefined. */
function checkQuery(msg: BDict): KrpcQuery | undefined {
  const a = msg.a
  if (!isBuf(msg.q) || !isDict(a) || !isBuf(a.id, 20) || !isBuf(msg.t) || msg.t.length > 32) return undefined
  const q = msg.q.toString('latin1')
  if (!optBuf(a, 'target', 20) || !optBuf(a, 'info_hash', 20) || !optBuf(a, 'token')) return undefined
  if (q === 'find_node' && a.target === undefined) return undefined
  if ((q === 'get_peers' || q === 'announce_peer') && a.info_hash === undefined) return undefined
  if (a.port !== undefined && typeof a.port !== 'number') return undefined
  if (a.implied_port !== undefined && typeof a.implied_port !== 'number') return undefined
  return { t: msg.t, q, a }
}

export class KrpcSocket {
  readonly udp: dgram.Socket
  readonly counters = { bytesIn: 0, bytesOut: 0, malformed: 0, late: 0 }
  private readonly pending = new Map<number, Pending>()
  private readonly deadlines = new Fifo<{ tid: number; at: number }>(MAX_INFLIGHT * 2)
  // Transaction ids stay below 2^30: larger integers are heap numbers in V8, and Map lookups on them (one per query
  // sent, answered and swept) showed as a tenth of the crawler's CPU.
  private nextTid = Math.floor(Math.random() * TID_LIMIT)
  private readonly sweepTimer: NodeJS.Timeout
  private closed = false

  constructor(private readonly timeoutMs: number, private readonly onQuery: (q: KrpcQuery, rinfo: RemoteInfo) => void) {
    // A crawler's answers arrive in bursts (a tick's queries go out together) while its event loop may be busy: with
    // the default 208 KiB buffer, the kernel dropped thousands of answers a second in the bench (RcvbufErrors), each
    // a query timing out and a node wrongly marked as failing. Linux caps this at net.core.rmem_max.
    this.udp = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER })
    this.udp.on('message', (buf, rinfo) => this.onMessage(buf, rinfo))
    this.udp.on('error', () => { this.counters.late++ }) // ICMP errors and the like: the query times out
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS)
    this.sweepTimer.unref()
  }

  bind(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.udp.once('error', onError)
      this.udp.bind(port, host, () => {
        this.udp.off('error', onError)
        resolve(this.udp.address().port)
      })
    })
  }

  get inflight(): number {
    return this.pending.size
  }

  query(host: string, port: number, q: string, a: Record<string, unknown>, cb: AnswerCallback): void {
    if (this.closed || this.pending.size >= MAX_INFLIGHT) return cb(Object.assign(new Error('busy'), { code: 'EBUSY' }))
    const tid = this.nextTid
    this.nextTid = (this.nextTid + 1) % TID_LIMIT
    if (!this.deadlines.push({ tid, at: Date.now() + this.timeoutMs })) return cb(Object.assign(new Error('busy'), { code: 'EBUSY' }))
    this.pending.set(tid, { host, port, cb })
    const t = Buffer.allocUnsafe(4)
    t.writeUInt32BE(tid, 0)
    this.send(host, port, { t, y: 'q', q, a })
  }

  answer(host: string, port: number, t: Buffer, r: Record<string, unknown>): void {
    this.send(host, port, { t, y: 'r', r })
  }

  error(host: string, port: number, t: Buffer, code: number, message: string): void {
    this.send(host, port, { t, y: 'e', e: [code, message] })
  }

  private send(host: string, port: number, msg: Record<string, unknown>): void {
    if (this.closed) return
    const buf = encodeKrpc(msg as Parameters<typeof encodeKrpc>[0])
    this.counters.bytesOut += buf.length
    this.udp.send(buf, port, host)
  }

  private onMessage(buf: Buffer, rinfo: RemoteInfo): void {
    this.counters.bytesIn += buf.length
    if (this.closed) return
    let msg
    try {
      if (buf.length > MAX_DATAGRAM) throw new Error('too big')
      msg = bdecode(buf, { allowTrailing: true }).value
    } catch {
      this.counters.malformed++
      return
    }
    if (!isDict(msg) || !isBuf(msg.y, 1) || !isBuf(msg.t)) {
      this.counters.malformed++
      return
    }
    const y = msg.y[0]
    if (y === 0x71 /* q */) {
      const q = checkQuery(msg)
      if (!q) this.counters.malformed++
      else this.onQuery(q, rinfo)
      return
    }
    if (y !== 0x72 /* r */ && y !== 0x65 /* e */) {
      this.counters.malformed++
      return
    }
    if (msg.t.length !== 4) {
      this.counters.late++
      return
    }
    const tid = msg.t.readUInt32BE(0)
    const p = this.pending.get(tid)
    if (!p || p.host !== rinfo.address || p.port !== rinfo.port) {
      this.counters.late++ // after its timeout, or not from the node we asked
      return
    }
    this.pending.delete(tid)
    if (y === 0x65) {
      const e = Array.isArray(msg.e) ? msg.e : []
      const code = typeof e[0] === 'number' ? e[0] : 0
      const text = Buffer.isBuffer(e[1]) ? e[1].toString('utf8').slice(0, 200) : 'error'
      return p.cb(Object.assign(new Error(text), { code }))
    }
    const r = msg.r
    if (!isDict(r) || !isBuf(r.id, 20)) {
      this.counters.malformed++
      return p.cb(Object.assign(new Error('malformed answer'), { code: 'EMALFORMED' }))
    }
    p.cb(null, r)
  }

  private sweep(): void {
    const now = Date.now()
    while (this.deadlines.length > 0) {
      const head = this.deadlines.peek()!
      if (head.at > now) break
      this.deadlines.shift()
      const p = this.pending.get(head.tid)
      if (!p) continue
      this.pending.delete(head.tid)
      p.cb(Object.assign(new Error('query timed out'), { code: 'ETIMEDOUT' }))
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    clearInterval(this.sweepTimer)
    const err = Object.assign(new Error('closed'), { code: 'ECLOSED' })
    for (const p of this.pending.values()) p.cb(err)
    this.pending.clear()
    return new Promise((resolve) => {
      try {
        this.udp.close(() => resolve())
      } catch {
        resolve()
      }
    })
  }
}
