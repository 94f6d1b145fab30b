// BEP 6 allowed-fast sets: the BEP's own test vectors, and the edge cases around them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { allowedFastSet } from '../../src/wire/fast.js'

const ih = Buffer.alloc(20, 0xaa)

test('BEP 6 test vectors: 80.4.4.200, info hash 0xaa x 20, 1313 pieces', () => {
  assert.equal(allowedFastSet('80.4.4.200', ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.equal(allowedFastSet('80.4.4.200', ih, 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508])
})

test('only the /24 network counts; IPv4-mapped addresses are read as IPv4', () => {
  assert.equal(allowedFastSet('80.4.4.1', ih, 1313, 9), allowedFastSet('80.4.4.200', ih, 1313, 9))
  assert.equal(allowedFastSet('::ffff:80.4.4.200', ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.not.equal(allowedFastSet('80.4.5.200', ih, 1313, 9), allowedFastSet('80.4.4.200', ih, 1313, 9))
})

test('small torrents: no more pieces than exist, all distinct; bad input gives none', () => {
  const s = allowedFastSet('127.0.0.1', ih, 3, 10)
  assert.equal([...s].sort(), [0, 1, 2])
  assert.equal(allowedFastSet('::1', ih, 100), [])
  assert.equal(allowedFastSet('300.1.1.1', ih, 100), [])
  assert.equal(allowedFastSet('1.2.3.4', ih, 0), [])
  assert.is(new Set(allowedFastSet('10.0.0.1', ih, 50, 10)).size, 10)
})

test.run()
