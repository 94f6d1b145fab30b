// MSE's Diffie-Hellman key exchange without node's DiffieHellman objects. bittorrent-protocol makes one per encrypted
// connection with crypto.createDiffieHellman(prime), which tests the prime for primality on every call: 30–250 ms
// of CPU here, on each side of each connection, most of a loopback bare magnet's time to metadata. Keys made with
// generateKeyPairSync('dh', {prime}) and crypto.diffieHellman skip that test (about 1 ms a connection).

import crypto from 'node:crypto'

/** MSE's group: a 768-bit prime of its own, generator 2. Public keys and the secret are 96 bytes, big-endian. */
const MSE_PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A43' +
  '1B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563', 'hex')
const KEY_BYTES = 96

/** What bittorrent-protocol's encryptor uses of a DiffieHellman object. */
export interface MseKeyExchange {
  /** Our public key (96 bytes); the same on every call. */
  generateKeys(): Buffer
  /** The shared secret (96 bytes) from the peer's public key; throws on a key out of range (as node's would). */
  computeSecret(peerPublic: Uint8Array): Buffer
}

// @types/node lists no 'dh' overload of generateKeyPairSync; node has had one since 13.
const generateDhPair = crypto.generateKeyPairSync as unknown as
  (type: 'dh', options: { prime: Buffer; generator: number }) => crypto.KeyPairKeyObjectResult

/** The DER of an SPKI's AlgorithmIdentifier for the MSE group (the same for every key): taken from one key once. */
let algorithmDer: Buffer | undefined

export function mseKeyExchange(): MseKeyExchange {
  let pair: crypto.KeyPairKeyObjectResult | undefined
  let pub: Buffer | undefined
  const keys = () => (pair ??= generateDhPair('dh', { prime: MSE_PRIME, generator: 2 }))
  return {
    generateKeys() {
      if (!pub) {
        const spki = parseSpki(keys().publicKey.export({ type: 'spki', format: 'der' }))
        algorithmDer ??= spki.algorithm
        pub = toFixed(spki.publicValue)
      }
      return Buffer.from(pub)
    },
    computeSecret(peerPublic) {
      const { privateKey, publicKey } = keys()
      algorithmDer ??= parseSpki(publicKey.export({ type: 'spki', format: 'der' })).algorithm
      const peer = crypto.createPublicKey({ key: spkiDer(algorithmDer, Buffer.from(peerPublic)), format: 'der', type: 'spki' })
      return toFixed(crypto.diffieHellman({ privateKey, publicKey: peer }))
    },
  }
}

/** Gives bittorrent-protocol's encryptor (a wire's `_encryptor`, null on a plain wire) our key exchange. */
export function useMseKeyExchange(encryptor: { _dh?: unknown } | null | undefined): void {
  if (encryptor) encryptor._dh = mseKeyExchange()
}

/** A big-endian number as exactly 96 bytes (leading zeros dropped or added). */
function toFixed(n: Uint8Array): Buffer {
  let i = 0
  while (i < n.length - 1 && n[i] === 0) i++
  const v = n.subarray(i)
  if (v.length > KEY_BYTES) throw new RangeError('MSE: key longer than the group')
  const out = Buffer.alloc(KEY_BYTES)
  out.set(v, KEY_BYTES - v.length)
  return out
}

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }, and the BIT
// STRING of a DH key holds INTEGER y.
function parseSpki(der: Buffer): { algorithm: Buffer; publicValue: Buffer } {
  const outer = readTlv(der, 0, 0x30)
  const alg = readTlv(der, outer.start, 0x30)
  const bits = readTlv(der, alg.end, 0x03)
  const y = readTlv(der, bits.start + 1, 0x02)
  return { algorithm: der.subarray(outer.start, alg.end), publicValue: der.subarray(y.start, y.end) }
}

function spkiDer(algorithm: Buffer, y: Buffer): Buffer {
  let v = y.subarray(0)
  while (v.length > 1 && v[0] === 0) v = v.subarray(1)
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]) // a DER INTEGER is signed
  const integer = tlv(0x02, v)
  return tlv(0x30, Buffer.concat([algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), integer]))]))
}

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...len]), body])
}

function readTlv(der: Buffer, at: number, tag: number): { start: number; end: number } {
  if (der[at] !== tag) throw new Error(`MSE: unexpected DER tag ${der[at]} at ${at}`)
  let len = der[at + 1]
  let start = at + 2
  if (len & 0x80) {
    const bytes = len & 0x7f
    len = 0
    for (let i = 0; i < bytes; i++) len = len * 256 + der[start + i]
    start += bytes
  }
  if (start + len > der.length) throw new Error('MSE: truncated DER')
  return { start, end: start + len }
}
