// The peers a torrent knows and how it reaches them: candidate addresses from every source, dialing within the
// Client's limits, the handshake up to the point a connection becomes a Peer, back-off after failures, bans, and the
// memory of peers that refused our encrypted handshake (they are dialled in plain text from then on).

import { dialPeer, TCP_ONLY } from '../net/dialer.js'
import type { Transport } from '../net/dial-policy.js'
import type { PeerSocket as Socket } from '../net/utp.js'
import { isLoopbackHost, normalizeHost, peerKey, type PeerAddress } from '../discovery/peer-address.js'
import { PeerWire, connectWire } from '../wire/peer-wire.js'
import { acceptable, failedInCrypto, peLevel, startOutgoing } from '../wire/encryption.js'
import type { ClientContext } from './context.js'
import type { Peer } from './peer.js'

export interface ConnectionEnds {
  /** Dials that failed before connecting (refused, unreachable, reset). */
  refused: number
  /** Dials or handshakes that took too long. */
  timeout: number
  /**
   * Connected, then closed before the BitTorrent handshake completed: an encryption-only peer, a client that refuses
   * loopback or its own IP, a full peer, or one that answered for another torrent.
   */
  handshake: number
  /** Closed after the handshake, by either side. */
  closed: number
  /** Closed by us for a protocol violation or bad data. */
  banned: number
  /**
   * Refused for encryption: with --encryption require, a peer that closed on our encrypted handshake (plain-only) or
   * connected in plain text; with prefer, an encrypted handshake that failed (the dial is retried in plain text).
   */
  encryption: number
}

/** What the peer manager needs from the Client: identity, connection limits, encryption policy. */
export type DialContext = Pick<
  ClientContext,
  'peerId' | 'maxPeersPerTorrent' | 'dhtEnabled' | 'encryption' | 'transports' | 'isSelf' | 'canDial' | 'dialStarted' | 'dialEnded'
>

/** What the peer manager needs from its torrent. */
export interface SwarmHost {
  readonly infoHash: string
  readonly infoHashBuffer: Buffer
  /** The connected peers, by key (the torrent owns the map; attach adds to it, detach removes). */
  readonly peers: ReadonlyMap<string, Peer>
  /** Whether to dial more peers now (not when stopped, nor when complete and not seeding). */
  wantsPeers(): boolean
  /** Add BEP 10 extensions to a new wire before its handshake. */
  prepareWire(wire: PeerWire): void
  /** A connection that handshook for this torrent and was admitted: make it a peer. */
  attach(wire: PeerWire, socket: Socket, address: PeerAddress, key: string, incoming: boolean): void
  warn(message: string): void
}

const HANDSHAKE_TIMEOUT_MS = 10_000
const CONNECT_TIMEOUT_MS = 5_000
const MAX_CANDIDATES = 2000
/** Incoming connections admitted beyond the dial limit (a peer that dials us is worth more than a silent address). */
const INCOMING_SLACK = 10

type DialEnd = 'timeout' | 'handshake' | 'encryption'

interface Candidate {
  address: PeerAddress
  failures: number
  nextTry: number
  connecting: boolean
  /** Closed our encrypted handshake once (prefer mode): dialled in plain text from then on. */
  plainOnly?: boolean
}

export class PeerManager {
  /** Why connections ended since the start (shown in stats: peers 0 for minutes has a reason). */
  readonly ends: ConnectionEnds = { refused: 0, timeout: 0, handshake: 0, closed: 0, banned: 0, encryption: 0 }
  private readonly candidates = new Map<string, Candidate>()
  private readonly banned = new Set<string>()
  private readonly bannedIds = new Set<string>()
  private connecting = 0
  private closed = false

  constructor(
    private readonly ctx: DialContext,
    private readonly host: SwarmHost,
  ) {}

  /** Addresses known (connected or not). */
  get known(): number {
    return this.candidates.size
  }

  /** No more dials or admissions (the torrent stopped). Dials under way end on their own. */
  close(): void {
    this.closed = true
  }

  /** Learn peer addresses from any source; connects as slots allow. */
  add(addrs: PeerAddress[]): void {
    if (this.closed) return
    for (const a of addrs) {
      const key = peerKey(a)
      if (this.candidates.has(key) || this.isBanned(a) || this.ctx.isSelf(a)) continue
      if (this.candidates.size >= MAX_CANDIDATES && !this.evictCandidate()) break
      this.candidates.set(key, { address: a, failures: 0, nextTry: 0, connecting: false })
    }
    this.connectMore()
  }

  /** Make room among known addresses: drop one that failed before (PEX from hostile peers can name many). */
  private evictCandidate(): boolean {
    for (const [key, c] of this.candidates) {
      if (c.failures > 0 && !c.connecting && !this.host.peers.has(key)) {
        this.candidates.delete(key)
        return true
      }
    }
    return false
  }

  /** Dial known addresses whose back-off has passed, within this torrent's and the Client's limits. */
  connectMore(): void {
    if (this.closed || !this.host.wantsPeers()) return
    const now = Date.now()
    const peers = this.host.peers
    for (const [key, c] of this.candidates) {
      if (peers.size + this.connecting >= this.ctx.maxPeersPerTorrent) return
      if (!this.ctx.canDial()) return
      if (c.connecting || peers.has(key) || c.nextTry > now) continue
      this.dial(key, c)
    }
  }

  private dial(key: string, c: Candidate): void {
    c.connecting = true
    this.connecting++
    this.ctx.dialStarted()
    let settled = false
    let connected = false
    let timedOut = false
    let wire: PeerWire | undefined
    let dialedOver: Transport | undefined
    const transports = this.ctx.transports ?? TCP_ONLY
    const policy = transports.policy
    const mode = this.ctx.encryption ?? 'prefer'
    const finish = (ok: boolean, why?: DialEnd) => {
      if (settled) return
      settled = true
      const inCrypto = !ok && connected && failedInCrypto(wire)
      // Tell the dial policy how the transport did with this peer (a failed connect it saw itself), unless a plain-text
      // retry over the same transport comes next. A connection closed before the handshake counts against its
      // transport (a uTP-only libtorrent accepts TCP and closes it); the next dial then tries the other one first,
      // briefly (see dialPeer), since peers also close while they start up.
      if (dialedOver && ok) policy.succeeded(c.address.host, c.address.port, dialedOver)
      else if (dialedOver && !(inCrypto && mode === 'prefer' && !c.plainOnly)) policy.failed(c.address.host, c.address.port, dialedOver)
      // A peer that stayed silent through our encrypted handshake timed out (it is still tried in plain text below);
      // one that closed it refused encryption.
      if (!ok) this.ends[inCrypto && why !== 'timeout' ? 'encryption' : why ?? (timedOut ? 'timeout' : connected ? 'handshake' : 'refused')]++
      c.connecting = false
      this.connecting--
      this.ctx.dialEnded()
      if (inCrypto && mode === 'prefer' && !c.plainOnly) {
        // The peer closed (or ignored) our encrypted handshake: dial again at once in plain text.
        c.plainOnly = true
        c.nextTry = 0
        setImmediate(() => this.connectMore())
        return
      }
      if (!ok) {
        c.failures++
        // Back off: 2 s, 4 s, 8 s … capped at 10 min; forget after many failures. The first retries come soon: a
        // peer given by hand (--peer, x.pe) may simply not be up yet.
        c.nextTry = Date.now() + Math.min(600_000, 2_000 * 2 ** (c.failures - 1))
        if (c.failures > 10) this.candidates.delete(key)
        setImmediate(() => this.connectMore())
      }
    }
    // uTP first and TCP after a short wait, or what worked for this peer before (src/net/dial-policy.ts).
    dialPeer(c.address.host, c.address.port, { ...transports, tcpTimeoutMs: CONNECT_TIMEOUT_MS }).then(({ socket, transport }) => {
      connected = true
      dialedOver = transport
      socket.once('error', () => finish(false))
      socket.once('close', () => finish(false))
      if (this.closed) return void socket.destroy()
      const w = (wire = new PeerWire(`${transport}Outgoing`, peLevel(mode, c.plainOnly)))
      this.handshake(w, socket, c.address, (ok, why) => {
        if (ok) c.failures = 0
        finish(ok, why)
      })
      startOutgoing(w, this.host.infoHash, () => w.handshake(this.host.infoHashBuffer, this.ctx.peerId, { dht: this.ctx.dhtEnabled, fast: true }))
    }, (err: NodeJS.ErrnoException) => {
      timedOut = err?.code === 'ETIMEDOUT'
      finish(false)
    })
  }

  /** Our side of an outgoing connection's handshake: extensions, a time limit, the policy checks, then admission. */
  private handshake(wire: PeerWire, socket: Socket, address: PeerAddress, done: (ok: boolean, why?: DialEnd) => void): void {
    this.host.prepareWire(wire)
    connectWire(socket, wire)
    const timer = setTimeout(() => {
      done(false, 'timeout')
      socket.destroy()
    }, HANDSHAKE_TIMEOUT_MS)
    // A connection closed before its handshake (a plain-only peer refusing our encrypted one) must not keep the
    // process alive for the rest of the timeout.
    socket.once('close', () => clearTimeout(timer))
    wire.once('handshake', (infoHash: string, peerId: string) => {
      clearTimeout(timer)
      if (infoHash !== this.host.infoHash || this.closed) {
        done(false, 'handshake')
        socket.destroy()
        return
      }
      if (!acceptable(this.ctx.encryption ?? 'prefer', wire)) {
        done(false, 'encryption')
        socket.destroy()
        return
      }
      done(true)
      this.admit(wire, socket, address, false, peerId)
    })
    wire.on('error', () => {})
    socket.on('error', () => {})
  }

  /** An incoming connection whose handshake named this torrent (the Client already read it and checked its encryption). */
  accept(wire: PeerWire, socket: Socket): void {
    // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d: one spelling per address, for bans, PEX and dedup.
    const address = { host: normalizeHost(socket.remoteAddress ?? '?'), port: socket.remotePort ?? 0 }
    if (this.closed || this.host.peers.size >= this.ctx.maxPeersPerTorrent + INCOMING_SLACK || this.isBanned(address)) {
      socket.destroy()
      return
    }
    this.host.prepareWire(wire)
    wire.handshake(this.host.infoHashBuffer, this.ctx.peerId, { dht: this.ctx.dhtEnabled, fast: true })
    this.admit(wire, socket, address, true, wire.peerId ?? '')
  }

  /** Refuse known liars, ourselves and second connections to one peer; attach the rest. */
  private admit(wire: PeerWire, socket: Socket, address: PeerAddress, incoming: boolean, peerId: string): void {
    const key = peerKey(address)
    if (this.bannedIds.has(peerId)) {
      // Known liar under a new address: never dial this one again either.
      this.banned.add(key)
      this.candidates.delete(key)
      socket.destroy()
      return
    }
    const self = peerId === this.ctx.peerId.toString('hex')
    const stale = this.host.peers.get(key)
    if (!self && incoming && stale?.incoming) {
      // The peer dials us again from the very address of a connection it opened before: it has given that one up,
      // whatever we think. This happens over uTP, where a peer dials from its listen port: libtorrent (qBittorrent,
      // Deluge) ends a connection with a FIN carrying its close-reason extension, which utp-native's libutp ignores,
      // so the old connection lingers on our side until our next keep-alive draws a reset; qBittorrent does exactly
      // this after fetching a magnet's metadata. Drop the old one (its 'close' detaches it), then admit the new one.
      stale.wire.once('close', () => {
        if (!wire.destroyed && !this.closed) this.admit(wire, socket, address, incoming, peerId)
        else socket.destroy()
      })
      stale.wire.destroy()
      return
    }
    if (self || this.host.peers.has(key)) {
      if (self) this.candidates.delete(key)
      socket.destroy()
      return
    }
    for (const other of this.host.peers.values()) {
      if (other.wire.peerId === peerId) {
        socket.destroy()
        return
      }
    }
    this.host.attach(wire, socket, address, key, incoming)
  }

  /** A connection the Client ended for this torrent (encryption policy). */
  countEnd(kind: keyof ConnectionEnds): void {
    this.ends[kind]++
  }

  /**
   * A peer detached: ban it if it broke the protocol, count why it ended, and let its address be dialled again after
   * `retryInMs`.
   */
  peerGone(peer: Peer, retryInMs: number): void {
    if (peer.wire.violation) this.ban(peer, peer.wire.violation)
    if (this.banned.has(peer.key)) this.ends.banned++
    else this.ends.closed++
    const c = this.candidates.get(peer.key)
    if (c) c.nextTry = Date.now() + retryInMs
    setImmediate(() => this.connectMore())
  }

  /**
   * Bans hold for the whole IP, as other clients do (a liar reconnects from new ports), except on loopback, where
   * every peer of a local swarm shares 127.0.0.1 and only host:port tells them apart.
   */
  isBanned(a: PeerAddress): boolean {
    return this.banned.has(peerKey(a)) || this.banned.has(a.host)
  }

  /** Close a peer and never talk to its address (or, off loopback, its IP) or its peer id again. */
  ban(peer: Peer, why: string): void {
    this.banned.add(peer.key)
    if (!isLoopbackHost(peer.address.host)) this.banned.add(peer.address.host)
    if (peer.wire.peerId) this.bannedIds.add(peer.wire.peerId)
    this.candidates.delete(peer.key)
    this.host.warn(`banned peer ${peer.key}: ${why}`)
    peer.wire.destroy()
  }

  /** Ban by key: the connected peer if there is one, else just its address (it sent bad data, then left). */
  banKey(key: string, why: string): void {
    const peer = this.host.peers.get(key)
    if (peer) this.ban(peer, why)
    else this.banned.add(key)
  }
}
