// What the HTTP and UDP tracker clients share: request and reply shapes, the error they throw, and how a tracker
// is named in messages. Re-exported by tracker.ts, which is the module to import.
import { BtError, ExitCode, systemText } from '../errors.js'
import type { PeerAddress } from './peer-address.js'

export interface AnnounceRequest {
  infoHash: Buffer
  peerId: Buffer
  port: number
  uploaded: number
  downloaded: number
  left: number
  event?: 'started' | 'completed' | 'stopped'
  numwant?: number
  key?: number
  /** BEP 7: our IPv6 address, for a tracker we may reach over IPv4 (HTTP only: UDP trackers see the family used). */
  ipv6?: string
}

export interface AnnounceResponse {
  /** Seconds, as the tracker sent it (TrackerClient clamps it). */
  interval: number
  minInterval?: number
  peers: PeerAddress[]
  complete?: number
  incomplete?: number
  warning?: string
}

export interface ScrapeEntry {
  complete: number
  incomplete: number
  downloaded: number
}

export interface RequestOptions {
  signal?: AbortSignal
  /** Bound on the whole request, redirects and UDP retries included. Default 15 s. */
  timeoutMs?: number
  /** UDP only: how many times a packet is sent before giving up. Default 3. */
  tries?: number
  /** UDP only: resolve a tracker's host name to all its addresses (default: the system resolver). */
  lookupAll?: (host: string) => Promise<Array<{ address: string; family: number }>>
}

export const DEFAULT_TIMEOUT_MS = 15_000

/** A tracker failure, as one line a user can read; exit code `network` when it reaches the command line. */
export class TrackerError extends BtError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.network, options)
    this.name = 'TrackerError'
  }
}

/**
 * The tracker URL as shown in messages: without query or fragment, because private trackers put the passkey
 * in the query and messages end up in logs and bug reports.
 */
export function trackerLabel(url: string): string {
  const cut = url.search(/[?#]/)
  return cut === -1 ? url : url.slice(0, cut)
}

/** Readable text for the socket errors a tracker request meets, instead of `connect ECONNREFUSED 127.0.0.1:1`. */
export function networkErrorText(err: unknown): string {
  // The words come from the one errno table (src/errors.ts).
  return systemText(err)
}

/** The error an aborted request rejects with: the signal's reason, like fetch does. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}
