// uTP (BEP 29) as a byte-stream transport: one UDP socket that accepts incoming uTP connections and dials outgoing
// ones from the same port, each connection a Duplex that the session uses exactly like a net.Socket
// (`socket.pipe(wire).pipe(socket)`, setTimeout, destroy, remoteAddress, writableLength/'drain').
// The protocol itself is libutp through the `utp-native` binding (an optional dependency): when it is missing or does
// not load, open() says why once per process and the caller carries on over TCP alone.

import { createRequire } from 'node:module'
import { EventEmitter } from 'node:events'
import { isIPv4 } from 'node:net'
import type { Duplex } from 'node:stream'
import { BtError, ExitCode, systemReason } from '../errors.js'

/** What the session needs of a peer connection, whether it runs over TCP (net.Socket) or uTP. */
export interface PeerSocket extends Duplex {
  readonly remoteAddress?: string
  readonly remotePort?: number
  setTimeout(ms: number, onTimeout?: () => void): this
  setNoDelay(noDelay?: boolean): this
}

export interface UtpOptions {
  port: number
  /** IPv4 address to bind (default 0.0.0.0): libutp through utp-native speaks IPv4 only. */
  host?: string
  /** The binding to load (tests name a missing one to check the fallback). Default 'utp-native'. */
  module?: string
  /** Kernel receive buffer for the UDP socket, bytes; see RECV_BUFFER. */
  recvBuffer?: number
}

// libutp lets a connection have 1 MiB in flight. The kernel's default UDP receive buffer (212 KiB here) overflows
// under one such burst, every overflow is a loss, and each loss halves the window: measured on loopback, 256 MiB moved
// at 3 MiB/s with the default buffer and at ~50 MiB/s with 8 MiB (no drops). Linux clamps the request to
// net.core.rmem_max (4 MiB here) for unprivileged processes; that is still enough for two full windows.
const RECV_BUFFER = 8 * 1024 * 1024
const SEND_BUFFER = 4 * 1024 * 1024
// libutp hands every packet (~1.4 KB) to JavaScript as its own callback and stream chunk. utp-native can instead
// gather bytes in native memory until a threshold; whatever sits below it is taken by a timer (copied out), so a
// lone 17-byte request waits at most FLUSH_MS. Fewer, larger chunks cut bt's CPU per byte received (see bench/utp.js).
const BATCH_BYTES = Number(process.env.BT_UTP_BATCH ?? 32 * 1024)
const FLUSH_MS = 4
/** How long close() waits for libutp to finish closing connections before it lets go of the socket anyway. */
const CLOSE_GRACE_MS = 2000

interface UtpNative {
  (opts?: { allowHalfOpen?: boolean }): UtpNativeSocket
}
interface UtpNativeSocket extends EventEmitter {
  connections: UtpConnection[]
  maxConnections: number
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

/** What k-rpc uses of a dgram.Socket. */
export interface DatagramFacade extends EventEmitter {
  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void
  bind(...args: unknown[]): void
  address(): { address: string; family: string; port: number }
  close(): void
  ref(): DatagramFacade
  unref(): DatagramFacade
}

let native: UtpNative | null | undefined
let nativeModule: string | undefined
let warned = false

/** The binding, or null with the reason given to `warn` the first time it fails to load in this process. */
function loadNative(name: string, warn: (message: string) => void): UtpNative | null {
  if (native !== undefined && nativeModule === name) return native
  nativeModule = name
  try {
    const require = createRequire(import.meta.url)
    native = require(name) as UtpNative
    adaptConnection(require(`${name}/lib/connection.js`).prototype)
  } catch (err) {
    native = null
    if (!warned) {
      warned = true
      const why = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'not installed' : (err as Error).message.split('\n')[0]
      warn(`uTP disabled (${name}: ${why}); using TCP only`)
    }
  }
  return native
}

/** Whether uTP can be used at all in this process (loads the binding on first call; never warns). */
export function utpAvailable(module = 'utp-native'): boolean {
  return loadNative(module, () => {}) !== null
}

// utp-native's connection mimics net.Socket but misses a few of the methods the session calls; add them once to its
// prototype rather than wrapping every connection in a second stream (an extra hop for every packet).
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
  // Nagle and keepalive are TCP matters; libutp sends what it has at once and the wire sends its own keepalives.
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

/**
 * One UDP port speaking uTP: 'connection' for each incoming connection (a PeerSocket), connect() for outgoing ones.
 * Other datagrams on the port (a DHT sharing it) arrive as 'message' (buf, rinfo) and leave through send().
 */
export class UtpEndpoint extends EventEmitter {
  private closed = false
  private flushTimer?: NodeJS.Timeout

  private constructor(private readonly socket: UtpNativeSocket, readonly port: number) {
    super()
    socket.on('connection', (c: UtpConnection) => {
      if (this.closed) return void c.destroy()
      this.batch(c)
      c.on('error', () => {}) // the owner adds its own; an unowned error must not crash the process
      this.emit('connection', c)
    })
    socket.on('message', (buf: Buffer, rinfo: { address: string; port: number }) => this.emit('message', buf, rinfo))
    socket.on('error', (err: Error) => this.emit('warning', `uTP socket: ${err.message}`))
  }

  /**
   * Binds the UDP port. Resolves with undefined (after one warning per process through `warn`) when the binding is
   * unavailable; rejects with a BtError when the port cannot be bound.
   */
  static async open(opts: UtpOptions, warn: (message: string) => void = (m) => process.emitWarning(m)): Promise<UtpEndpoint | undefined> {
    const utp = loadNative(opts.module ?? 'utp-native', warn)
    if (!utp) return undefined
    const host = opts.host && opts.host !== '::' ? opts.host : '0.0.0.0'
    if (!isIPv4(host)) throw new BtError(`uTP listens on IPv4 only, not ${host}`, ExitCode.usage)
    const socket = utp({ allowHalfOpen: false })
    const port = await new Promise<number>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        socket.removeListener('listening', onListening)
        reject(new BtError(`cannot open uTP port ${opts.port}: ${systemReason(err.code) ?? err.message}`, ExitCode.network))
      }
      const onListening = () => {
        socket.removeListener('error', onError)
        resolve(socket.address().port)
      }
      socket.once('error', onError)
      socket.once('listening', onListening)
      socket.listen(opts.port, host)
    })
    try {
      socket.setRecvBufferSize(opts.recvBuffer ?? RECV_BUFFER)
      socket.setSendBufferSize(SEND_BUFFER)
    } catch {
      // The defaults still work, only slower: not worth failing over.
    }
    return new UtpEndpoint(socket, port)
  }

  /** Whether connect() can reach this address (IPv4 only). */
  static canDial(host: string): boolean {
    return isIPv4(host)
  }

  /** Kernel receive buffer actually granted (Linux reports twice the request, clamped by rmem_max). */
  recvBufferSize(): number {
    return this.socket.getRecvBufferSize()
  }

  /** Connections open now, incoming and outgoing. */
  get connections(): number {
    return this.socket.connections.length
  }

  /**
   * Dials host:port from this endpoint's port. The socket emits 'connect' once the peer answered (or 'error' with
   * ETIMEDOUT after `timeoutMs`, libutp's own SYN retries being far longer than a dial policy wants to wait).
   */
  connect(host: string, port: number, timeoutMs = 0): PeerSocket {
    if (this.closed) throw new BtError('uTP endpoint is closed', ExitCode.network)
    if (!isIPv4(host)) throw new BtError(`uTP dials IPv4 addresses only, not ${host}`, ExitCode.usage)
    const c = this.socket.connect(port, host)
    this.batch(c)
    if (timeoutMs > 0) {
      const timer = setTimeout(() => {
        const err = Object.assign(new Error(`uTP connect to ${host}:${port} timed out`), { code: 'ETIMEDOUT' })
        c.destroy(err)
      }, timeoutMs)
      const stop = () => clearTimeout(timer)
      c.once('connect', stop)
      c.once('close', stop)
    }
    return c
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

  /** Sends one raw datagram from this port (for a DHT sharing it). */
  send(buf: Uint8Array, port: number, host: string, cb?: (err: Error | null) => void): void {
    this.socket.send(buf, 0, buf.length, port, host, cb)
  }

  /**
   * A dgram.Socket look-alike over this port for k-rpc (the DHT): uTP packets go to libutp, every other datagram
   * comes out here, as libtorrent shares its one UDP port. bind() only reports the endpoint's port; close() detaches
   * the facade and leaves the endpoint to its owner.
   */
  datagramSocket(): DatagramFacade {
    const facade = new EventEmitter() as DatagramFacade
    const onMessage = (buf: Buffer, rinfo: unknown) => facade.emit('message', buf, rinfo)
    this.on('message', onMessage)
    facade.send = (buf, offset, length, port, host, cb) => {
      if (this.closed) return void process.nextTick(() => cb?.(new Error('uTP endpoint is closed')))
      this.socket.send(buf, offset, length, port, host, cb)
    }
    facade.bind = () => void process.nextTick(() => facade.emit('listening'))
    facade.address = () => ({ address: this.socket.address().address, family: 'IPv4', port: this.port })
    facade.close = () => {
      this.off('message', onMessage)
      process.nextTick(() => facade.emit('close'))
    }
    facade.ref = facade.unref = () => facade
    return facade
  }

  /** Destroys every connection and closes the port; waits at most CLOSE_GRACE_MS for libutp to wind down. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    clearInterval(this.flushTimer)
    for (const c of [...this.socket.connections]) c.destroy()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // A connection whose peer vanished stays in libutp until its own timeout; don't hold the process for it.
        this.socket.unref()
        resolve()
      }, CLOSE_GRACE_MS)
      this.socket.close(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}
