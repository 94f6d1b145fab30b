// bt's own uTP binding (native/utp: libutp through N-API), the default backend of src/net/utp.ts. The native side
// reads datagrams in batches, feeds libutp, and appends what libutp reports to an event table and one data buffer
// that this file owns and reuses; it calls onEvents() once per batch. Here each connection is a Duplex:
// reads arrive as one chunk per connection per batch, writes go straight into libutp (which copies them) and wait
// for 'writable' when its send window is full; a full readable side closes libutp's receive window.

import { createRequire } from 'node:module'
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Duplex } from 'node:stream'
import type { PeerSocket } from './utp.js'
import { systemReason } from '../errors.js'

interface Native {
  open(host: string, port: number, rcvbuf: number, sndbuf: number, data: Buffer, meta: Buffer, onEvents: () => void): [unknown, number, number]
  close(h: unknown): void
  connect(h: unknown, host: string, port: number): number
  write(h: unknown, id: number, buf: Uint8Array, offset: number): number
  end(h: unknown, id: number): void
  shut(h: unknown, id: number): void
  pause(h: unknown, id: number, paused: boolean): void
  peer(h: unknown, id: number): [string, number] | undefined
  checkTimeouts(h: unknown): number
  send(h: unknown, buf: Uint8Array, offset: number, length: number, port: number, host: string): number
  sockopt(h: unknown, which: number): number
  ref(h: unknown, on: boolean): void
}

// Record types, as in native/utp/utp_binding.cc.
const EV_ACCEPT = 1
const EV_CONNECT = 2
const EV_WRITABLE = 3
const EV_EOF = 4
const EV_ERROR = 5
const EV_GONE = 6
const EV_READ = 7
const EV_MESSAGE = 8
const HEADER = 4
const RECORD = 4
const MAX_RECORDS = 4096
/** The data buffer: big enough for a full batch of reads (64 datagrams × 16 rounds ≈ 1.4 MiB is the worst case;
 * it is handed over early when full). */
const DATA_BYTES = 1024 * 1024
/** libutp wants utp_check_timeouts about every 500 ms (it does nothing more often). */
const TICK_MS = 500
const ERROR_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']

let native: Native | null | undefined
let loadError = ''

/** The compiled module (from `npm run build`), or null with the reason in ownBindingError(). */
export function loadOwnBinding(): Native | null {
  if (native !== undefined) return native
  // src/net/ under tsx, dist/src/net/ once built: the package root is two or three levels up.
  const candidates = ['../../native/utp/build/Release/utp.node', '../../../native/utp/build/Release/utp.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)))
  const file = candidates.find((f) => existsSync(f))
  if (!file) {
    loadError = 'not built (npm run build compiles native/utp)'
    return (native = null)
  }
  try {
    native = createRequire(import.meta.url)(file) as Native
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0]
    native = null
  }
  return native
}

export function ownBindingError(): string {
  return loadError
}

export interface OwnSocketOptions {
  host: string
  port: number
  recvBuffer: number
  sendBuffer: number
}

/** One UDP socket speaking uTP: 'connection' (OwnConnection), 'message' (buf, rinfo) for other datagrams. */
export class OwnSocket extends EventEmitter {
  readonly port: number
  /** 6 when the socket is IPv6 (dual stack on '::'): it can dial both families. */
  readonly family: number
  private readonly handle: unknown
  private readonly data = Buffer.allocUnsafe(DATA_BYTES)
  private readonly metaBuf = Buffer.alloc((HEADER + MAX_RECORDS * RECORD) * 4)
  private readonly meta = new Int32Array(this.metaBuf.buffer, this.metaBuf.byteOffset, HEADER + MAX_RECORDS * RECORD)
  private readonly conns = new Map<number, OwnConnection>()
  private timer?: NodeJS.Timeout
  private processing = false
  private drainQueued = false
  private closed = false
  private readonly host: string

  constructor(private readonly n: Native, opts: OwnSocketOptions) {
    super()
    this.host = opts.host
    const [handle, port, family] = n.open(opts.host, opts.port, opts.recvBuffer, opts.sendBuffer, this.data, this.metaBuf, () => this.onEvents())
    this.handle = handle
    this.port = port
    this.family = family
  }

  /** The address bound ('::': dual stack). */
  address(): string {
    return this.host
  }

  get dualStack(): boolean {
    return this.host === '::'
  }

  /** Whether the utp_check_timeouts timer runs (only while libutp holds connections). */
  get ticking(): boolean {
    return this.timer !== undefined
  }

  /** Connections open for JavaScript now. */
  get connections(): number {
    return this.conns.size
  }

  recvBufferSize(): number {
    return this.n.sockopt(this.handle, 0)
  }

  connect(host: string, port: number): OwnConnection {
    const id = this.n.connect(this.handle, host, port)
    const c = new OwnConnection(this, id, false, host, port)
    this.conns.set(id, c)
    this.tick()
    return c
  }

  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void {
    const rc = this.closed ? -9 : this.n.send(this.handle, buf, offset, length, port, host)
    // EAGAIN drops the datagram as the network might; the DHT retries.
    const err = rc < 0 && rc !== -11 ? Object.assign(new Error(`uTP socket send to ${host}:${port} failed (${-rc})`), { code: 'ESEND' }) : null
    if (cb) process.nextTick(cb, err)
  }

  /** Native calls for one connection; each may leave events for the next drain. */
  write(id: number, buf: Uint8Array, offset: number): number {
    const n = this.n.write(this.handle, id, buf, offset)
    this.afterCall()
    return n
  }
  end(id: number): void {
    this.n.end(this.handle, id)
    this.afterCall()
  }
  shut(id: number): void {
    this.conns.delete(id)
    if (this.closed) return
    this.n.shut(this.handle, id)
    this.afterCall()
  }
  pause(id: number, paused: boolean): void {
    if (this.closed) return
    this.n.pause(this.handle, id, paused)
    this.afterCall()
  }

  /** Destroys every connection, lets libutp send their FINs for up to `graceMs`, then closes the socket. */
  async close(graceMs: number): Promise<void> {
    if (this.closed) return
    // Never free libutp from inside one of its callbacks (a handler of this socket's events calling close()).
    await new Promise((r) => setImmediate(r))
    for (const c of [...this.conns.values()]) c.destroy()
    const until = Date.now() + graceMs
    while (this.n.checkTimeouts(this.handle) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    this.closed = true
    clearInterval(this.timer)
    this.n.close(this.handle)
  }

  ref(on: boolean): void {
    if (!this.closed) this.n.ref(this.handle, on)
  }

  // Runs utp_check_timeouts every TICK_MS while libutp holds any connection, and not at all when idle.
  private tick(): void {
    if (this.timer || this.closed) return
    this.timer = setInterval(() => {
      if (this.closed) return
      const live = this.n.checkTimeouts(this.handle)
      this.afterCall()
      if (live === 0 && this.conns.size === 0) {
        clearInterval(this.timer)
        this.timer = undefined
      }
    }, TICK_MS)
    this.timer.unref()
  }

  // A native call made from JavaScript may leave records (libutp reporting an error, say); read them on the next tick
  // rather than re-entering the caller.
  private afterCall(): void {
    if (this.meta[0] === 0 || this.processing || this.drainQueued) return
    this.drainQueued = true
    process.nextTick(() => {
      this.drainQueued = false
      if (!this.closed) this.onEvents()
    })
  }

  private onEvents(): void {
    const m = this.meta
    this.processing = true
    let off = 0
    try {
      // m[0] is read on every turn: handlers may add records (a write answered by an error) while this runs.
      for (let i = 0; i < m[0]; i++) {
        const r = HEADER + i * RECORD
        const type = m[r]
        const id = m[r + 1] >>> 0
        const a = m[r + 2]
        if (type === EV_READ) {
          const c = this.conns.get(id)
          if (c) {
            const chunk = Buffer.allocUnsafe(a)
            this.data.copy(chunk, 0, off, off + a)
            c.onData(chunk)
          }
          off += a
        } else if (type === EV_MESSAGE) {
          const b = m[r + 3]
          const family = b >>> 16
          const address = family === 4 ? `${this.data[off]}.${this.data[off + 1]}.${this.data[off + 2]}.${this.data[off + 3]}` : formatIPv6(this.data, off)
          const buf = Buffer.from(this.data.subarray(off + 16, off + 16 + a))
          off += 16 + a
          this.emit('message', buf, { address, port: b & 0xffff, family: family === 4 ? 'IPv4' : 'IPv6', size: a })
        } else if (type === EV_ACCEPT) {
          const peer = this.n.peer(this.handle, id)
          const c = new OwnConnection(this, id, true, peer?.[0], peer?.[1])
          this.conns.set(id, c)
          this.tick()
          this.emit('connection', c)
        } else {
          const c = this.conns.get(id)
          if (!c) continue
          if (type === EV_CONNECT) c.onConnect()
          else if (type === EV_WRITABLE) c.onWritable()
          else if (type === EV_EOF) c.onEof()
          else if (type === EV_ERROR) c.onError(a)
          else if (type === EV_GONE) {
            this.conns.delete(id)
            c.destroy()
          }
        }
      }
    } finally {
      m[0] = 0
      m[1] = 0
      this.processing = false
    }
  }
}

/** A uTP connection as a net.Socket-like Duplex. */
export class OwnConnection extends Duplex implements PeerSocket {
  private connected: boolean
  private pending: { buf: Uint8Array; off: number; cb: (err?: Error | null) => void } | null = null
  private paused = false
  private idle?: NodeJS.Timeout
  private idleMs = 0

  constructor(
    private readonly ep: OwnSocket,
    private readonly id: number,
    incoming: boolean,
    readonly remoteAddress?: string,
    readonly remotePort?: number,
  ) {
    // 256 KiB of received data may wait for the consumer before the receive window closes.
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024 })
    this.connected = incoming
  }

  get remoteFamily(): string | undefined {
    return this.remoteAddress?.includes(':') ? 'IPv6' : 'IPv4'
  }

  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) {
      if (ms === 0) this.removeListener('timeout', onTimeout)
      else this.once('timeout', onTimeout)
    }
    this.idleMs = ms
    clearTimeout(this.idle)
    this.idle = undefined
    if (ms > 0 && !this.destroyed) {
      this.idle = setTimeout(() => this.emit('timeout'), ms)
      this.idle.unref()
    }
    return this
  }

  setNoDelay(): this {
    return this // libutp sends what it has at once
  }

  setKeepAlive(): this {
    return this // the wire sends its own keepalives
  }

  /** Restarts the idle timer (on data either way). */
  private touch(): void {
    if (this.idle && this.idleMs > 0) this.idle.refresh()
  }

  onConnect(): void {
    this.connected = true
    this.touch()
    this.emit('connect')
    this.onWritable()
  }

  onData(chunk: Buffer): void {
    this.touch()
    if (!this.push(chunk) && !this.paused) {
      this.paused = true
      this.ep.pause(this.id, true)
    }
  }

  // The peer's FIN (libtorrent's carries a close reason). A BitTorrent connection is never half open: end the readable
  // side, queue our FIN, and destroy once 'end' had its turn (as utp-native and a reset TCP socket do) so the
  // connection ends now even when nobody reads it.
  onEof(): void {
    this.push(null)
    this.end()
    setImmediate(() => this.destroy())
  }

  onError(code: number): void {
    const name = ERROR_CODES[code] ?? 'ECONNABORTED'
    const text = systemReason(name)!
    const where = this.remoteAddress ? ` to ${this.remoteAddress.includes(':') ? `[${this.remoteAddress}]` : this.remoteAddress}:${this.remotePort}` : ''
    this.destroy(Object.assign(new Error(`uTP connection${where}: ${text}`), { code: name }))
  }

  onWritable(): void {
    const p = this.pending
    if (!p || !this.connected) return
    const n = this.ep.write(this.id, p.buf, p.off)
    if (n < 0) {
      this.pending = null
      return p.cb(gone())
    }
    p.off += n
    if (n > 0) this.touch()
    if (p.off >= p.buf.length) {
      this.pending = null
      p.cb()
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending = { buf: chunk, off: 0, cb }
    this.onWritable()
  }

  // Several small writes queued behind a full window (the wire's requests and haves) go to libutp as one.
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this._write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'binary', cb)
  }

  override _final(cb: (err?: Error | null) => void): void {
    // libutp sends no FIN before the connection is up: wait for it (a failed dial destroys the stream instead).
    if (!this.connected) return void this.once('connect', () => this._final(cb))
    this.ep.end(this.id)
    cb()
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false
      this.ep.pause(this.id, false)
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.idle)
    this.ep.shut(this.id)
    const p = this.pending
    this.pending = null
    if (p) p.cb(err ?? gone())
    cb(err)
  }
}

function gone(): Error {
  return Object.assign(new Error('uTP connection closed'), { code: 'EPIPE' })
}

/** RFC 5952 text of 16 address bytes at buf[off] (the longest run of two or more zero groups as ::). */
export function formatIPv6(buf: Uint8Array, off: number): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1])
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`
  }
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = g.map((x) => x.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}
