// The listen side of both transports: a TCP server and a uTP endpoint on the same port number (peers learn one port
// from trackers, the DHT and PEX, and dial it over either), with the Client's port candidates and uTP's fallback.

import net from 'node:net'
import { BtError, ExitCode, systemReason } from '../errors.js'
import { UtpEndpoint, utpBinding, type PeerSocket } from './utp.js'
import { shareAcceptedReads } from './shared-read.js'

export interface ListenOptions {
  /** Ports to try in order; 0 = any free port. */
  candidates: number[]
  /** Addresses to listen on over TCP, all on one port ([undefined] = every interface, dual stack where possible). */
  hosts: Array<string | undefined>
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
  /** One TCP server per address (none with tcp off). */
  servers: net.Server[]
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
      const servers: net.Server[] = []
      try {
        let port = candidate
        if (o.tcp) {
          // The first socket may pick the port (0); the others take the same one.
          for (const host of o.hosts) {
            servers.push(await tcpServer(servers.length ? port : candidate, host, o.onTcp))
            port = (servers[0].address() as net.AddressInfo).port
          }
        }
        const host = o.utp ? utpHost(o.hosts, utpBinding(o.utpModule) === 'own') : null
        if (!o.utp || host === null) {
          if (!o.tcp) throw new BtError('--no-tcp needs uTP, and uTP (utp-native) runs over IPv4 only: give an IPv4 --bind address', ExitCode.usage)
          return { port, servers }
        }
        const utp = await UtpEndpoint.open({ port, host, module: o.utpModule }, o.warn)
        if (!utp) {
          if (!o.tcp) throw new BtError('--no-tcp needs uTP, and uTP is unavailable here (utp-native did not load)', ExitCode.usage)
          return { port, servers }
        }
        utp.on('connection', o.onUtp)
        return { port: utp.port, servers, utp }
      } catch (err) {
        for (const s of servers) s.close()
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

// uTP is one UDP socket: the default address (dual stack with our binding) when TCP listens on all interfaces, else
// the first IPv4 listen address, else (our binding only: utp-native is IPv4-only) the first IPv6 one; null for none.
// A list of both families therefore gets uTP on its IPv4 address only.
function utpHost(hosts: Array<string | undefined>, ipv6: boolean): string | undefined | null {
  if (hosts.some((h) => h === undefined || h === '::' || h === '0.0.0.0')) return undefined
  const v4 = hosts.find((h): h is string => h !== undefined && net.isIPv4(h))
  if (v4 !== undefined) return v4
  // An IPv4-mapped address (::ffff:a.b.c.d) cannot be bound by an IPv6 UDP socket (EINVAL): no uTP for it.
  return (ipv6 ? hosts.find((h): h is string => h !== undefined && net.isIPv6(h) && !/^::ffff:/i.test(h)) : undefined) ?? null
}

function tcpServer(port: number, host: string | undefined, onSocket: (s: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // Accepted peers read into the process's shared buffer, as dialled ones do (see shared-read.ts).
    const server = net.createServer((s) => {
      shareAcceptedReads(s)
      onSocket(s)
    })
    server.once('error', reject)
    server.listen({ port, host }, () => {
      server.removeListener('error', reject)
      resolve(server)
    })
  })
}
