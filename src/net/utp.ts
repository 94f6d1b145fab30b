// uTP (BEP 29) as a byte-stream transport: one UDP socket that accepts incoming uTP connections and dials outgoing
// ones from the same port, each connection a Duplex that the session uses exactly like a net.Socket
// (`socket.pipe(wire).pipe(socket)`, setTimeout, destroy, remoteAddress, writableLength/'drain').
// The protocol itself is libutp, through one of two backends:
//   own         bt's binding (native/utp, src/net/utp-own.ts; built by `npm run build`): IPv4 and IPv6 (dual stack
//               on '::'), prompt close on libtorrent's FIN, batched reads, no timer while idle;
//   utp-native  the npm binding (src/net/utp-native.ts; optional dependency): IPv4 only; used when ours is not built.
// BT_UTP_BINDING=own|utp-native picks one. When none loads, open() says why once per process and the caller carries
// on over TCP alone.

import { EventEmitter } from 'node:events'
import { isIPv4, isIPv6 } from 'node:net'
import type { Duplex } from 'node:stream'
import { BtError, ExitCode, systemReason } from '../errors.js'
import { loadOwnBinding, ownBindingError, OwnSocket } from './utp-own.js'
import { loadUtpNative, UtpNativeBackend } from './utp-native.js'

/** What the session needs of a peer connection, whether it runs over TCP (net.Socket) or uTP. */
export interface PeerSocket extends Duplex {
  readonly remoteAddress?: string
  readonly remotePort?: number
  setTimeout(ms: number, onTimeout?: () => void): this
  setNoDelay(noDelay?: boolean): this
}

export interface UtpOptions {
  port: number
  /** Address to bind (default: '::', dual stack, with the own binding; 0.0.0.0 with utp-native, IPv4 only). */
  host?: string
  /** The binding to load: 'own', or an npm module name ('utp-native'; tests name a missing one to check the
   * fallback). Default: BT_UTP_BINDING, else 'own' then 'utp-native'. */
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
/** How long close() waits for libutp to finish closing connections before it lets go of the socket anyway. */
const CLOSE_GRACE_MS = 2000

/** What UtpEndpoint needs of a backend. Events: 'connection' (PeerSocket), 'message' (buf, rinfo), 'error'. */
interface Backend extends EventEmitter {
  readonly port: number
  /** 6: the socket is IPv6 (dual stack on '::') and dials both families; 4: IPv4 only. */
  readonly family: number
  /** An IPv6 socket on '::' that also speaks IPv4. */
  readonly dualStack: boolean
  readonly connections: number
  address(): string
  recvBufferSize(): number
  connect(host: string, port: number): PeerSocket
  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void
  close(graceMs: number): Promise<void>
}

/** What k-rpc uses of a dgram.Socket. */
export interface DatagramFacade extends EventEmitter {
  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void
  bind(...args: unknown[]): void
  address(): { address: string; family: string; port: number }
  close(): void
  ref(): DatagramFacade
  unref(): DatagramFacade
}

let warned = false
/** Endpoints open now that can dial IPv6 (the own binding on '::' or an IPv6 address). */
let ipv6Endpoints = 0

/**
 * Whether uTP can reach this peer address from this process: IPv4 always, IPv6 while an IPv6-capable endpoint is open
 * (the dial policy asks; an endpoint that cannot dial a family refuses in connect() and the dialer moves on to TCP).
 */
export function utpReaches(host: string): boolean {
  return isIPv4(host) || (ipv6Endpoints > 0 && isIPv6(host))
}

type Opener = (host: string | undefined, port: number, recvBuffer: number) => Promise<Backend>

/** The backends to try in order for `module`, each with its opener, or the reasons none loads. */
function backends(module: string | undefined): { opener?: Opener; name: string; why: string[] } {
  const wanted = module ?? process.env.BT_UTP_BINDING
  const names = wanted ? [wanted] : ['own', 'utp-native']
  const why: string[] = []
  for (const name of names) {
    if (name === 'own') {
      const n = loadOwnBinding()
      if (n) return { name, why, opener: (host, port, recvBuffer) => openOwn(n, host, port, recvBuffer) }
      why.push(`native/utp: ${ownBindingError()}`)
    } else {
      const { utp, why: reason } = loadUtpNative(name)
      if (utp) {
        return {
          name,
          why,
          opener: (host, port, recvBuffer) => {
            const h = host && host !== '::' ? host : '0.0.0.0'
            if (!isIPv4(h)) throw new BtError(`uTP (utp-native) listens on IPv4 only, not ${h}`, ExitCode.usage)
            return UtpNativeBackend.open(utp, h, port, recvBuffer, SEND_BUFFER)
          },
        }
      }
      why.push(`${name}: ${reason}`)
    }
  }
  return { name: names.join(', '), why }
}

async function openOwn(n: NonNullable<ReturnType<typeof loadOwnBinding>>, host: string | undefined, port: number, recvBuffer: number): Promise<Backend> {
  const open = (h: string) => new OwnSocket(n, { host: h, port, recvBuffer, sendBuffer: SEND_BUFFER })
  if (host !== undefined) return open(host)
  try {
    return open('::')
  } catch (err) {
    // A kernel without IPv6: IPv4 alone.
    if (['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes((err as NodeJS.ErrnoException).code ?? '')) return open('0.0.0.0')
    throw err
  }
}

/** Whether uTP can be used at all in this process (loads the binding on first call; never warns). */
export function utpAvailable(module?: string): boolean {
  return !!backends(module).opener
}

/** Which binding open() uses by default ('own' or 'utp-native'), or undefined when none loads. */
export function utpBinding(module?: string): string | undefined {
  const b = backends(module)
  return b.opener ? b.name : undefined
}

/**
 * One UDP port speaking uTP: 'connection' for each incoming connection (a PeerSocket), connect() for outgoing ones.
 * Other datagrams on the port (a DHT sharing it) arrive as 'message' (buf, rinfo) and leave through send().
 */
export class UtpEndpoint extends EventEmitter {
  private closed = false

  private constructor(private readonly backend: Backend, readonly binding: string) {
    super()
    if (backend.family === 6) ipv6Endpoints++
    backend.on('connection', (c: PeerSocket) => {
      if (this.closed) return void c.destroy()
      c.on('error', () => {}) // the owner adds its own; an unowned error must not crash the process
      this.emit('connection', c)
    })
    backend.on('message', (buf: Buffer, rinfo: unknown) => this.emit('message', buf, rinfo))
    backend.on('error', (err: Error) => this.emit('warning', `uTP socket: ${err.message}`))
  }

  /**
   * Binds the UDP port. Resolves with undefined (after one warning per process through `warn`) when no binding is
   * available; rejects with a BtError when the port cannot be bound.
   */
  static async open(opts: UtpOptions, warn: (message: string) => void = (m) => process.emitWarning(m)): Promise<UtpEndpoint | undefined> {
    const b = backends(opts.module)
    if (!b.opener) {
      if (!warned) {
        warned = true
        warn(`uTP disabled (${b.why.join('; ')}); using TCP only`)
      }
      return undefined
    }
    try {
      return new UtpEndpoint(await b.opener(opts.host, opts.port, opts.recvBuffer ?? RECV_BUFFER), b.name)
    } catch (err) {
      if (err instanceof BtError) throw err
      const code = (err as NodeJS.ErrnoException).code
      throw new BtError(`cannot open uTP port ${opts.port}: ${systemReason(code) ?? (err as Error).message}`, ExitCode.network)
    }
  }

  /** Whether some endpoint of the default binding could dial this address (IPv6 needs the own binding). */
  static canDial(host: string): boolean {
    return isIPv4(host) || (isIPv6(host) && utpBinding() === 'own')
  }

  get port(): number {
    return this.backend.port
  }

  /** Whether this endpoint can dial the address (an IPv4 socket cannot reach IPv6 peers, nor the reverse). */
  canDial(host: string): boolean {
    return isIPv4(host) ? this.backend.family === 4 || this.backend.dualStack : isIPv6(host) && this.backend.family === 6
  }

  /** Kernel receive buffer actually granted (Linux reports twice the request, clamped by rmem_max). */
  recvBufferSize(): number {
    return this.backend.recvBufferSize()
  }

  /** Whether a periodic timer runs for libutp now (the own binding: only while connections exist; utp-native's
   * fixed 20 ms timer is not visible here). */
  get timerRunning(): boolean {
    return (this.backend as { ticking?: boolean }).ticking ?? false
  }

  /** Connections open now, incoming and outgoing. */
  get connections(): number {
    return this.backend.connections
  }

  /**
   * Dials host:port from this endpoint's port. The socket emits 'connect' once the peer answered (or 'error' with
   * ETIMEDOUT after `timeoutMs`, libutp's own SYN retries being far longer than a dial policy wants to wait).
   */
  connect(host: string, port: number, timeoutMs = 0): PeerSocket {
    if (this.closed) throw new BtError('uTP endpoint is closed', ExitCode.network)
    if (!this.canDial(host)) {
      throw new BtError(`this uTP endpoint dials ${this.backend.family === 4 ? 'IPv4' : 'IPv6'} addresses only, not ${host}`, ExitCode.usage)
    }
    const c = this.backend.connect(host, port)
    if (timeoutMs > 0) {
      const timer = setTimeout(() => {
        const where = isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
        c.destroy(Object.assign(new Error(`uTP connect to ${where} timed out`), { code: 'ETIMEDOUT' }))
      }, timeoutMs)
      const stop = () => clearTimeout(timer)
      c.once('connect', stop)
      c.once('close', stop)
    }
    return c
  }

  /** Sends one raw datagram from this port (for a DHT sharing it). */
  send(buf: Uint8Array, port: number, host: string, cb?: (err: Error | null) => void): void {
    this.backend.send(buf, 0, buf.length, port, host, cb)
  }

  /** Whether one socket serves both families (the own binding on '::'): the IPv6 DHT can share it too. */
  get dualStack(): boolean {
    return this.backend.dualStack
  }

  /**
   * A dgram.Socket look-alike over this port for k-rpc (the DHT of `family`): uTP packets go to libutp, every other
   * datagram from a sender of that family comes out here, as libtorrent shares its one UDP port. bind() only reports
   * the endpoint's port; close() detaches the facade and leaves the endpoint to its owner.
   */
  datagramSocket(family: 4 | 6 = 4): DatagramFacade {
    const facade = new EventEmitter() as DatagramFacade
    const want = family === 4 ? 'IPv4' : 'IPv6'
    // A dual-stack socket hears senders of both families; each DHT node must see only its own.
    const onMessage = (buf: Buffer, rinfo: { family?: string }) => {
      if ((rinfo.family ?? 'IPv4') === want) facade.emit('message', buf, rinfo)
    }
    this.on('message', onMessage)
    facade.send = (buf, offset, length, port, host, cb) => {
      if (this.closed) return void process.nextTick(() => cb?.(new Error('uTP endpoint is closed')))
      this.backend.send(buf, offset, length, port, host, cb)
    }
    facade.bind = () => void process.nextTick(() => facade.emit('listening'))
    const address = family === 6 ? '::' : this.backend.family === 6 ? '0.0.0.0' : this.backend.address()
    facade.address = () => ({ address, family: want, port: this.port })
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
    if (this.backend.family === 6) ipv6Endpoints--
    return this.backend.close(CLOSE_GRACE_MS)
  }
}
