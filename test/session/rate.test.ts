// The token bucket behind --download-limit/--upload-limit and the rate meter behind every shown rate: burst size,
// debt, waiting, fairness between waiters, the limit held over time, re-tuning; the meter's window and silences.
// Pure logic; the bucket runs on real time, so its tests use short waits and bounds with room for a loaded machine.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RateMeter, TokenBucket, retuneBucket } from '../../src/session/rate.js'

const KiB = 1024
const MiB = 1024 * 1024

/** Milliseconds `p` took to settle, or Infinity when it did not within `limitMs`. */
async function took(p: Promise<unknown>, limitMs = 3000): Promise<number> {
  const t0 = performance.now()
  let timer: NodeJS.Timeout | undefined
  const done = await Promise.race([p.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), limitMs)))])
  clearTimeout(timer)
  return done ? performance.now() - t0 : Infinity
}

test('TokenBucket: starts with a quarter second of the rate, at least 16 KiB, and never holds more', async () => {
  const b = new TokenBucket(MiB)
  assert.is(b.available(), MiB / 4)
  assert.is(new TokenBucket(1000).available(), 16 * KiB, 'a tiny rate still allows one block')
  await new Promise((r) => setTimeout(r, 60))
  assert.is(b.available(), MiB / 4, 'idle time does not pile up beyond the burst')
  b.destroy()
})

test('TokenBucket: consume may overdraw; the debt is repaid at the rate before wait() resolves', async () => {
  const b = new TokenBucket(MiB) // 1 KiB per ~1 ms
  const t0 = performance.now() // from the consume: a busy machine may pause us between it and the wait
  b.consume(MiB / 4 + 100 * KiB)
  assert.is(b.available(), 0)
  assert.ok(Number.isFinite(await took(b.wait(1))))
  const ms = performance.now() - t0
  // 100 KiB of debt at 1 MiB/s is ~98 ms; timers may run late, never early.
  assert.ok(ms >= 90, `resolved ${ms.toFixed(0)} ms after the overdraw, before the debt was repaid`)
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`)
  b.destroy()
})

test('TokenBucket: a wait for more than the burst resolves once a full burst is there', async () => {
  const b = new TokenBucket(64 * KiB) // burst 16 KiB = 250 ms of rate
  b.consume(b.available())
  const ms = await took(b.wait(10 * MiB))
  assert.ok(ms >= 200 && ms < 2500, `took ${ms.toFixed(0)} ms`)
  b.destroy()
})

test('TokenBucket: queued waiters are served in order; a small wait does not overtake a big one', async () => {
  const b = new TokenBucket(256 * KiB) // burst 64 KiB
  b.consume(b.available() + 64 * KiB) // a quarter second of debt: both waits below queue
  const order: string[] = []
  const big = b.wait(32 * KiB).then(() => order.push('big'))
  const small = b.wait(1).then(() => order.push('small'))
  assert.ok(Number.isFinite(await took(Promise.all([big, small]))))
  assert.equal(order, ['big', 'small'])
  b.destroy()
})

// BUG (fairness, src/session/rate.ts): TokenBucket.wait's fast path grants a newcomer whenever the balance covers
// its own need, even while earlier waiters are queued for more; available() ignores the queue the same way. A peer
// that keeps asking can take the tokens a queued peer is waiting for. Failing assertion: order is
// ['small', 'big'], expected ['big', 'small']. Skipped until the bucket serves its queue first.
test.skip('TokenBucket: a newcomer does not take tokens that a queued waiter is waiting for', async () => {
  const b = new TokenBucket(256 * KiB) // 256 bytes per ms
  b.consume(b.available())
  const order: string[] = []
  const big = b.wait(32 * KiB).then(() => order.push('big')) // queued: ~125 ms away
  await new Promise((r) => setTimeout(r, 20)) // ~5 KiB refilled: enough for 1 byte, not for 32 KiB
  const small = b.wait(1).then(() => order.push('small'))
  assert.ok(Number.isFinite(await took(Promise.all([big, small]))))
  assert.equal(order, ['big', 'small'])
  b.destroy()
})

test('TokenBucket: callers that wait and consume stay within the rate plus one burst', async () => {
  const rate = 512 * KiB
  const b = new TokenBucket(rate)
  // The bucket's timer is unref'd (a limit never holds a process open); here nothing else would keep it alive.
  const keepAlive = setInterval(() => {}, 1000)
  const t0 = performance.now()
  let bytes = 0
  for (let i = 0; i < 200 && performance.now() - t0 < 600; i++) {
    await b.wait(16 * KiB)
    b.consume(16 * KiB)
    bytes += 16 * KiB
  }
  const elapsed = (performance.now() - t0) / 1000
  const cap = rate / 4 + rate * elapsed + 16 * KiB
  assert.ok(bytes <= cap, `${bytes} bytes in ${elapsed.toFixed(3)} s, over the cap ${cap.toFixed(0)}`)
  assert.ok(bytes >= 0.3 * rate * elapsed, `${bytes} bytes in ${elapsed.toFixed(3)} s: far under the rate`)
  clearInterval(keepAlive)
  b.destroy()
})

test('TokenBucket: destroy releases every waiter at once', async () => {
  const b = new TokenBucket(16 * KiB)
  b.consume(MiB) // a minute of debt
  const waits = [b.wait(1), b.wait(100)]
  b.destroy()
  assert.ok((await took(Promise.all(waits), 500)) < 500)
})

test('retuneBucket: 0 or undefined means unlimited (the old bucket is destroyed); otherwise the same bucket re-rated', async () => {
  assert.is(retuneBucket(undefined, 0), undefined)
  assert.is(retuneBucket(undefined, undefined), undefined)
  const b = retuneBucket(undefined, 100 * KiB)!
  assert.instance(b, TokenBucket)
  assert.is(b.rate, 100 * KiB)
  assert.is(retuneBucket(b, 200 * KiB), b)
  assert.is(b.rate, 200 * KiB)
  b.consume(10 * MiB)
  const waiting = b.wait(1)
  assert.is(retuneBucket(b, 0), undefined)
  assert.ok((await took(waiting, 500)) < 500, 'a waiter on the dropped limit goes on at once')
})

test('RateMeter: counts every byte; reads zero after a window of silence; the first block is not a huge rate', () => {
  const t0 = 5_000_000
  const m = new RateMeter(5000, 250, t0)
  assert.is(m.rate(t0), 0)
  m.add(16 * KiB, t0 + 1)
  // Averaged over at least one bucket (250 ms), not over the 1 ms since the block.
  assert.ok(m.rate(t0 + 2) <= 64 * KiB + 1, `${m.rate(t0 + 2)}`)
  for (let t = 1; t <= 1000; t++) m.add(KiB, t0 + 1 + t) // 1 KiB per ms = 1000 KiB/s for a second
  assert.is(m.total, 16 * KiB + 1000 * KiB)
  const r = m.rate(t0 + 1001)
  assert.ok(Math.abs(r - 1016 * KiB) / (1016 * KiB) < 0.15, `${(r / KiB).toFixed(0)} KiB/s`)
  assert.is(m.rate(t0 + 1001 + 5250), 0, 'nothing in the last window')
  assert.is(m.total, 1016 * KiB, 'the total survives the window')
})

test('RateMeter: a run of traffic after a long silence is averaged over its own time, not the window', () => {
  const t0 = 9_000_000
  const m = new RateMeter(5000, 250, t0)
  m.add(MiB, t0)
  // 20 s of silence, then 2 s at 512 KiB/s.
  let t = t0 + 20_000
  for (let i = 0; i < 64; i++) {
    t += 2000 / 64
    m.add(16 * KiB, t)
  }
  const r = m.rate(t)
  assert.ok(Math.abs(r - 512 * KiB) / (512 * KiB) < 0.15, `${(r / KiB).toFixed(0)} KiB/s`)
})

test.run()
