// Caps V8's young generation at a few MiB while a Client runs, without a launcher flag.
//
// V8 doubles the young generation's semi-spaces (up to 16 MiB each, 32 MiB of heap) once the bytes that survived
// scavenges since the last growth add up to its capacity. The total only grows, so a long download always gets there,
// though little survives any one scavenge: on a 1 GiB download it was +8 to +16 MiB of RSS late in the run.
// `--max-semi-space-size` would cap it, but any V8 flag on the launcher costs every start 25–35 ms of CPU (Node then
// drops its startup snapshot). V8 reads `--semi-space-growth-factor` each time it grows the new space, so it can be
// set at run time: growth is allowed until the new space reaches the cap, then stopped.

import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'

/** New-space bytes (both semi-spaces) at which growth stops: 2 MiB semi-spaces. */
export const YOUNG_GENERATION_CAP = 4 * 1024 * 1024

let timer: NodeJS.Timeout | undefined
let capped = false

function newSpaceSize(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0
}

/** Start watching the new space (idempotent); once it reaches the cap, V8 stops growing it. */
export function capYoungGeneration(cap = YOUNG_GENERATION_CAP): void {
  if (capped || timer) return
  const check = (): boolean => {
    if (newSpaceSize() < cap) return false
    setFlagsFromString('--semi-space-growth-factor=1')
    capped = true
    if (timer) clearInterval(timer)
    timer = undefined
    return true
  }
  if (check()) return
  // Growth happens in steps of whole scavenges; half a second is well inside one step at download rates.
  timer = setInterval(check, 500)
  timer.unref()
}
