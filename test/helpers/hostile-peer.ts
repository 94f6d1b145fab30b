// A misbehaving BitTorrent peer for robustness tests: completes the handshake on 127.0.0.1, claims every piece (but
// the flooder), unchokes, then breaks the protocol in one chosen way. It holds no torrent data; its memory stays flat.
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import type { Metainfo } from '../../src/metainfo/metainfo.js'

export type HostileMode =
  /** Answers every request with a block of the right length but wrong bytes. */
  | 'corrupt'
  /** Sends a message length prefix of 100 MB, then streams filler bytes (with backpressure) until dropped. */
  | 'huge-message'
  /** Takes requests and never answers them. */
  | 'silent'
  /**
   * On the first request (so the other side is past checking and validates HAVEs), sends choke, HAVE for the index
   * just beyond the last piece, and unchoke, in one segment.
   */
  | 'bad-have'
  /** Claims no pieces; once unchoked, sends a burst of `floodCount` requests for real blocks and stops reading. */
  | 'flood'

export interface HostileOptions {
  /** Requests sent in one burst in 'flood' mode (default 20 000). */
  floodCount?: number
  /** Bursts in 'flood' mode (default 1), `floodIntervalMs` apart (default 100): a flood that stays under a cap. */
  floodBursts?: number
  floodIntervalMs?: number
  /** Length announced by the 'huge-message' prefix (default 100 MB). */
  hugeLength?: number
}

export interface HostileStats {
  /** Connections that completed the handshake. */
  handshakes: number
  /** Connections the other side closed (or that ended for any reason). */
  closed: number
  requestsSeen: number
  /** Blocks answered with wrong data ('corrupt'). */
  corruptBlocks: number
  /** Raw bytes written after the huge prefix ('huge-message'). */
  fillerBytes: number
  /** Requests written ('flood'). */
  floodRequests: number
}

export interface HostilePeer {
  port: number
  /** '127.0.0.1:PORT' */
  addr: string
  peerIdHex: string
  stats: HostileStats
  /** Resolves when `n` connections have closed. */
  closedCount(n: number, ms: number): Promise<void>
  /** Dial another peer (e.g. a seeder) and misbehave towards it too. */
  connect(port: number, host?: string): void
  stop(): Promise<void>
}

const BLOCK = 16384

function allPieces(count: number): Buffer {
  const buf = Buffer.alloc(Math.ceil(count / 8))
  for (let i = 0; i < count; i++) buf[i >> 3] |= 0x80 >> (i & 7)
  return buf
}

export async function startHostilePeer(m: Metainfo, mode: HostileMode, opts: HostileOptions = {}): Promise<HostilePeer> {
  const peerId = Buffer.concat([Buffer.from('-HS0001-'), randomBytes(12)])
  const stats: HostileStats = { handshakes: 0, closed: 0, requestsSeen: 0, corruptBlocks: 0, fillerBytes: 0, floodRequests: 0 }
  const sockets = new Set<net.Socket>()
  const closeWaiters: Array<() => void> = []
  // One filler buffer for every corrupt block and every chunk of filler: no allocation per message.
  const filler = randomBytes(64 * 1024)

  const onClosed = () => {
    stats.closed++
    for (const w of closeWaiters.splice(0)) w()
  }

  const run = (socket: net.Socket, outgoing: boolean) => {
    sockets.add(socket)
    socket.on('error', () => {})
    let closed = false
    socket.once('close', () => {
      sockets.delete(socket)
      if (!closed) {
        closed = true
        onClosed()
      }
    })
    const wire = new Wire()
    wire.on('error', () => {})
    // Forward the wire's output by hand (streamx streams cannot unpipe), so 'huge-message' can take over the socket.
    let raw = false
    socket.pipe(wire)
    wire.on('data', (d: Uint8Array) => { if (!raw && !socket.destroyed) socket.write(d) })
    wire.on('end', () => socket.end())
    if (outgoing) wire.handshake(m.infoHash, peerId, { dht: false })
    wire.once('handshake', (infoHash: string) => {
      if (infoHash !== m.infoHash) return socket.destroy()
      stats.handshakes++
      if (!outgoing) wire.handshake(m.infoHash, peerId, { dht: false })
      // A flooder claims nothing: a seeder drops peers that claim every piece (two seeds have nothing to trade).
      if (mode !== 'flood') wire.bitfield(allPieces(m.pieceCount))
      wire.unchoke()
      // Interest makes the other side unchoke us, which 'flood' needs; the others keep up appearances.
      wire.interested()
      if (mode === 'huge-message') {
        setTimeout(() => {
          raw = true
          sendHuge(socket)
        }, 100)
      }
    })
    wire.on('request', (index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
      stats.requestsSeen++
      if (mode === 'bad-have' && stats.requestsSeen === 1) {
        wire.choke()
        wire.have(m.pieceCount)
        wire.unchoke()
      }
      if (mode === 'corrupt') {
        if (length > filler.length) return respond(new Error('too long'))
        stats.corruptBlocks++
        respond(null, filler.subarray(0, length))
      }
      // 'silent' and the rest never answer.
    })
    if (mode === 'flood') {
      wire.once('unchoke', () => {
        const n = opts.floodCount ?? 20_000
        const blocksPerPiece = Math.ceil(m.pieceLength / BLOCK)
        let next = 0
        const burst = () => {
          if (socket.destroyed) return
          for (let k = 0; k < n; k++, next++) {
            const piece = Math.floor(next / blocksPerPiece) % m.pieceCount
            const b = next % blocksPerPiece
            const size = piece === m.pieceCount - 1 ? m.lastPieceLength : m.pieceLength
            if (b * BLOCK >= size) continue
            wire.request(piece, b * BLOCK, Math.min(BLOCK, size - b * BLOCK), () => {})
            stats.floodRequests++
          }
          // The callbacks above are never needed: forget them, or they pile up here.
          wire.requests.length = 0
        }
        burst()
        // Stop reading: whatever the other side sends back piles up on its side, not ours.
        setImmediate(() => socket.pause())
        let left = (opts.floodBursts ?? 1) - 1
        if (left > 0) {
          const timer = setInterval(() => {
            burst()
            if (--left <= 0) clearInterval(timer)
          }, opts.floodIntervalMs ?? 100)
          socket.once('close', () => clearInterval(timer))
        }
      })
    }
  }

  const sendHuge = (socket: net.Socket) => {
    if (socket.destroyed) return
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(opts.hugeLength ?? 100_000_000)
    socket.write(prefix)
    const total = opts.hugeLength ?? 100_000_000
    const pump = () => {
      while (!socket.destroyed && stats.fillerBytes < total) {
        const n = Math.min(filler.length, total - stats.fillerBytes)
        stats.fillerBytes += n
        if (!socket.write(filler.subarray(0, n))) {
          socket.once('drain', pump)
          return
        }
      }
    }
    pump()
  }

  const server = net.createServer((socket) => run(socket, false))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as net.AddressInfo).port

  return {
    port,
    addr: `127.0.0.1:${port}`,
    peerIdHex: peerId.toString('hex'),
    stats,
    closedCount(n: number, ms: number) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`hostile peer: ${stats.closed} of ${n} connections closed after ${ms} ms`)), ms)
        const check = () => {
          if (stats.closed >= n) {
            clearTimeout(timer)
            resolve()
          } else closeWaiters.push(check)
        }
        check()
      })
    },
    connect(toPort: number, host = '127.0.0.1') {
      const socket = net.connect({ port: toPort, host })
      socket.once('connect', () => run(socket, true))
      socket.on('error', () => {})
    },
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
