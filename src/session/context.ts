// What a Torrent needs from its Client: identity, limits, shared services. An interface, so the two stay apart.

import type { PeerAddress } from '../discovery/peer-address.js'
import type { DhtStats } from '../discovery/dht.js'
import type { ResumeStore } from '../storage/resume.js'
import type { TokenBucket } from './rate.js'
import type { Torrent } from './torrent.js'

export interface ClientContext {
  readonly peerId: Buffer
  port(): number
  readonly resume: ResumeStore
  readonly maxPeersPerTorrent: number
  readonly unchokeSlots: number
  readonly uploadEnabled: boolean
  readonly dhtEnabled: boolean
  readonly memoryBudget: number
  /** The Client's one 1 s timer, shared by its torrents. */
  readonly ticker: import('./ticker.js').Ticker
  /** Protocol encryption policy (absent: prefer). */
  readonly encryption?: import('../wire/encryption.js').EncryptionMode
  /** How to reach peers: TCP and/or uTP, in the dial policy's order (absent: TCP only). */
  readonly transports?: import('../net/dialer.js').DialTransports
  readonly downloadLimiter?: TokenBucket
  readonly uploadLimiter?: TokenBucket
  isSelf(a: PeerAddress): boolean
  canDial(): boolean
  dialStarted(): void
  dialEnded(): void
  connectionOpened(): void
  connectionClosed(): void
  /** Start other peer sources (DHT) for a torrent. */
  discover?(t: Torrent): void
  /** Stop them (torrent stopped, or found to be private). */
  undiscover?(t: Torrent): void
  /** What the DHT is doing (while a magnet waits for metadata). */
  dhtStats?(): DhtStats | undefined
  /** A peer told us its DHT port (BEP 5 PORT message). */
  dhtNode?(host: string, port: number): void
  /** BEP 7: our IPv6 address for HTTP trackers' `ipv6=`, when we listen on IPv6 and know a useful one. */
  announceIPv6?(): string | undefined
}
