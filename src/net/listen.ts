// The listen side of both transports: a TCP server and a uTP endpoint on the same port number (peers learn one port
// from trackers, the DHT and PEX, and dial it over either), with the Client's port candidates and uTP's fallback.

import net from 'node:net'
import { BtError, ExitCode, systemReason } from '../errors.js'
import { UtpEndpoint, type PeerSocket } from './utp.js'

export interface ListenOptions {
  /** Ports to try in order; 0 = any free port. */
  candidates: number[]
  host?: string
  tcp: boolean
  utp: boolean
  onTcp: (socket: net.Socket) => void
  onUtp: (socket: PeerSocket) => void
  /** Told once per process when uTP cannot load; the listener then runs TCP only. */
  warn: (message: string) => void
  /** The binding to load (tests). */
  utpModule?: string
}

export interface Listeners {
  port: number
  server?: net.Server
  utp?: UtpEndpoint
}

// With port 0 the kernel picks a free TCP port whose UDP twin may be taken (by a DHT, another client): try again.
const ANY_PORT_TRIES = 8

/** Binds TCP and/or uTP on one port number; rejects with a BtError when no candidate works for every transport asked. */
export async function listenTransports(o: ListenOptions): Promise<Listeners> {
  if (!o.tcp && !o.utp) throw new BtError('both TCP and uTP are switched off: nothing to listen on', ExitCode.usage)
  let lastErr: unknown
  for (const candidate of o.candidates) {
    for (let i = 0; i < (candidate === 0 ? ANY_PORT_TRIES : 1); i++) {
      let server: net.Server | undefined
      try {
        let port = candidate
        if (o.tcp) {
          server = await tcpServer(candidate, o.host, o.onTcp)
          port = (server.address() as net.AddressInfo).port
        }
        if (!o.utp) return { port, server }
        const utp = await UtpEndpoint.open({ port, host: utpHost(o.host), module: o.utpModule }, o.warn)
        if (!utp) {
          if (!o.tcp) throw new BtError('--no-tcp needs uTP, and uTP is unavailable here (utp-native did not load)', ExitCode.usage)
          return { port, server }
        }
        utp.on('connection', o.onUtp)
        return { port: utp.port, server, utp }
      } catch (err) {
        server?.close()
        if (err instanceof BtError && err.exitCode === ExitCode.usage) throw err
        lastErr = err
      }
    }
  }
  if (lastErr instanceof BtError) throw lastErr
  const code = (lastErr as NodeJS.ErrnoException)?.code
  const wanted = o.candidates.length === 1 ? o.candidates[0] : `${o.candidates[0]}…`
  throw new BtError(`cannot listen on port ${wanted}: ${systemReason(code) ?? (lastErr as Error)?.message}`, ExitCode.network)
}

// uTP binds IPv4 only: a dual-stack or IPv6 TCP listen address still gets uTP on every IPv4 address.
function utpHost(host: string | undefined): string | undefined {
  return host && net.isIPv4(host) ? host : undefined
}

function tcpServer(port: number, host: string | undefined, onSocket: (s: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onSocket)
    server.once('error', reject)
    server.listen({ port, host }, () => {
      server.removeListener('error', reject)
      resolve(server)
    })
  })
}
