// Outgoing connections over TCP or uTP, in the order the DialPolicy gives: the session asks for a connected socket to
// host:port and gets one (with its transport) or the last error. Failed connects are reported to the policy here; the
// session reports the handshake's outcome (a TCP connect that a uTP-only peer closes at once is no success).

import net from 'node:net'
import { DialPolicy, UTP_CONNECT_TIMEOUT_MS, type Transport } from './dial-policy.js'
import type { PeerSocket, UtpEndpoint } from './utp.js'
import { markShared, sharedReadOption } from './shared-read.js'

export interface Transports {
  policy: DialPolicy
  /** The uTP endpoint (absent: uTP switched off or unavailable). */
  utp?: UtpEndpoint
  /** TCP connect timeout (the session's). */
  tcpTimeoutMs: number
  /** uTP connect timeout before the next transport is tried (default UTP_CONNECT_TIMEOUT_MS). */
  utpTimeoutMs?: number
}

/** What the Client provides; the peer manager adds its TCP timeout. */
export type DialTransports = Omit<Transports, 'tcpTimeoutMs'> & { tcpTimeoutMs?: number }

/** No uTP: a Client that has not listened yet, or a context without transports. */
export const TCP_ONLY: DialTransports = { policy: new DialPolicy({ utp: false, tcp: true }) }

export interface Dialed {
  socket: PeerSocket
  transport: Transport
}

/**
 * Connects to host:port over each planned transport in turn. Rejects with the last error (code ETIMEDOUT when the
 * last one timed out, ENOTRANSPORT when no transport can reach the address). `signal` aborts a dial in progress.
 */
export async function dialPeer(host: string, port: number, t: Transports, signal?: AbortSignal): Promise<Dialed> {
  const plan = t.policy.plan(host, port).filter((x) => x === 'tcp' || t.utp)
  if (plan.length === 0) throw Object.assign(new Error(`no transport reaches ${host}:${port}`), { code: 'ENOTRANSPORT' })
  // uTP goes first ahead of TCP only when TCP misbehaved last time (or by `first: 'utp'`): TCP is then known to be
  // there, so a silent uTP gets a short wait before it (a peer that was merely starting costs 1 s, not 3).
  const utpTimeoutMs = t.utpTimeoutMs ?? (plan[0] === 'utp' && plan.includes('tcp') ? UTP_FIRST_TIMEOUT_MS : UTP_CONNECT_TIMEOUT_MS)
  let last: unknown
  let refused: unknown
  for (const transport of plan) {
    if (signal?.aborted) break
    try {
      const socket = await connectOne(transport, host, port, { ...t, utpTimeoutMs }, signal)
      return { socket, transport }
    } catch (err) {
      last = err
      if ((err as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') refused = err
      if (!signal?.aborted) t.policy.failed(host, port, transport)
    }
  }
  // A port that refused TCP and stayed silent over uTP is a closed port: say "refused", not "timed out".
  throw refused ?? last ?? Object.assign(new Error('dial aborted'), { code: 'ABORT_ERR' })
}

/** uTP's wait when it is tried before a TCP that connected but misbehaved on the last dial. */
export const UTP_FIRST_TIMEOUT_MS = 1000

function connectOne(transport: Transport, host: string, port: number, t: Transports, signal?: AbortSignal): Promise<PeerSocket> {
  return new Promise((resolve, reject) => {
    let socket: PeerSocket
    if (transport === 'utp') socket = t.utp!.connect(host, port, t.utpTimeoutMs ?? UTP_CONNECT_TIMEOUT_MS)
    else {
      const s: net.Socket = net.connect({ host, port, onread: sharedReadOption(() => s) })
      markShared(s)
      s.setTimeout(t.tcpTimeoutMs, () => s.destroy(Object.assign(new Error(`TCP connect to ${host}:${port} timed out`), { code: 'ETIMEDOUT' })))
      socket = s
    }
    const onAbort = () => socket.destroy()
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = () => signal?.removeEventListener('abort', onAbort)
    const fail = (err?: Error) => {
      done()
      socket.removeListener('connect', ok)
      reject(err ?? Object.assign(new Error(`${transport} connection to ${host}:${port} closed`), { code: 'ECONNRESET' }))
    }
    const ok = () => {
      done()
      socket.removeListener('error', fail)
      socket.removeListener('close', onClose)
      socket.setTimeout(0)
      resolve(socket)
    }
    const onClose = () => fail()
    socket.once('connect', ok)
    socket.once('error', fail)
    socket.once('close', onClose)
  })
}
