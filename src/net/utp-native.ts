// The npm utp-native binding (libutp, IPv4 only) as a backend of src/net/utp.ts: the fallback when bt's own binding
// (native/utp, src/net/utp-own.ts) was not built. Its connection mimics net.Socket; the few methods the session
// needs that it lacks are added once to its prototype, and its native receive batching is turned on.

import { createRequire } from 'node:module'
import { EventEmitter } from 'node:events'
import type { PeerSocket } from './utp.js'

/** utp-native gathers received bytes in native memory up to this many before calling JavaScript (a timer takes what
 * sits below it every FLUSH_MS): fewer, larger chunks cut bt's CPU per byte received. */
const BATCH_BYTES = Number(process.env.BT_UTP_BATCH ?? 32 * 1024)
const FLUSH_MS = 4

interface UtpNative {
  (opts?: { allowHalfOpen?: boolean }): UtpNativeSocket
}
interface UtpNativeSocket extends EventEmitter {
  connections: UtpConnection[]
  listen(port: number, host: string): void
  connect(port: number, host: string): UtpConnection
  address(): { port: number; address: string }
  close(cb?: () => void): void
  send(buf: Uint8Array, offset: number, len: number, port: number, host: string, cb?: (err: Error | null) => void): void
  setRecvBufferSize(n: number): void
  setSendBufferSize(n: number): void
  getRecvBufferSize(): number
  unref(): void
}
interface UtpConnectionInternals {
  _timeout: { destroy(): void; refresh(): void } | null
  _connected: boolean
  _handle: Buffer | null
  _buffer: Buffer
  _offset: number
  /** [0]: bytes native code gathers before calling JavaScript; [1]: bytes gathered so far (at _buffer[_offset]). */
  _view: Uint32Array
  _onconnect(): void
  push(chunk: Buffer | null): boolean
}
type UtpConnection = PeerSocket & UtpConnectionInternals

const loaded = new Map<string, { utp: UtpNative | null; why: string }>()

/** The binding by module name, or null with the reason it did not load. */
export function loadUtpNative(name: string): { utp: UtpNative | null; why: string } {
  let r = loaded.get(name)
  if (r) return r
  try {
    const require = createRequire(import.meta.url)
    const utp = require(name) as UtpNative
    adaptConnection(require(`${name}/lib/connection.js`).prototype)
    r = { utp, why: '' }
  } catch (err) {
    r = { utp: null, why: (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'not installed' : (err as Error).message.split('\n')[0] }
  }
  loaded.set(name, r)
  return r
}

// utp-native's connection misses a few of the methods the session calls; add them once to its prototype rather than
// wrapping every connection in a second stream (an extra hop for every packet).
function adaptConnection(proto: any): void {
  if (proto.__btAdapted) return
  proto.__btAdapted = true
  const setTimeoutOrig = proto.setTimeout
  proto.setTimeout = function (this: UtpConnection, ms: number, onTimeout?: () => void) {
    // net.Socket: 0 turns the idle timeout off. utp-native would arm a 0 ms timer that fires at once.
    if (ms === 0) {
      this._timeout?.destroy()
      this._timeout = null
      if (onTimeout) this.removeListener('timeout', onTimeout)
      return this
    }
    setTimeoutOrig.call(this, ms, onTimeout)
    return this
  }
  proto.setNoDelay = function () {
    return this
  }
  proto.setKeepAlive = function () {
    return this
  }
  // UTP_ECONNRESET and friends: name them like the TCP errors so messages and counters read the same.
  const onerror = proto._onerror
  proto._onerror = function (this: UtpConnection, status: number) {
    onerror.call(this, status)
    const err = (this as any)._error as NodeJS.ErrnoException | null
    if (err?.code?.startsWith('UTP_')) err.code = err.code === 'UTP_UNKNOWN' ? 'ECONNABORTED' : err.code.slice(4)
  }
}

/** Moves the bytes native code gathered below the batch threshold into the stream (a copy: native code reuses that
 * memory), exactly where the next threshold callback would have put them. */
function flushGathered(c: UtpConnection): void {
  const n = c._view[1]
  if (n === 0 || !c._handle) return
  const chunk = Buffer.from(c._buffer.subarray(c._offset, c._offset + n))
  c._view[1] = 0
  c._timeout?.refresh()
  if (!c._connected) c._onconnect() // as utp-native's own read path does: the server side may write after a read
  c.push(chunk)
}

/** utp-native behind the backend interface of src/net/utp.ts (IPv4 only). */
export class UtpNativeBackend extends EventEmitter {
  readonly family = 4
  readonly dualStack = false
  private flushTimer?: NodeJS.Timeout

  private constructor(private readonly socket: UtpNativeSocket, readonly port: number) {
    super()
    socket.on('connection', (c: UtpConnection) => {
      this.batch(c)
      this.emit('connection', c)
    })
    socket.on('message', (buf: Buffer, rinfo: { address: string; port: number }) => this.emit('message', buf, { ...rinfo, family: 'IPv4' }))
    socket.on('error', (err: Error) => this.emit('error', err))
  }

  /** Binds host:port; rejects with the system error when it cannot. */
  static async open(utp: UtpNative, host: string, port: number, recvBuffer: number, sendBuffer: number): Promise<UtpNativeBackend> {
    const socket = utp({ allowHalfOpen: false })
    const bound = await new Promise<number>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        socket.removeListener('listening', onListening)
        reject(err)
      }
      const onListening = () => {
        socket.removeListener('error', onError)
        resolve(socket.address().port)
      }
      socket.once('error', onError)
      socket.once('listening', onListening)
      socket.listen(port, host)
    })
    try {
      socket.setRecvBufferSize(recvBuffer)
      socket.setSendBufferSize(sendBuffer)
    } catch {
      // The defaults still work, only slower: not worth failing over.
    }
    return new UtpNativeBackend(socket, bound)
  }

  get connections(): number {
    return this.socket.connections.length
  }

  address(): string {
    return this.socket.address().address
  }

  recvBufferSize(): number {
    return this.socket.getRecvBufferSize()
  }

  connect(host: string, port: number): PeerSocket {
    const c = this.socket.connect(port, host)
    this.batch(c)
    return c
  }

  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void {
    this.socket.send(buf, offset, length, port, host, cb)
  }

  private batch(c: UtpConnection): void {
    if (BATCH_BYTES <= 0) return
    c._view[0] = Math.min(BATCH_BYTES, 65536) // utp-native's buffers leave room for 64 KiB plus one packet
    if (!this.flushTimer) {
      this.flushTimer = setInterval(() => {
        for (const x of this.socket.connections) flushGathered(x)
      }, FLUSH_MS)
      this.flushTimer.unref()
    }
  }

  close(graceMs: number): Promise<void> {
    clearInterval(this.flushTimer)
    for (const c of [...this.socket.connections]) c.destroy()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // A connection whose peer vanished stays in libutp until its own timeout; don't hold the process for it.
        this.socket.unref()
        resolve()
      }, graceMs)
      this.socket.close(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}
