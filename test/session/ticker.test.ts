// The Client's one shared 1 s timer: many torrents' beats ride one interval, a beat may leave during a fire, and the
// timer goes away with the last beat (nothing keeps running for a Client with no torrents).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Ticker } from '../../src/session/ticker.js'
import { delay } from '../helpers/wait.js'

// Live intervals, counted by wrapping the global setInterval/clearInterval (the ticker's are unref'd, which
// process.getActiveResourcesInfo() does not list).
let live = 0
const realSet = globalThis.setInterval
const realClear = globalThis.clearInterval
globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
  live++
  return realSet(...args)
}) as typeof setInterval
globalThis.clearInterval = ((t: Parameters<typeof clearInterval>[0]) => {
  if (t) live--
  realClear(t)
}) as typeof clearInterval
const timeouts = () => live

test('a thousand beats share one timer; each is called every period; the timer ends with the last beat', async () => {
  const before = timeouts()
  const ticker = new Ticker(20)
  const counts = new Array(1000).fill(0)
  const leave = counts.map((_, i) => ticker.add(() => counts[i]++))
  assert.is(timeouts() - before, 1, 'one timer for a thousand beats')
  await delay(110)
  assert.ok(counts.every((c) => c >= 2 && c <= 6), `every beat called 2-6 times in 110 ms at 20 ms (got ${Math.min(...counts)}..${Math.max(...counts)})`)
  assert.ok(counts.every((c) => c === counts[0]), 'all beats called together')
  for (const l of leave) l()
  assert.is(ticker.size, 0)
  assert.is(timeouts() - before, 0, 'no timer left once every beat left')
  const frozen = [...counts]
  await delay(50)
  assert.equal(counts, frozen, 'a beat that left is not called again')
})

test('a beat that removes itself or another during a fire is not called again; the rest go on', async () => {
  const ticker = new Ticker(15)
  let a = 0
  let b = 0
  let c = 0
  const leaveB = ticker.add(() => b++)
  const leaveA: () => void = ticker.add(() => {
    a++
    leaveA()
    leaveB()
  })
  ticker.add(() => c++)
  await delay(80)
  assert.is(a, 1, 'removed itself after its first call')
  assert.ok(b <= 1, 'removed by another beat: at most the call before that')
  assert.ok(c >= 3, `the remaining beat keeps its pace (${c})`)
  ticker.close()
  assert.is(ticker.size, 0)
})

test.run()
