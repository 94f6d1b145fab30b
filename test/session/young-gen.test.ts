// capYoungGeneration: once the new space reaches the cap, V8 stops growing it, although the objects that survive
// scavenges keep adding up (without the cap this workload grows it to 32 MiB).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { getHeapSpaceStatistics } from 'node:v8'
import { capYoungGeneration, YOUNG_GENERATION_CAP } from '../../src/session/young-gen.js'

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size

/** Allocate `n` small objects, keeping the latest 10–20 thousand alive so some survive every scavenge. */
function churn(n: number): void {
  const keep: object[] = []
  for (let i = 0; i < n; i++) {
    keep.push({ a: i, b: [i] })
    if (keep.length > 20_000) keep.splice(0, 10_000)
  }
}

test('the new space stops growing at the cap', async () => {
  capYoungGeneration()
  let most = newSpace()
  // Bounded: 40 rounds of 100k objects, with pauses so the half-second check runs.
  for (let round = 0; round < 40; round++) {
    churn(100_000)
    most = Math.max(most, newSpace())
    if (round % 4 === 3) await new Promise((r) => setTimeout(r, 150))
  }
  // One growth step may land between two checks: at most one doubling past the cap.
  assert.ok(most <= 2 * YOUNG_GENERATION_CAP, `new space reached ${most} bytes (cap ${YOUNG_GENERATION_CAP})`)
  churn(1_000_000)
  assert.ok(newSpace() <= 2 * YOUNG_GENERATION_CAP, `still ${newSpace()} after the cap took hold`)
})

test.run()
