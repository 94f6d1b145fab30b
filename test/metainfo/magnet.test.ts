import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseMagnet, magnetOf, normalizeInfoHash, formatMagnet } from '../../src/metainfo/magnet.js'
import { BtError } from '../../src/errors.js'

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'

test('hex and base32 info hashes', () => {
  assert.is(normalizeInfoHash(HEX.toUpperCase()), HEX)
  const b32 = 'YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK'
  assert.is(normalizeInfoHash(b32), HEX)
  assert.is(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHash, HEX)
  assert.is(normalizeInfoHash('xyz'), undefined)
})

test('parse tr, x.pe, ws, dn, so', () => {
  const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=My+File&tr=http%3A%2F%2Ft%2Fa&tr=udp%3A%2F%2Fu%3A1&x.pe=127.0.0.1:6881&x.pe=%5B%3A%3A1%5D%3A5&ws=http%3A%2F%2Fw%2F&so=0,2-4`)
  assert.is(m.infoHash, HEX)
  assert.is(m.name, 'My File')
  assert.equal(m.trackers, ['http://t/a', 'udp://u:1'])
  assert.equal(m.peers, ['127.0.0.1:6881', '[::1]:5'])
  assert.equal(m.webSeeds, ['http://w/'])
  assert.equal(m.select, [0, 2, 3, 4])
})

test('bad magnets are usage errors', () => {
  for (const bad of ['magnet:?dn=x', 'magnet:?xt=urn:btih:1234', 'http://x', `magnet:?xt=urn:btih:${HEX}&tr=%E0%A4%A`]) {
    try {
      const m = parseMagnet(bad)
      // a bad percent-encoding of one parameter may be skipped, but the hash must still be right
      assert.is(m.infoHash, HEX)
    } catch (err) {
      assert.instance(err, BtError)
      assert.is((err as BtError).exitCode, 2)
    }
  }
})

test('magnetOf is stable and round-trips', () => {
  const link = magnetOf({ infoHash: HEX, name: 'a b&c', announce: [['http://t/a?x=1&y=2'], ['udp://u:1']], urlList: ['http://w/'] })
  assert.is(link, `magnet:?xt=urn:btih:${HEX}&dn=a%20b%26c&tr=http://t/a%3Fx%3D1%26y%3D2&tr=udp://u:1&ws=http://w/`)
  const back = parseMagnet(link)
  assert.is(back.name, 'a b&c')
  assert.equal(back.trackers, ['http://t/a?x=1&y=2', 'udp://u:1'])
  assert.is(parseMagnet(formatMagnet(back)).infoHash, HEX)
})

test.run()
