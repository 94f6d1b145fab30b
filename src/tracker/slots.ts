// A swarm's slot array: per peer (a slot is the peer's index in swarm.list) SLOT bytes, a flags byte (1 seeder,
// 2 IPv6) and the compact address (IPv4 uses 6 of the 18 bytes). Replies are copied from it without touching peer
// objects, and it is the only copy of a peer's address. The arrays come from one arena (slot-arena.ts).

import { SlotArena } from './slot-arena.js'
import type { Peer, Swarm } from './swarm.js'

export const SLOT = 19
export const F_SEEDER = 1
export const F_V6 = 2

/** The slot arrays of every swarm in the process (slot-arena.ts: per-array allocations cost more than the slots). */
const arena = new SlotArena(SLOT)
const EMPTY = new Uint8Array(0)

/** Moves a swarm's first `slots` slots to an array of `size` slots, giving the old one back. */
export function resizeSlots(s: Swarm, size: number, slots: number): void {
  const next = arena.alloc(size)
  next.set(s.slots.subarray(0, slots * SLOT))
  arena.release(s.slots)
  s.slots = next
}

/** Peer p's compact address: 4-byte IPv4 or 16-byte IPv6, then the 2-byte port, as a latin1 string. */
export function peerAddr(p: Peer): string {
  const slots = p.swarm.slots
  const o = p.idx * SLOT
  return Buffer.from(slots.buffer, slots.byteOffset + o + 1, slots[o] & F_V6 ? 18 : 6).toString('latin1')
}

export function slotV6(p: Peer): boolean {
  return (p.swarm.slots[p.idx * SLOT] & F_V6) !== 0
}

/** Whether peer p's slot holds this compact IP (4 or 16 latin1 chars) and port. */
export function slotIs(p: Peer, ipc: string, port: number): boolean {
  const slots = p.swarm.slots
  const o = p.idx * SLOT
  const n = ipc.length
  if (((slots[o] & F_V6) !== 0) !== (n === 16)) return false
  for (let i = 0; i < n; i++) if (slots[o + 1 + i] !== ipc.charCodeAt(i)) return false
  return slots[o + 1 + n] === port >>> 8 && slots[o + 2 + n] === (port & 0xff)
}

/** Writes peer p's flags and compact address into its slot, growing the array when p is a new last slot. */
export function writeSlot(s: Swarm, p: Peer, a: string): void {
  const o = p.idx * SLOT
  if (o + SLOT > s.slots.length) resizeSlots(s, Math.max((s.slots.length / SLOT) * 2, p.idx + 1), p.idx)
  s.slots[o] = (p.seeder ? F_SEEDER : 0) | (a.length === 18 ? F_V6 : 0)
  for (let i = 0; i < a.length; i++) s.slots[o + 1 + i] = a.charCodeAt(i)
}

export function allocSlots(slots: number): Uint8Array {
  return arena.alloc(slots)
}

/** Gives a dropped swarm's slots back; a stale reference (a pending reply) then reads nothing, not another swarm's. */
export function releaseSlots(s: Swarm): void {
  arena.release(s.slots)
  s.slots = EMPTY
}
