// One peer connection's protocol object: bittorrent-protocol's Wire with the bounds it lacks (message size),
// plus the small per-connection facts the session needs.

import Wire from 'bittorrent-protocol'

// A piece message carries at most one 16 KiB block in practice (we refuse requests over 128 KiB); a bitfield for a
// huge torrent can be larger, so the limit grows with the piece count. Anything beyond is a hostile or broken peer.
const BASE_MAX_MESSAGE = 256 * 1024 + 13

export class PeerWire extends Wire {
  maxMessage = BASE_MAX_MESSAGE
  /** Set when the peer broke the protocol; the session reads it when the wire closes. */
  violation?: string

  setPieceCount(n: number): void {
    this.maxMessage = Math.max(BASE_MAX_MESSAGE, Math.ceil(n / 8) + 16)
  }

  // bittorrent-protocol buffers whatever length the prefix announces before parsing; a 100 MB prefix would make it
  // hold 100 MB per connection. Check the prefix first.
  _onMessageLength(buffer: Uint8Array): void {
    const length = ((buffer[0] << 24) | (buffer[1] << 16) | (buffer[2] << 8) | buffer[3]) >>> 0
    if (length > this.maxMessage) {
      this.violation = `message of ${length} bytes`
      this.destroy()
      return
    }
    ;(Wire.prototype as any)._onMessageLength.call(this, buffer)
  }
}
