// MSE's Diffie-Hellman on one shared group object (src/wire/encryption.ts shareDiffieHellman): each connection keeps
// its own private key, interleaved handshakes agree with their own peer only, and a connection made this way agrees
// with a stock per-connection DiffieHellman (what bittorrent-protocol and other clients do).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import crypto from 'node:crypto'
import { shareDiffieHellman } from '../../src/wire/encryption.js'
import { PeerWire } from '../../src/wire/peer-wire.js'

type Dh = { generateKeys(): Buffer; computeSecret(other: Uint8Array): Buffer }
const MSE_PRIME = 'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563'

function shared(): Dh {
  const enc: { _dh?: Dh } = {}
  shareDiffieHellman(enc)
  return enc._dh!
}

test('interleaved connections on the shared group each agree with their own peer only', () => {
  const [a1, b1, a2, b2] = [shared(), shared(), shared(), shared()]
  // Keys of two handshakes generated in between each other, secrets computed in another order.
  const A1 = a1.generateKeys()
  const A2 = a2.generateKeys()
  const B2 = b2.generateKeys()
  const B1 = b1.generateKeys()
  assert.is(new Set([A1, A2, B1, B2].map((k) => k.toString('hex'))).size, 4, 'distinct public keys')
  const s2b = b2.computeSecret(A2)
  const s1a = a1.computeSecret(B1)
  const s2a = a2.computeSecret(B2)
  const s1b = b1.computeSecret(A1)
  assert.ok(s1a.equals(s1b), 'pair 1 agrees')
  assert.ok(s2a.equals(s2b), 'pair 2 agrees')
  assert.not.ok(s1a.equals(s2a))
  // A connection's public key does not change when others use the group in between.
  assert.ok(a1.generateKeys().equals(A1))
})

test('agrees with a per-connection DiffieHellman of the MSE group (a stock peer)', () => {
  for (let i = 0; i < 3; i++) {
    const stock = crypto.createDiffieHellman(MSE_PRIME, 'hex', 2)
    const ours = shared()
    const S = stock.generateKeys()
    const O = ours.generateKeys()
    assert.is(O.length, 96)
    assert.ok(stock.computeSecret(O).equals(ours.computeSecret(S)))
  }
})

test('every PeerWire with encryption gets a key on the shared group; plain wires get no encryptor', () => {
  const out = new PeerWire('tcpOutgoing', 1) as any
  const inc = new PeerWire('tcpIncoming', 2) as any
  const plain = new PeerWire('tcpOutgoing', 0) as any
  assert.type(out._encryptor._dh.computeSecret, 'function')
  assert.type(inc._encryptor._dh.computeSecret, 'function')
  assert.not.ok(out._encryptor.dh instanceof crypto.DiffieHellman, 'no DiffieHellman object per connection')
  assert.is(plain._encryptor, null)
  const t0 = performance.now()
  for (let i = 0; i < 50; i++) {
    const w = new PeerWire('tcpOutgoing', 1) as any
    w._encryptor.dh.generateKeys()
    w.destroy()
  }
  console.log(`50 encrypted wires and their first keys: ${(performance.now() - t0).toFixed(1)} ms`)
  for (const w of [out, inc, plain]) w.destroy()
})

test.run()
