// Fetch one torrent's info dictionary from one peer (BEP 9 over a plain TCP connection), for the crawler: a short
// overall deadline, a byte budget, and the SHA-1 check of src/wire/metadata.ts. Resolves with the verified bytes or
// a reason; never throws, never keeps the connection.

import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { PeerWire } from '../wire/peer-wire.js'
import { metadataExtension } from '../wire/metadata.js'
import type { Endpoint } from './address.js'

export type FetchOutcome =
  | { ok: true; info: Buffer; bytes: number }
  | { ok: false; reason: 'connect' | 'timeout' | 'no-metadata' | 'bad' | 'too-big' | 'closed'; detail?: string; bytes: number }

export interface FetchOptions {
  /** Whole attempt, connect included (ms). */
  timeoutMs?: number
  connectTimeoutMs?: number
  /** Refuse info dicts larger than this (bytes): the crawler's own bound, below the wire's 8 MiB. */
  maxSize?: number
  peerId?: Buffer
  signal?: AbortSignal
}

// "-BT0100-" + random: the crawler is honest about what it is (an Azureus-style client id).
const PEER_ID = Buffer.concat([Buffer.from('-BT0100-'), randomBytes(12)])

export function fetchMetadata(infoHash: Buffer, peer: Endpoint, opts: FetchOptions = {}): Promise<FetchOutcome> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const maxSize = opts.maxSize ?? 4 * 1024 * 1024
  return new Promise((resolve) => {
    let done = false
    let bytes = 0
    const socket = net.connect({ host: peer.host, port: peer.port })
    const wire = new PeerWire('tcpOutgoing')
    const onAbort = () => finish({ ok: false, reason: 'closed', detail: 'aborted', bytes })
    const finish = (o: FetchOutcome) => {
      if (done) return
      done = true
      opts.signal?.removeEventListener('abort', onAbort)
      clearTimeout(timer)
      socket.destroy()
      wire.destroy()
      resolve(o)
    }
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout', bytes }), timeoutMs)
    if (opts.signal?.aborted) return finish({ ok: false, reason: 'closed', detail: 'aborted', bytes })
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    socket.setTimeout(opts.connectTimeoutMs ?? Math.min(5000, timeoutMs), () => finish({ ok: false, reason: 'connect', bytes }))
    socket.on('error', (err) => finish({ ok: false, reason: bytes ? 'closed' : 'connect', detail: err.message, bytes }))
    socket.on('close', () => finish({ ok: false, reason: 'closed', bytes }))
    socket.on('data', (d: Buffer) => {
      bytes += d.length
      // The peer says how big its metadata is; more than that (plus slack for protocol chatter) is a firehose.
      if (bytes > maxSize + 256 * 1024) finish({ ok: false, reason: 'too-big', bytes })
    })
    wire.on('error', () => finish({ ok: false, reason: 'closed', bytes }))
    wire.use(metadataExtension({
      infoHash,
      getInfo: () => undefined,
      requestTimeout: Math.min(5000, Math.max(1000, Math.floor(timeoutMs / 2))),
      onMetadata: (info) => finish({ ok: true, info, bytes }),
      onBadMetadata: (_w, reason) => finish({ ok: false, reason: 'bad', detail: reason, bytes }),
      onGiveUp: (_w, reason) => finish({ ok: false, reason: 'no-metadata', detail: reason, bytes }),
    }))
    wire.on('extended', (ext: string, h: Record<string, unknown>) => {
      if (ext === 'handshake' && typeof h.metadata_size === 'number' && h.metadata_size > maxSize) {
        finish({ ok: false, reason: 'too-big', detail: `metadata_size ${h.metadata_size}`, bytes })
      }
    })
    wire.on('handshake', (hash: string) => {
      if (hash !== infoHash.toString('hex')) finish({ ok: false, reason: 'bad', detail: 'handshake for another torrent', bytes })
    })
    socket.once('connect', () => {
      socket.setTimeout(0)
      // A fetch is a few small messages each way: Nagle's algorithm against delayed ACKs would add ~40 ms per turn.
      socket.setNoDelay(true)
      socket.pipe(wire).pipe(socket)
      wire.handshake(infoHash, opts.peerId ?? PEER_ID, { dht: false, fast: false })
    })
  })
}
