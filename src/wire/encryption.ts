// Protocol encryption (MSE/PE) policy. bittorrent-protocol 5 carries the handshake itself (`new Wire(type, level)`);
// this unit decides the level per connection, starts an outgoing handshake at the right moment, recognises an
// incoming one's torrent, and judges whether a finished handshake satisfies the policy.

import crypto from 'node:crypto'

/** prefer: encrypted first, plain as fallback, accept both; require: RC4 only, both ways; off: plain only. */
export type EncryptionMode = 'prefer' | 'require' | 'off'
/**
 * bittorrent-protocol's level: 0 plain, 1 MSE offering plaintext or RC4 (as responder it picks plaintext when the
 * initiator offers both, as libtorrent does by default: the handshake is obfuscated, the payload is not), 2 RC4 only.
 * `plainRetry`: an outgoing dial in prefer mode whose encrypted attempt the peer closed.
 */
export function peLevel(mode: EncryptionMode, plainRetry = false): 0 | 1 | 2 {
  if (mode === 'off') return 0
  if (mode === 'require') return 2
  return plainRetry ? 0 : 1
}

interface PeWire {
  _peEnabled: number
  _cryptoHandshakeDone: boolean
  _encryptionMethod: number | null | undefined
  startEncryption(infoHashHex: string): void
  once(ev: 'crypto-handshake', fn: () => void): unknown
}

/** Outgoing: the BitTorrent handshake must follow the crypto handshake (it would leave in clear text otherwise). */
export function startOutgoing(w: object, infoHashHex: string, sendHandshake: () => void): void {
  const wire = w as PeWire
  if (!wire._peEnabled) return sendHandshake()
  wire.once('crypto-handshake', sendHandshake)
  wire.startEncryption(infoHashHex)
}

// A plain-only peer reads our first DH message as a BitTorrent handshake: one length byte (up to 255), that many
// protocol-name bytes, 48 more. bittorrent-protocol pads its 96-byte key with 0–512 random bytes, so a short message
// can leave such a peer waiting for the rest while we wait for its key: a dead connection until the handshake
// timeout, instead of the prompt close that makes us redial in plain text. Padding of 208–512 bytes (the spec
// allows 0–512) always gives it enough to see the garbage.
const MIN_PAD_A = 1 + 255 + 48 - 96

/** Makes an outgoing wire's first MSE message long enough for a plain-only peer to reject at once. */
export function padFirstMessage(encryptor: any): void {
  if (!encryptor) return
  encryptor.generateStepA1 = function (this: any): Uint8Array {
    const raw: Uint8Array = this.dh.generateKeys()
    const pad = MIN_PAD_A + crypto.randomInt(512 - MIN_PAD_A + 1)
    const out = new Uint8Array(96 + pad)
    out.set(raw, 96 - raw.length)
    out.set(crypto.randomBytes(pad), 96)
    return out
  }
}

/** True when the dial failed inside the crypto handshake (a plain-only peer closes on our first DH key). */
export function failedInCrypto(w: object | undefined): boolean {
  const wire = w as PeWire | undefined
  return !!wire && wire._peEnabled > 0 && !wire._cryptoHandshakeDone
}

/** How the finished handshake went: 'rc4', 'obfuscated' (MSE with a plaintext payload) or 'plain'. */
export function encryptionOf(w: object): 'rc4' | 'obfuscated' | 'plain' {
  const m = (w as PeWire)._encryptionMethod
  return m === 2 ? 'rc4' : m === 1 ? 'obfuscated' : 'plain'
}

/** Whether a connection whose BitTorrent handshake just arrived satisfies the policy. */
export function acceptable(mode: EncryptionMode, wire: object): boolean {
  return mode !== 'require' || encryptionOf(wire) === 'rc4'
}

/**
 * An incoming MSE handshake names its torrent as HASH('req2', info hash) (the wire reports it as 'crypto-infohash').
 * Computed once per info hash.
 */
export class SkeyIndex {
  private readonly memo = new Map<string, string>()
  find(req2Hex: string, infoHashes: Iterable<string>): string | undefined {
    for (const ih of infoHashes) {
      let h = this.memo.get(ih)
      if (!h) {
        h = crypto.createHash('sha1').update('req2').update(Buffer.from(ih, 'hex')).digest('hex')
        this.memo.set(ih, h)
      }
      if (h === req2Hex) return ih
    }
    return undefined
  }
}

/** Node 20's OpenSSL 3 has RC4 only with --openssl-legacy-provider; without it bittorrent-protocol uses JavaScript RC4. */
export function nativeRc4(): boolean {
  try {
    crypto.createCipheriv('rc4', Buffer.alloc(16), '')
    return true
  } catch {
    return false
  }
}
