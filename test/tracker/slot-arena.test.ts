// SlotArena: the swarms' slot arrays cut from shared buffers by size class, reused after release.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SlotArena } from '../../src/tracker/slot-arena.js'

test('sizes round up to powers of two slots (at least 4); small arrays share buffers without overlapping', () => {
  const a = new SlotArena(19)
  assert.is(a.alloc(1).length, 4 * 19)
  assert.is(a.alloc(5).length, 8 * 19)
  assert.is(a.alloc(16).length, 16 * 19)
  const views = Array.from({ length: 200 }, (_, i) => a.alloc(1 + (i % 40)))
  assert.ok(views.every((v) => v.buffer === views[0].buffer || v.buffer.byteLength === 1 << 20), 'cut from 1 MiB chunks')
  const byBuffer = new Map<ArrayBufferLike, Array<[number, number]>>()
  for (const v of views) {
    const list = byBuffer.get(v.buffer) ?? []
    list.push([v.byteOffset, v.byteOffset + v.byteLength])
    byBuffer.set(v.buffer, list)
  }
  for (const list of byBuffer.values()) {
    list.sort((x, y) => x[0] - y[0])
    for (let i = 1; i < list.length; i++) assert.ok(list[i][0] >= list[i - 1][1], 'no overlap')
  }
  // Writing one array leaves its neighbours alone.
  views.forEach((v, i) => v.fill(i))
  views.forEach((v, i) => assert.ok(v.every((x) => x === i)))
})

test('a released array is handed out again for its size class only; large ones get a buffer of their own', () => {
  const a = new SlotArena(19)
  const v = a.alloc(8)
  a.release(v)
  assert.is.not(a.alloc(4), v, 'another class')
  assert.is(a.alloc(7), v, 'same class: reused')
  assert.is.not(a.alloc(8), v, 'handed out once')
  const big = a.alloc(5000)
  assert.is(big.length, 8192 * 19)
  assert.is(big.byteOffset, 0)
  assert.is(big.buffer.byteLength, big.byteLength, 'its own buffer')
})

test.run()
