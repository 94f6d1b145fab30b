// Memory for the swarms' slot arrays (swarm.ts): one Uint8Array per swarm, of 4, 8, 16… slots. Allocated one by
// one, each small typed array also costs a malloc'd backing store and its bookkeeping: 100 k swarms took ~100 MiB of
// RSS for ~30 MiB of slots. Here small arrays are views cut from shared 1 MiB buffers by power-of-two size class,
// and a released view goes to its class's free list for the next swarm of that size. Chunks are never returned, so
// memory stays at the peak of live slots (flat under churn); arrays above 1/16 of a chunk get a buffer of their own.

const CHUNK = 1 << 20
const LARGE = CHUNK / 16

export class SlotArena {
  private free: Uint8Array[][] = []
  private chunk: ArrayBuffer | undefined
  private used = 0

  /** `unit`: bytes per slot. */
  constructor(private readonly unit: number) {}

  /** An array of at least `slots` slots (a power of two, at least 4); its contents are not cleared. */
  alloc(slots: number): Uint8Array {
    const c = sizeClass(slots)
    const bytes = (1 << c) * this.unit
    if (bytes > LARGE) return new Uint8Array(bytes)
    const reuse = this.free[c]?.pop()
    if (reuse) return reuse
    if (!this.chunk || this.used + bytes > CHUNK) {
      this.chunk = new ArrayBuffer(CHUNK)
      this.used = 0
    }
    const v = new Uint8Array(this.chunk, this.used, bytes)
    this.used += bytes
    return v
  }

  /** Gives back an array from alloc(); it must not be used afterwards. */
  release(v: Uint8Array): void {
    if (v.byteLength > LARGE) return // its own buffer: the GC frees it
    const c = sizeClass(v.byteLength / this.unit)
    ;(this.free[c] ??= []).push(v)
  }
}

/** log2 of the slot count rounded up to a power of two, at least 2 (4 slots). */
function sizeClass(slots: number): number {
  let c = 2
  while (1 << c < slots) c++
  return c
}
