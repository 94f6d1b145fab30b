// MseDh (src/wire/encryption.ts): MSE's Diffie-Hellman with a 160-bit private key must agree with OpenSSL's on the
// MSE prime both ways, give 96-byte big-endian keys and secrets, and refuse degenerate public keys.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import crypto from 'node:crypto'
import { MseDh } from '../../src/wire/encryption.js'

const P_HEX = 'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563'

test('agrees with node:crypto DiffieHellman on the MSE prime, both ways; 96-byte keys', () => {
  for (let i = 0; i < 5; i++) {
    const ours = new MseDh()
    const theirs = crypto.createDiffieHellman(P_HEX, 'hex', 2)
    const theirPub = theirs.generateKeys()
    const ourPub = ours.generateKeys()
    assert.is(ourPub.length, 96)
    assert.ok(ours.generateKeys().equals(ourPub), 'the same key on a second call')
    const s1 = ours.computeSecret(theirPub)
    const s2 = theirs.computeSecret(ourPub)
    assert.is(s1.length, 96)
    assert.ok(s1.equals(s2), 'one shared secret')
  }
})

test('two MseDh agree; a key given as a view into a larger buffer is read from its offset', () => {
  const a = new MseDh()
  const b = new MseDh()
  const framed = Buffer.concat([Buffer.from([9, 9, 9]), b.generateKeys(), Buffer.from([7])])
  assert.ok(a.computeSecret(framed.subarray(3, 99)).equals(b.computeSecret(a.generateKeys())))
  assert.not.ok(a.generateKeys().equals(b.generateKeys()), 'private keys are random')
})

test('degenerate public keys (0, 1, P-1, P) are refused', () => {
  const dh = new MseDh()
  const p = BigInt('0x' + P_HEX)
  for (const y of [0n, 1n, p - 1n, p]) {
    assert.throws(() => dh.computeSecret(Buffer.from(y.toString(16).padStart(192, '0'), 'hex')), /invalid/)
  }
})

test.run()
