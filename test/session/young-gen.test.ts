// capYoungGeneration: V8 stops growing the new space, although the objects that survive scavenges keep adding up
// (without it this workload grows the new space from 2 to 32 MiB).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { getHeapSpaceStatistics } from 'node:v8'
import { capYoungGeneration } from '../../src/session/young-gen.js'

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size

/** Allocate `n` small objects, keeping the latest 10–20 thousand alive so some survive every scavenge. */
function churn(n: number): void {
  const keep: object[] = []
  for (let i = 0; i < n; i++) {
    keep.push({ a: i, b: [i] })
    if (keep.length > 20_000) keep.splice(0, 10_000)
  }
}

test('the new space keeps its size', () => {
  const start = newSpace()
  capYoungGeneration()
  churn(3_000_000)
  assert.ok(newSpace() <= start, `new space grew from ${start} to ${newSpace()} bytes`)
})

test.run()
