// Batched UDP I/O for the tracker through our own small native module (native/udp-batch: recvmmsg/sendmmsg on a
// socket polled by libuv). node's dgram costs ~15 µs of CPU per datagram here — more than opentracker's whole
// announce — because each datagram is a callback, an rinfo object, a send request and a syscall; here a batch of
// up to BATCH datagrams is one callback and one syscall each way. When the module is missing (no compiler at
// install time, not Linux) the tracker uses dgram and says so once. BT_UDP_NATIVE=0 forces dgram.

import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isIPv6 } from 'node:net'
import { CHECKED, MAX_DATAGRAM, answerUdpInto, checkUdp, maxUdpReply, type ConnectionIds, type UdpServer } from './udp.js'
import type { Tracker } from './swarm.js'

export interface UdpBatchBinding {
  /** Binds a non-blocking UDP socket (IPv6 ones IPv6-only); returns [fd, bound port]. Throws with an errno `code`. */
  open(host: string, port: number, rcvbuf: number): [number, number]
  close(fd: number): void
  poll(fd: number, data: Buffer, meta: Buffer, slot: number, onBatch: (n: number) => void): unknown
  unpoll(handle: unknown): void
  send(fd: number, data: Buffer, meta: Buffer, n: number): number
  /** Starts a thread that makes this socket's sendmmsg calls (sendQueued() hands it batches). */
  sender(fd: number): unknown
  /** Copies n replies (data[0, used), meta) to the sender thread's queue; 0 when the queue was full (dropped). */
  sendQueued(sender: unknown, data: Buffer, used: number, meta: Buffer, n: number): number
  /** Sends what is queued and ends the thread; call before closing the socket. */
  senderStop(sender: unknown): void
  ntop(meta: Buffer, record: number): string
}

/** Bytes per address record (see udp_batch.c): offset u32le, length u32le, port u16be, family u8, pad, 16-byte address. */
export const META = 32
/** Datagrams per receive batch. */
export const BATCH = 512
const TRUNCATED = 0xffffffff
/** Replies in a batch from which the send thread (when there is one) sends it. */
export const SEND_THREAD_MIN = 16

let loaded: UdpBatchBinding | null | undefined
let loadError = ''

/**
 * The native module, or undefined (with the reason in nativeUdpMissing()). `file` loads that file instead of the
 * package's own build (tests use it to show the fallback).
 */
export function loadUdpBatch(file?: string): UdpBatchBinding | undefined {
  if (file !== undefined) return tryLoad(file)
  if (loaded !== undefined) return loaded ?? undefined
  loaded = null
  if (process.env.BT_UDP_NATIVE === '0') {
    loadError = 'BT_UDP_NATIVE=0'
    return undefined
  }
  // From src/tracker (tsx) or dist/src/tracker (built): the package root is two or three levels up.
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let up = 0; up < 4; up++, dir = dirname(dir)) {
    const f = join(dir, 'native', 'udp-batch', 'build', 'Release', 'udp_batch.node')
    if (existsSync(f)) return (loaded = tryLoad(f) ?? null) ?? undefined
  }
  loadError = 'native/udp-batch is not built (npm run build builds it; it needs a C compiler)'
  return undefined
}

function tryLoad(file: string): UdpBatchBinding | undefined {
  try {
    return createRequire(import.meta.url)(file) as UdpBatchBinding
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0]
    return undefined
  }
}

export function nativeUdpMissing(): string {
  return loadError
}

/**
 * One thread's view of a batch socket: the receive buffers the native side fills, the source address of each
 * datagram as text (cached: a tracker sees the same clients again and again), and a reply queue sent with one
 * sendmmsg by flush(). Replies may target records of an earlier batch (copied with saveRecords()).
 */
export class BatchSocket {
  readonly inData = Buffer.alloc(BATCH * MAX_DATAGRAM)
  readonly inMeta = Buffer.alloc(BATCH * META)
  private outData = Buffer.allocUnsafe(1 << 20)
  private outMeta = Buffer.alloc(BATCH * META)
  private outCount = 0
  private outUsed = 0
  private handle: unknown
  private v4 = new Map<number, string>()
  private v6 = new Map<string, string>()

  private sender: unknown

  /** `sendThread`: replies go out from a native thread of their own (sendmmsg off this thread: udp_batch.c). */
  constructor(private readonly b: UdpBatchBinding, readonly fd: number, sendThread = false) {
    if (sendThread) this.sender = b.sender(fd)
  }

  start(onBatch: (n: number) => void): void {
    this.handle = this.b.poll(this.fd, this.inData, this.inMeta, MAX_DATAGRAM, onBatch)
  }

  /** Stops reading, and sends what is queued; the descriptor stays open. */
  stop(): void {
    if (this.handle !== undefined) this.b.unpoll(this.handle)
    this.handle = undefined
    this.flush()
    if (this.sender !== undefined) this.b.senderStop(this.sender)
    this.sender = undefined
  }

  /** Datagram k of the current batch, or undefined when it was longer than MAX_DATAGRAM. */
  message(k: number): Buffer | undefined {
    const len = this.inMeta.readUInt32LE(k * META + 4)
    if (len === TRUNCATED) return undefined
    const off = this.inMeta.readUInt32LE(k * META)
    return this.inData.subarray(off, off + len)
  }

  /** The source IP of datagram k, as dgram would spell it. */
  ip(k: number): string {
    const m = this.inMeta
    const r = k * META
    if (m[r + 10] === 4) {
      const key = m.readUInt32BE(r + 12)
      let s = this.v4.get(key)
      if (s === undefined) {
        s = `${m[r + 12]}.${m[r + 13]}.${m[r + 14]}.${m[r + 15]}`
        if (this.v4.size >= 65536) this.v4.clear()
        this.v4.set(key, s)
      }
      return s
    }
    const key = m.toString('latin1', r + 12, r + 28)
    let s = this.v6.get(key)
    if (s === undefined) {
      s = this.b.ntop(m, k)
      if (this.v6.size >= 65536) this.v6.clear()
      this.v6.set(key, s)
    }
    return s
  }

  /** A copy of the address records of datagrams [0, n), for replies sent after the next batch has arrived. */
  saveRecords(n: number): Buffer {
    return Buffer.from(this.inMeta.subarray(0, n * META))
  }

  /** Queues `data` as the reply to record `rec` of `records` (this.inMeta by default). */
  reply(rec: number, data: Uint8Array, records: Buffer = this.inMeta): void {
    if (data.length > this.outData.length) return // cannot happen with bounded numwant; never overrun
    if (this.outCount === BATCH || this.outUsed + data.length > this.outData.length) this.flush()
    const o = this.outCount * META
    this.outMeta.writeUInt32LE(this.outUsed, o)
    this.outMeta.writeUInt32LE(data.length, o + 4)
    records.copy(this.outMeta, o + 8, rec * META + 8, rec * META + 28)
    this.outData.set(data, this.outUsed)
    this.outUsed += data.length
    this.outCount++
  }

  /**
   * Room for a reply of up to `max` bytes written straight into the send batch: returns its offset in `outData`
   * (sending the batch first when it is full); commit() then queues what was written there.
   */
  reserve(max: number): number {
    if (this.outCount === BATCH || this.outUsed + max > this.outData.length) this.flush()
    return this.outUsed
  }

  get outBuffer(): Buffer {
    return this.outData
  }

  /** Queues the `len` bytes written at reserve()'s offset as the reply to record `rec` of the current batch. */
  commit(rec: number, len: number): void {
    const o = this.outCount * META
    this.outMeta.writeUInt32LE(this.outUsed, o)
    this.outMeta.writeUInt32LE(len, o + 4)
    this.inMeta.copy(this.outMeta, o + 8, rec * META + 8, rec * META + 28)
    this.outUsed += len
    this.outCount++
  }

  flush(): void {
    if (this.outCount > 0) {
      // Small batches (a lightly loaded tracker, where this thread has time to spare) go out at once: the hop to the
      // send thread would only add its wake-up to each reply's latency. Big ones (under load) go to the send thread.
      if (this.sender !== undefined && this.outCount >= SEND_THREAD_MIN) this.b.sendQueued(this.sender, this.outData, this.outUsed, this.outMeta, this.outCount)
      else this.b.send(this.fd, this.outData, this.outMeta, this.outCount)
    }
    this.outCount = 0
    this.outUsed = 0
  }
}

/** The single-thread UDP front end over a batch socket: each datagram answered in place, replies sent per batch. */
export function listenUdpNative(b: UdpBatchBinding, tracker: Tracker, ids: ConnectionIds, host: string, port: number, sendThread = false): UdpServer {
  const [fd, bound] = b.open(host, port, 4 * 1024 * 1024)
  const s = new BatchSocket(b, fd, sendThread)
  const max = maxUdpReply(tracker)
  s.start((n) => {
    for (let k = 0; k < n; k++) {
      const msg = s.message(k)
      if (!msg) continue
      const ip = s.ip(k)
      try {
        const pre = checkUdp(ids, msg, ip)
        if (pre !== CHECKED) {
          if (pre) s.reply(k, pre)
          continue
        }
        // Announces and scrapes are answered in place, in the send batch.
        const off = s.reserve(max)
        s.commit(k, answerUdpInto(tracker, msg, ip, s.outBuffer, off))
      } catch {
        // a bug must not take the tracker down; the client retries
      }
    }
    s.flush()
  })
  return {
    address: { address: host, port: bound, family: isIPv6(host) ? 'IPv6' : 'IPv4' },
    batched: true,
    close: async () => {
      s.stop()
      b.close(fd)
    },
  }
}
