// One peer connection's protocol object: bittorrent-protocol's Wire with the bounds it lacks (message size) and
// two fixes for speed on its hot path (outgoing messages coalesced into one socket write per tick; incoming data
// parsed without re-concatenating every chunk), plus the small per-connection facts the session needs.

import Wire from 'bittorrent-protocol'
import { padFirstMessage } from './encryption.js'
import { useMseKeyExchange } from './mse-dh.js'

// A piece message carries at most one 16 KiB block in practice (we refuse requests over 128 KiB); a bitfield for a
// huge torrent can be larger, so the limit grows with the piece count. Anything beyond is a hostile or broken peer.
const BASE_MAX_MESSAGE = 256 * 1024 + 13

const proto = Wire.prototype as any

export class PeerWire extends Wire {
  maxMessage = BASE_MAX_MESSAGE
  /** Set when the peer broke the protocol; the session reads it when the wire closes. */
  violation?: string
  private outQueue: Uint8Array[] = []
  private outBytes = 0
  private flushScheduled = false
  private readonly flushOut = () => this.flush()

  constructor(type: string, peLevel = 0) {
    super(type, peLevel)
    useMseKeyExchange((this as any)._encryptor)
    if (type.includes('Outgoing')) padFirstMessage((this as any)._encryptor)
  }

  setPieceCount(n: number): void {
    this.maxMessage = Math.max(BASE_MAX_MESSAGE, Math.ceil(n / 8) + 16)
  }

  // bittorrent-protocol buffers whatever length the prefix announces before parsing; a 100 MB prefix would make it
  // hold 100 MB per connection. Check the prefix first.
  _onMessageLength(buffer: Uint8Array): void {
    const length = ((buffer[0] << 24) | (buffer[1] << 16) | (buffer[2] << 8) | buffer[3]) >>> 0
    if (length > this.maxMessage) {
      this.violation = `message of ${length} bytes`
      // Whatever follows is garbage: parse nothing more, even before the socket is gone.
      ;(this as any)._parse(Number.MAX_VALUE, () => {})
      this.destroy()
      return
    }
    proto._onMessageLength.call(this, buffer)
  }

  // bittorrent-protocol pushes every message (and a piece's header and data separately) as its own chunk, and each
  // becomes a socket write: a syscall per 17-byte request. Collect them and push once per tick.
  _push(data: Uint8Array): unknown {
    const self = this as any
    if (self._finished) return
    // During the MSE handshake the encryptor writes its own steps: keep order, no coalescing.
    if (self._encryptor && self._encryptor.state !== 'done') {
      if (this.outQueue.length) this.flush()
      return proto._push.call(this, data)
    }
    this.outQueue.push(data)
    this.outBytes += data.length
    if (!this.flushScheduled) {
      this.flushScheduled = true
      process.nextTick(this.flushOut)
    }
    return true
  }

  /** Bytes queued for this peer and not yet taken by the socket (ours, plus what the wire's stream holds). */
  get backlog(): number {
    return this.outBytes + ((this as any)._readableState?.buffered ?? 0)
  }

  private flush(): void {
    this.flushScheduled = false
    const q = this.outQueue
    if (q.length === 0) return
    let chunk = q.length === 1 ? q[0] : Buffer.concat(q, this.outBytes)
    this.outQueue = []
    this.outBytes = 0
    // RC4 is a stream cipher: encrypting the coalesced chunk equals encrypting its parts in order.
    const enc = (this as any)._encryptor
    if (enc) chunk = enc.encrypt(chunk)
    if (!(this as any)._finished) this.push(chunk)
  }

  // The original concatenates all buffered data with every new chunk (a copy of nearly everything received). Here a
  // message is a view into its chunk, and only a message split across chunks is copied.
  override _write(data: Uint8Array, ...rest: any[]): void {
    const cb = rest[0] as (err?: Error | null) => void // streamx calls _write(data, cb)
    const self = this as any
    const enc = self._encryptor
    if (enc) {
      // The original handles the MSE handshake's resynchronisation and its pause for the info hash.
      if (enc.state !== 'done' || self._cryptoSyncPattern || self._pePending) return proto._write.call(this, data, cb)
      data = enc.decrypt(data)
    }
    self._buffer.push(data)
    self._bufferSize += data.length
    this.drain()
    cb(null)
  }

  private drain(): void {
    const self = this as any
    while (self._bufferSize >= self._parserSize) {
      const n: number = self._parserSize
      if (n === 0) {
        self._parser(new Uint8Array())
        continue
      }
      const chunks: Uint8Array[] = self._buffer
      const first = chunks[0]
      let msg: Uint8Array
      if (first.length >= n) {
        msg = first.subarray(0, n)
        if (first.length === n) chunks.shift()
        else chunks[0] = first.subarray(n)
      } else {
        const out = Buffer.allocUnsafe(n)
        let o = 0
        while (o < n) {
          const c = chunks[0]
          const take = Math.min(c.length, n - o)
          out.set(take === c.length ? c : c.subarray(0, take), o)
          o += take
          if (take === c.length) chunks.shift()
          else chunks[0] = c.subarray(take)
        }
        msg = out
      }
      self._bufferSize -= n
      self._parser(msg)
    }
  }
}
