// Which transport to dial a peer over, in which order. libtorrent dials uTP first; bt dials TCP first by default and
// uTP when TCP fails (refused at once, or closed before the BitTorrent handshake: a uTP-only peer), because measured
// here (bench/utp.js, bench/download.js) bt's TCP moves data faster and cheaper than its uTP, every TCP-only peer
// would cost the uTP wait, and a transmission 3.00 leecher gets no data from an RC4 connection we open over uTP.
// `first: 'utp'` gives libtorrent's order. What worked for a peer (a completed handshake) is tried first next time,
// and after a failure the other transport is. Pure bookkeeping; the session dials.

import { utpReaches } from './utp.js'

export type Transport = 'utp' | 'tcp'

export interface DialPolicyOptions {
  utp: boolean
  tcp: boolean
  /** The transport tried first for a peer we know nothing about (default 'tcp'). */
  first?: Transport
  /** Peers remembered (oldest forgotten first). */
  capacity?: number
}

/**
 * How long an outgoing uTP dial may go unanswered before TCP is tried. libutp retransmits its SYN for ~30 s; a peer
 * that speaks uTP answers within a round trip, so a few seconds cover any real network and still fall back quickly.
 */
export const UTP_CONNECT_TIMEOUT_MS = 3000

interface Memory {
  worked?: Transport
  /** The transport of the latest failure: the other one goes first next time (a peer that was still starting may
   * have ignored our uTP, a uTP-only peer closes TCP). */
  lastFailed?: Transport
}

export class DialPolicy {
  private readonly peers = new Map<string, Memory>()
  private readonly capacity: number

  constructor(private readonly opts: DialPolicyOptions) {
    this.capacity = opts.capacity ?? 4096
  }

  /** Transports to try for host:port, first to last; empty when none can reach it (e.g. --no-tcp and IPv6). */
  plan(host: string, port: number): Transport[] {
    const utp = this.opts.utp && utpReaches(host) // IPv6 only with bt's own binding (utp-native speaks IPv4 only)
    const tcp = this.opts.tcp
    const m = this.peers.get(key(host, port))
    const preferred = this.opts.first ?? 'tcp'
    const other: Transport = preferred === 'tcp' ? 'utp' : 'tcp'
    const first: Transport = m?.worked ?? (m?.lastFailed === preferred ? other : preferred)
    const order: Transport[] = first === 'utp' ? ['utp', 'tcp'] : ['tcp', 'utp']
    return order.filter((t) => (t === 'utp' ? utp : tcp))
  }

  /** The connection over `t` completed its BitTorrent handshake. */
  succeeded(host: string, port: number, t: Transport): void {
    this.remember(host, port, (m) => {
      m.worked = t
      m.lastFailed = undefined
    })
  }

  /** A dial over `t` got no connection, or one closed before the BitTorrent handshake. */
  failed(host: string, port: number, t: Transport): void {
    this.remember(host, port, (m) => {
      if (m.worked === t) m.worked = undefined
      m.lastFailed = t
    })
  }

  private remember(host: string, port: number, change: (m: Memory) => void): void {
    const k = key(host, port)
    const m = this.peers.get(k) ?? {}
    this.peers.delete(k) // re-insert: Map order is recency order
    change(m)
    this.peers.set(k, m)
    if (this.peers.size > this.capacity) this.peers.delete(this.peers.keys().next().value as string)
  }
}

function key(host: string, port: number): string {
  return `${host}:${port}`
}
