// RebuildCache (src/server/rebuild-cache.ts), torrent-get's answer cache, on a made-up clock: fresh answers reused,
// stale ones served while exactly one rebuild runs behind them, one build shared by every request that waits, a
// clear() that a build in progress cannot undo, failures not kept, the prepare step awaited before a swap.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RebuildCache } from '../../src/server/rebuild-cache.js'

/** A build the test finishes by hand, counting how many were started. */
function builds() {
  const started: Array<{ resolve: (v: string) => void; reject: (e: Error) => void }> = []
  const build = () => new Promise<string>((resolve, reject) => started.push({ resolve, reject }))
  return { started, build }
}
const tick = () => new Promise((r) => setImmediate(r))

test('fresh answers are reused; waiters share one build', async () => {
  let now = 1000
  const c = new RebuildCache<string>({ freshMs: 500, staleMs: 5000, now: () => now })
  const b = builds()
  const first = c.get('k', b.build)
  const second = c.get('k', b.build)
  assert.is(b.started.length, 1, 'one build for two waiters')
  b.started[0].resolve('v1')
  assert.is(await first, 'v1')
  assert.is(await second, 'v1')
  now += 499
  assert.is(c.get('k', b.build), 'v1', 'fresh: the value itself, no promise')
  assert.is(b.started.length, 1)
})

test('stale: served at once while one rebuild runs behind; swapped after prepare', async () => {
  let now = 0
  let prepared = 0
  let release: () => void = () => {}
  const c = new RebuildCache<string>({
    freshMs: 500, staleMs: 5000, now: () => now,
    prepare: () => new Promise<void>((r) => { prepared++; release = r }),
  })
  const b = builds()
  const p = c.get('k', b.build)
  b.started[0].resolve('old')
  await p
  now = 600
  assert.is(c.get('k', b.build), 'old')
  assert.is(c.get('k', b.build), 'old')
  assert.is(b.started.length, 2, 'one rebuild, however many stale reads')
  b.started[1].resolve('new')
  await tick()
  assert.is(prepared, 1)
  assert.is(c.get('k', b.build), 'old', 'not swapped before prepare finished')
  release()
  await tick()
  assert.is(c.get('k', b.build), 'new')
  // The rebuilt answer's age counts from when its build started (600): still fresh at 1099, stale at 1100.
  now = 1099
  c.get('k', b.build)
  assert.is(b.started.length, 2)
  now = 1100
  c.get('k', b.build)
  assert.is(b.started.length, 3)
  // Past staleMs nothing is served: the request waits for a build.
  now = 100_000
  const waited = c.get('k', b.build)
  assert.instance(waited, Promise)
})

test('clear(): a build in progress answers its waiters but is not kept; the next request builds again', async () => {
  const c = new RebuildCache<string>({ freshMs: 500, staleMs: 5000 })
  const b = builds()
  const before = c.get('k', b.build)
  c.clear() // a torrent changed while the answer was being built
  const after = c.get('k', b.build)
  assert.is(b.started.length, 2)
  b.started[0].resolve('before the change')
  b.started[1].resolve('after the change')
  assert.is(await before, 'before the change')
  assert.is(await after, 'after the change')
  assert.is(c.get('k', b.build), 'after the change')
})

test('a failed build reaches its waiters and is not kept; a failed rebuild stops the stale answer', async () => {
  let now = 0
  const c = new RebuildCache<string>({ freshMs: 500, staleMs: 5000, now: () => now })
  const b = builds()
  const p = c.get('k', b.build)
  b.started[0].reject(new Error('bad id'))
  assert.is(await Promise.resolve(p).then(() => 'ok', (e: Error) => e.message), 'bad id')
  const q = c.get('k', b.build)
  b.started[1].resolve('v')
  assert.is(await q, 'v')
  now = 1000
  assert.is(c.get('k', b.build), 'v')
  b.started[2].reject(new Error('gone'))
  await tick()
  assert.instance(c.get('k', b.build), Promise, 'the stale answer is no longer served')
})

test('bounded number of keys', async () => {
  const c = new RebuildCache<string>({ freshMs: 60_000, staleMs: 60_000, maxKeys: 3 })
  for (const k of ['a', 'b', 'c']) await c.get(k, async () => k)
  assert.is(c.size, 3)
  await c.get('d', async () => 'd')
  assert.is(c.size, 1)
})

test.run()
