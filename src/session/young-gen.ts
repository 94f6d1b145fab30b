// Keeps V8's young generation at its starting size (1 MiB semi-spaces) while a Client runs, without a launcher flag.
//
// V8 doubles the young generation's semi-spaces (up to 16 MiB each, 32 MiB of heap) once the bytes that survived
// scavenges since the last growth add up to its capacity. The total only grows, so a long download always gets there,
// though little survives any one scavenge: on a 1 GiB download it was +8 to +16 MiB of RSS. `--max-semi-space-size`
// would cap it, but any V8 flag on the launcher costs every start 25–35 ms of CPU (Node then drops its startup
// snapshot). V8 reads `--semi-space-growth-factor` each time it grows the new space, so it can be set at run time.
// Growth is stopped at once rather than at a cap: startup (metadata, module loading) grew it past 2 MiB semi-spaces
// within the first half second, before a periodic check could stop it.

import { setFlagsFromString } from 'node:v8'

let capped = false

/** Stop V8 from growing the new space beyond its present size (idempotent; for the rest of the process). */
export function capYoungGeneration(): void {
  if (capped) return
  setFlagsFromString('--semi-space-growth-factor=1')
  capped = true
}
