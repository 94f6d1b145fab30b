// One direction's bandwidth over the Client's bucket and the torrent's own: the tighter limit rules, bytes count
// against both, a wait ends when both have tokens, a swapped or removed Client bucket is followed, close() ends waits.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Bandwidth } from '../../src/session/bandwidth.js'
import { TokenBucket } from '../../src/session/rate.js'

/** TokenBucket's timers are unref'd (sockets keep a real process alive): hold the loop open while a wait runs. */
async function held<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1000)
  try {
    return await p
  } finally {
    clearInterval(keep)
  }
}

test('unlimited: Infinity available, consume and wait are free', async () => {
  const b = new Bandwidth(() => undefined)
  assert.is(b.available(), Infinity)
  b.consume(1 << 30)
  assert.is(b.available(), Infinity)
  await held(b.wait(16384))
})

test('the tighter of the Client bucket and the own rate is what is available; bytes count against both', () => {
  const shared = new TokenBucket(4 * 1024 * 1024) // burst 1 MiB
  const b = new Bandwidth(() => shared)
  const before = b.available()
  assert.ok(before >= 1024 * 1024 - 1 && before <= 1024 * 1024)
  b.setRate(256 * 1024) // burst 64 KiB
  assert.ok(b.available() <= 64 * 1024)
  const t0 = performance.now()
  b.consume(60 * 1024)
  const own = b.available()
  const sharedLeft = shared.available()
  // Both buckets refill while this runs (a loaded machine can stall it for milliseconds): allow what time gave back.
  const ms = performance.now() - t0 + 1
  assert.ok(own < 4 * 1024 + (256 * 1024 * ms) / 1000, `own bucket drained: ${own} after ${ms.toFixed(1)} ms`)
  assert.ok(sharedLeft <= 1024 * 1024 - 60 * 1024 + (4 * 1024 * 1024 * ms) / 1000, `the Client bucket was charged too: ${sharedLeft} after ${ms.toFixed(1)} ms`)
  b.setRate(0) // own limit removed
  assert.ok(b.available() > 900 * 1024)
  shared.destroy()
})

test('wait resolves once both limits have a block: the time follows the slower refill', async () => {
  const shared = new TokenBucket(10 * 1024 * 1024)
  const b = new Bandwidth(() => shared)
  b.setRate(320 * 1024) // 80 KiB burst; 16 KiB takes 50 ms to refill
  b.consume(80 * 1024 + 16 * 1024) // 16 KiB in debt
  const started = Date.now()
  await held(b.wait(16 * 1024))
  const ms = Date.now() - started
  assert.ok(ms >= 70 && ms < 1000, `waited ${ms} ms for 32 KiB at 320 KiB/s (about 100 ms)`)
  b.close()
  shared.destroy()
})

test('a request bigger than any burst still ends (waits are capped at one block)', async () => {
  const b = new Bandwidth(() => undefined)
  b.setRate(20_000) // burst 16 KiB: the minimum
  b.consume(16384)
  const started = Date.now()
  await held(b.wait(10 * 1024 * 1024))
  assert.ok(Date.now() - started < 3000)
  b.close()
})

test('the Client bucket is read each time: swapping or removing it takes effect at once', () => {
  let shared: TokenBucket | undefined = new TokenBucket(64 * 1024)
  const b = new Bandwidth(() => shared)
  assert.ok(b.available() <= 16384)
  shared.destroy()
  shared = undefined
  assert.is(b.available(), Infinity)
})

test('close() ends a wait at once', async () => {
  const b = new Bandwidth(() => undefined)
  b.setRate(16384) // refills 1 block per second
  b.consume(10 * 16384) // ten seconds in debt
  const started = Date.now()
  const waiting = b.wait(16384)
  setTimeout(() => b.close(), 30)
  await held(waiting)
  assert.ok(Date.now() - started < 1000, 'close ended the wait')
})

test.run()
