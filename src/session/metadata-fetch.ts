// A magnet's info dictionary, fetched from the torrent's peers over ut_metadata: which peers fetch (a few at a time,
// each a few tries), what happens when one gives up or lies, and one MetadataAssembly for all of them, so pieces
// already received are kept across peers and retries.

import type { ExtensionClass } from 'bittorrent-protocol'
import { MetadataAssembly, metadataExtension, type MetadataExtension } from '../wire/metadata.js'
import type { PeerWire } from '../wire/peer-wire.js'
import type { Peer } from './peer.js'

// Peers fetching at once (each asks for pieces the others are not asking for), and fetches started per peer.
const METADATA_FETCHERS = 3
export const METADATA_TRIES = 3
// A peer that gave up waits this long times its tries before it is asked again.
const RETRY_DELAY_MS = 3_000

export interface MetadataHost {
  readonly infoHashBuffer: Buffer
  /** The info dict once known (from the .torrent, or fetched). */
  info(): Buffer | undefined
  peers(): Iterable<Peer>
  peerOf(wire: PeerWire): Peer | undefined
  /** Verified bytes whose SHA-1 is the info hash. */
  gotInfo(info: Buffer): void
  warn(message: string): void
}

export class MetadataFetch {
  private readonly fetchers = new Set<PeerWire>()
  private readonly assembly: MetadataAssembly
  /** One extension class for all the torrent's wires: they share the assembly. */
  readonly extension: ExtensionClass

  constructor(private readonly host: MetadataHost) {
    this.assembly = new MetadataAssembly(host.infoHashBuffer)
    this.extension = metadataExtension({
      infoHash: host.infoHashBuffer,
      getInfo: () => host.info(),
      onMetadata: (info) => {
        this.cancelAll()
        host.gotInfo(info)
      },
      onBadMetadata: (w, reason) => {
        this.fetchers.delete(w as unknown as PeerWire)
        ;(w as unknown as PeerWire).violation = `bad metadata: ${reason}`
        w.destroy()
      },
      onGiveUp: (w, reason) => this.gaveUp(w as unknown as PeerWire, reason),
      fetch: false,
      assembly: this.assembly,
    })
  }

  /**
   * Start fetches on a few peers that have the metadata, not all of them. Called when a peer's extended handshake
   * arrives, when a fetch ends, and every tick.
   */
  fill(): void {
    if (this.host.info()) return
    const now = Date.now()
    for (const peer of this.host.peers()) {
      if (this.fetchers.size >= METADATA_FETCHERS) return
      const ext = peer.wire.ut_metadata as MetadataExtension | undefined
      if (!ext || ext.peerMetadataSize === undefined || this.fetchers.has(peer.wire)) continue
      if (peer.metadataTries >= METADATA_TRIES || peer.metadataRetryAt > now) continue
      peer.metadataTries++
      this.fetchers.add(peer.wire)
      ext.fetch()
      if (!ext.fetching) this.fetchers.delete(peer.wire) // it gave up at once
    }
  }

  /** A peer went away. */
  forget(wire: PeerWire): void {
    if (this.fetchers.delete(wire)) this.fill()
  }

  private cancelAll(): void {
    for (const wire of this.fetchers) (wire.ut_metadata as MetadataExtension | undefined)?.cancel()
    this.fetchers.clear()
  }

  /** A peer stopped sending metadata without proven fault: try it again later, then let it go, and say so. */
  private gaveUp(wire: PeerWire, reason: string): void {
    this.fetchers.delete(wire)
    if (reason === 'peer has no metadata') return this.fill()
    const peer = this.host.peerOf(wire)
    if (peer) {
      // A random part, so peers that failed together (a hash mismatch) come back at different times.
      peer.metadataRetryAt = Date.now() + RETRY_DELAY_MS * peer.metadataTries * (0.75 + Math.random() / 2)
      if (peer.metadataTries >= METADATA_TRIES && !this.host.info()) {
        this.host.warn(`gave up fetching metadata from ${peer.key}: ${reason}`)
        // Nothing else to offer before metadata: free its slot for another peer.
        wire.destroy()
      } else {
        this.host.warn(`metadata from ${peer.key}: ${reason}; will retry`)
      }
    }
    this.fill()
  }
}
