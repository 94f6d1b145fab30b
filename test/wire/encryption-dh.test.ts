// MSE's Diffie-Hellman without a DiffieHellman object per connection (src/wire/mse-dh.ts): our key exchange agrees
// with node's stock DiffieHellman of the MSE group (what bittorrent-protocol and other clients compute), keys and
// secrets are 96 bytes even when the number is shorter, bad peer keys throw as node's do, and every encrypted PeerWire
// uses it. (End to end against libtorrent: test/engine/encryption.test.ts.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import crypto from 'node:crypto'
import { mseKeyExchange } from '../../src/wire/mse-dh.js'
import { PeerWire } from '../../src/wire/peer-wire.js'

const MSE_PRIME = 'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563'
const stockGroup = crypto.createDiffieHellman(MSE_PRIME, 'hex', 2) // made once: each one costs a primality test

test('agrees with a stock DiffieHellman of the MSE group, both ways, 96-byte keys and secrets', () => {
  for (let i = 0; i < 20; i++) {
    stockGroup.setPrivateKey(crypto.randomBytes(20))
    const S = stockGroup.generateKeys()
    const ours = mseKeyExchange()
    const O = ours.generateKeys()
    assert.is(O.length, 96)
    assert.ok(ours.generateKeys().equals(O), 'the same public key on every call')
    const a = ours.computeSecret(S)
    assert.is(a.length, 96)
    assert.ok(a.equals(stockGroup.computeSecret(O)), `secret ${i}`)
  }
})

test('two of ours agree; public keys shorter than 96 bytes (leading zeros) are read and written as 96 bytes', () => {
  const a = mseKeyExchange()
  const b = mseKeyExchange()
  assert.ok(a.computeSecret(b.generateKeys()).equals(b.computeSecret(a.generateKeys())))
  // A peer key sent without its leading zeros (a small number): 2^x mod p for a tiny private key x.
  stockGroup.setPrivateKey(Buffer.from([3]))
  const small = stockGroup.generateKeys() // 2^3 = 8, as stock node writes it
  const c = mseKeyExchange()
  assert.ok(c.computeSecret(small).equals(stockGroup.computeSecret(c.generateKeys())))
  const padded = Buffer.alloc(96)
  padded[95] = 8
  assert.ok(c.computeSecret(padded).equals(c.computeSecret(Buffer.from([8]))))
})

test('a peer key out of range throws, as node\'s DiffieHellman does', () => {
  const ours = mseKeyExchange()
  ours.generateKeys()
  for (const bad of [Buffer.alloc(96), Buffer.from([1]), Buffer.from(MSE_PRIME, 'hex')]) {
    assert.throws(() => stockGroup.computeSecret(bad))
    assert.throws(() => ours.computeSecret(bad))
  }
})

test('every encrypted PeerWire gets our key exchange; plain wires have no encryptor', () => {
  const out = new PeerWire('tcpOutgoing', 1) as any
  const inc = new PeerWire('tcpIncoming', 2) as any
  const plain = new PeerWire('tcpOutgoing', 0) as any
  assert.not.ok(out._encryptor.dh instanceof crypto.DiffieHellman, 'no DiffieHellman object per connection')
  assert.not.ok(inc._encryptor.dh instanceof crypto.DiffieHellman)
  assert.ok(out._encryptor.dh.computeSecret(inc._encryptor.dh.generateKeys()).equals(inc._encryptor.dh.computeSecret(out._encryptor.dh.generateKeys())))
  assert.is(plain._encryptor, null)
  const c0 = process.cpuUsage()
  for (let i = 0; i < 50; i++) {
    const w = new PeerWire('tcpOutgoing', 1) as any
    w._encryptor.dh.generateKeys()
    w.destroy()
  }
  const cpu = process.cpuUsage(c0)
  console.log(`50 encrypted wires with their keys: ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms CPU`)
  for (const w of [out, inc, plain]) w.destroy()
})

test.run()
