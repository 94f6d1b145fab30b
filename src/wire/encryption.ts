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

// MSE's Diffie-Hellman: its own 768-bit prime P, generator 2. bittorrent-protocol makes a node DiffieHellman per
// connection, which tests P for primality on creation and uses a 768-bit private exponent: 30–60 ms of CPU per
// connection, the largest single cost of starting a download from one peer. The spec asks for a 128–180-bit private
// key (160 recommended); with that, two modular powers in BigInt cost well under a millisecond.
const MSE_P = BigInt('0xffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563')
const MSE_KEY_BYTES = 96

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n
  let b = base % mod
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % mod
    b = (b * b) % mod
  }
  return r
}

const toKeyBytes = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(MSE_KEY_BYTES * 2, '0'), 'hex')

/** The two calls bittorrent-protocol's encryptor makes of its DiffieHellman, with a 160-bit private key. */
export class MseDh {
  private readonly x = BigInt('0x' + crypto.randomBytes(20).toString('hex')) | (1n << 159n)
  private pub?: Buffer
  /** Our public key, 96 bytes big-endian. */
  generateKeys(): Buffer {
    return (this.pub ??= toKeyBytes(modPow(2n, this.x, MSE_P)))
  }
  /** The shared secret S, 96 bytes big-endian (zero-padded, as MSE hashes it). */
  computeSecret(other: Uint8Array): Buffer {
    const y = BigInt('0x' + (Buffer.from(other.buffer, other.byteOffset, other.length).toString('hex') || '0'))
    // 0, 1 and P-1 would give a secret the peer could predict; such a key is no key.
    if (y <= 1n || y >= MSE_P - 1n) throw new Error('Supplied key is invalid')
    return toKeyBytes(modPow(y, this.x, MSE_P))
  }
}

/** Give a wire's encryptor (present when MSE is on) the fast Diffie-Hellman above. */
export function useFastDh(encryptor: any): void {
  if (encryptor && !encryptor._dh) encryptor._dh = new MseDh()
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
