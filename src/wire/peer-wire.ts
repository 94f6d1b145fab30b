// One peer connection's protocol object: bittorrent-protocol's Wire with the bounds it lacks (message size) and
// fixes for speed on its hot path (outgoing messages coalesced into one socket write per tick, requests encoded into
// one buffer; incoming data fed straight from the socket, parsed in place in the shared read buffer and never
// re-concatenated; a lean piece handler; MSE's key exchange from mse-dh.ts), plus the small per-connection facts the
// session needs.
//
// Why keep bittorrent-protocol rather than a codec of our own: it carries the handshake, MSE/PE, BEP 6 and BEP 10
// that interop depends on, and the profile (bench/download.js --profile) shows its per-message parsing is a small
// share of a download's CPU once these overrides remove what was costly in it: the stream plumbing between socket
// and wire, a debug string built per message, a throughput meter and events per block, and an unordered request
// list searched per block.

import type { Duplex } from 'node:stream'
import Wire, { type WireRequest } from 'bittorrent-protocol'
import { inSharedBuffer, takeSharedReads } from '../net/shared-read.js'
import { padFirstMessage } from './encryption.js'
import { useMseKeyExchange } from './mse-dh.js'

// A piece message carries at most one 16 KiB block in practice (we refuse requests over 128 KiB); a bitfield for a
// huge torrent can be larger, so the limit grows with the piece count. Anything beyond is a hostile or broken peer.
const BASE_MAX_MESSAGE = 256 * 1024 + 13

const proto = Wire.prototype as any
// bittorrent-protocol formats a debug line (a template string) for every message even when nobody listens.
const DEBUG_WIRE = /bittorrent-protocol|\*/.test(process.env.DEBUG ?? '')

/**
 * Join a socket and a wire: the socket's data goes straight into the wire's parser (not through a stream pipe: its
 * write queue, microtask hop and pause/resume on every 64 KiB chunk cost more than parsing the messages), and the
 * wire's output is piped to the socket as usual.
 */
export function connectWire(socket: Duplex, wire: PeerWire): void {
  if (!takeSharedReads(socket, (bytes) => wire.feed(bytes, true))) socket.on('data', (data: Uint8Array) => wire.feed(data))
  socket.once('end', () => wire.end())
  wire.pipe(socket)
}

export class PeerWire extends Wire {
  maxMessage = BASE_MAX_MESSAGE
  /** Set when the peer broke the protocol; the session reads it when the wire closes. */
  violation?: string
  private outQueue: Uint8Array[] = []
  private outBytes = 0
  /** Where request messages are written before they join outQueue. */
  private small: Buffer | null = null
  private smallLen = 0
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
      if (this.outQueue.length || this.smallLen) this.flush()
      return proto._push.call(this, data)
    }
    this.takeSmall()
    this.outQueue.push(data)
    this.outBytes += data.length
    this.scheduleFlush()
    return true
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true
      process.nextTick(this.flushOut)
    }
  }

  // The original makes a Request object, an array of numbers and a 17-byte array per request and formats a debug
  // line; a full pipeline asks for thousands of blocks a second. Requests are written into one shared buffer instead.
  override request(index: number, offset: number, length: number, cb: (err: Error | null, buf?: Uint8Array) => void = noop): void {
    const self = this as any
    if (self._finished) return cb(new Error('wire is closed'))
    if (this.peerChoking && !(this.hasFast && self.peerAllowedFastSet.includes(index))) return cb(new Error('peer is choking'))
    const req: WireRequest = { piece: index, offset, length, callback: cb }
    this.requests.push(req)
    if (!self._timeout) self._resetTimeout(true)
    if (self._encryptor && self._encryptor.state !== 'done') return proto._message.call(this, 6, [index, offset, length], null)
    let s = this.small
    if (!s || this.smallLen + 17 > s.length) {
      this.takeSmall()
      s = this.small = Buffer.allocUnsafe(17 * 64)
    }
    const o = this.smallLen
    s.writeUInt32BE(13, o)
    s[o + 4] = 6
    s.writeUInt32BE(index, o + 5)
    s.writeUInt32BE(offset, o + 9)
    s.writeUInt32BE(length, o + 13)
    this.smallLen = o + 17
    this.outBytes += 17
    this.scheduleFlush()
  }

  /** Requests written since the last chunk was queued (counted in outBytes already) become the next chunk. */
  private takeSmall(): void {
    if (this.smallLen === 0) return
    this.outQueue.push(this.small!.subarray(0, this.smallLen))
    this.small = null
    this.smallLen = 0
  }

  /** Bytes queued for this peer and not yet taken by the socket (ours, plus what the wire's stream holds). */
  get backlog(): number {
    return this.outBytes + ((this as any)._readableState?.buffered ?? 0)
  }

  private flush(): void {
    this.flushScheduled = false
    this.takeSmall()
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

  /**
   * Bytes from the socket (see connectWire). Parsed now; nothing once the wire has ended. `transient` bytes are valid
   * only during this call (src/net/shared-read.ts): only piece blocks, which the session copies into its piece buffer
   * at once, are handed on as views; every other message and any unparsed remainder is copied first.
   */
  feed(data: Uint8Array, transient = false): void {
    const self = this as any
    if (self._finished || this.destroying || this.destroyed) return
    // The handshakes (BitTorrent's and MSE's) keep views of what they parse: copy until they are over.
    if (transient && (!this.transientOk || self._encryptor?._isEncrypted)) {
      data = Buffer.from(data)
      transient = false
    }
    this.transient = transient
    this._write(data, noop)
    this.transient = false
    if (transient) this.keepRemainder()
  }

  /**
   * The unparsed end of a shared-buffer read must outlive it. Usually it is the head of one block: it goes into this
   * wire's carry buffer (reused, no allocation per read); anything else gets a copy of its own.
   */
  private keepRemainder(): void {
    const chunks: Uint8Array[] = (this as any)._buffer
    if (chunks.length === 1 && inSharedBuffer(chunks[0]) && chunks[0].length <= CARRY_BYTES) {
      const c = (this.carry ??= Buffer.allocUnsafeSlow(CARRY_BYTES))
      c.set(chunks[0])
      chunks[0] = c.subarray(0, chunks[0].length)
      return
    }
    for (let i = 0; i < chunks.length; i++) if (inSharedBuffer(chunks[i])) chunks[i] = Buffer.from(chunks[i])
  }

  /** Bytes only valid until the next read: the shared read buffer's, or this wire's carry buffer's. */
  private shortLived(bytes: Uint8Array): boolean {
    return inSharedBuffer(bytes) || bytes.buffer === this.carry?.buffer
  }

  /** Holds the unparsed end of the last shared-buffer read (see keepRemainder). */
  private carry?: Buffer
  /** True while feed() parses bytes of the shared read buffer. */
  private transient = false
  /** Set once the BitTorrent handshake is parsed (and with it MSE's), when only messages follow. */
  private transientOk = false

  _onHandshake(...args: unknown[]): void {
    this.transientOk = true
    proto._onHandshake.apply(this, args)
  }

  // The original's `respond` takes the first pending request EQUAL to its own (piece, offset, length) out of
  // peerRequests: after a choke dropped the original, a late respond for it would take out a newer equal request (the
  // peer asked for the block again) and send nothing, and the peer would wait for a block that never comes. Here a
  // respond answers only its own request, which is also passed with the event so the session can tell whether it is
  // still pending (src/session/uploader.ts).
  _onRequest(index: number, offset: number, length: number): void {
    // A reject is sent as a bare message: the original's reject() also takes an equal request out of peerRequests.
    const reject = () => (this as any)._message(0x10, [index, offset, length], null)
    if (this.amChoking && !(this.hasFast && (this as any).allowedFastSet.includes(index))) {
      if (this.hasFast) reject()
      return
    }
    const request: WireRequest = { piece: index, offset, length, callback: noop }
    const respond = (err: Error | null, buffer?: Uint8Array): void => {
      const i = this.peerRequests.indexOf(request)
      if (i < 0) return
      this.peerRequests.splice(i, 1)
      if (err) {
        if (this.hasFast) reject()
        return
      }
      this.piece(index, offset, buffer!)
    }
    request.callback = respond
    this.peerRequests.push(request)
    this.emit('request', index, offset, length, respond, request)
  }

  _debug(): void {
    // eslint-disable-next-line prefer-rest-params
    if (DEBUG_WIRE) proto._debug.apply(this, arguments)
  }

  // The original also feeds a throughput meter and emits 'download' and 'piece' per block; nothing here listens.
  _onPiece(index: number, offset: number, buffer: Uint8Array): void {
    const self = this as any
    self.downloaded += buffer.length
    const req = this._pull(self.requests, index, offset, buffer.length)
    if (req) self._callback(req, null, buffer)
  }

  // The original swaps the found entry with the last one, so the list loses its order and the next search starts
  // far from the answer; peers answer in order, so keep the order and look at the head first. (The timeout also
  // fails the head, which is then really the oldest request.)
  _pull(requests: WireRequest[], piece: number, offset: number, length: number): WireRequest | null {
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]
      if (r.piece === piece && r.offset === offset && r.length === length) {
        if (i === 0) requests.shift()
        else requests.splice(i, 1)
        return r
      }
    }
    return null
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
        // A piece block goes straight to the session, which copies it into its piece buffer before returning: a
        // block split across reads is put together in one scratch buffer instead of a new 16 KiB Buffer each time.
        // Any other message may be kept, so it gets its own.
        const isPiece = first[0] === 7 && self._parser === proto._onMessage
        const out = isPiece ? scratch(n) : Buffer.allocUnsafe(n)
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
      // Shared-buffer bytes: a length prefix is read and dropped, a piece block is copied by the session; anything
      // else may be kept (a bitfield is), so it gets its own copy.
      if (this.transient && self._parser !== this._onMessageLength && !(msg[0] === 7 && self._parser === proto._onMessage) && this.shortLived(msg)) {
        msg = Buffer.from(msg)
      }
      self._parser(msg)
    }
  }
}

function noop(): void {}

// The carry holds a read's unparsed end: at most one block message in the steady state.
const CARRY_BYTES = 32 * 1024
let scratchBuf = Buffer.allocUnsafeSlow(16 * 1024 + 13)

/** The process-wide buffer split piece messages are put together in (valid until the next one). */
function scratch(n: number): Buffer {
  if (scratchBuf.length < n) scratchBuf = Buffer.allocUnsafeSlow(n)
  return scratchBuf.subarray(0, n)
}
