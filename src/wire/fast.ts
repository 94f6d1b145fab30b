// The fast extension (BEP 6): the allowed-fast set, the pieces a peer may request from us even while choked. A pure
// function of the peer's IPv4 address, the info hash and the piece count, so both sides can compute the same set.

import { createHash } from 'node:crypto'

/** libtorrent and the BEP both use 10 pieces. */
export const ALLOWED_FAST_COUNT = 10

/**
 * BEP 6's canonical allowed-fast set: `k` piece indices for a peer at `ipv4` (dotted quad), in the BEP's order.
 * Empty for a non-IPv4 address (the BEP defines it for IPv4 only). Never more pieces than the torrent has.
 */
export function allowedFastSet(ipv4: string, infoHash: Uint8Array, pieceCount: number, k = ALLOWED_FAST_COUNT): number[] {
  const parts = ipv4.replace(/^::ffff:/, '').split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || infoHash.length !== 20 || pieceCount <= 0) return []
  const want = Math.min(k, pieceCount)
  // The /24 network of the address (the BEP masks with 0xffffff00), then the info hash.
  let x: Buffer = Buffer.concat([Buffer.from([parts[0], parts[1], parts[2], 0]), Buffer.from(infoHash)])
  const out: number[] = []
  while (out.length < want) {
    x = createHash('sha1').update(x).digest()
    for (let i = 0; i < 5 && out.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount
      if (!out.includes(index)) out.push(index)
    }
  }
  return out
}

interface FastWire {
  hasFast: boolean
  peerChoking: boolean
  peerAllowedFastSet: number[]
  haveAll(): void
  haveNone(): void
  allowedFast(index: number): void
}

/**
 * What we have, said the short way when the fast extension is on (have-all, have-none). Returns false when the
 * caller must send a bitfield itself (partial, or no fast extension; without it nothing is sent for no pieces).
 */
export function announceHaves(w: object, haveCount: number, pieceCount: number): boolean {
  const wire = w as FastWire
  if (!wire.hasFast) return false
  if (haveCount === pieceCount) wire.haveAll()
  else if (haveCount === 0) wire.haveNone()
  else return false
  return true
}

/** Tell a fast-extension peer its allowed-fast set among the pieces we have: it may fetch those while choked. */
export function offerAllowedFast(w: object, ip: string, infoHash: Uint8Array, pieceCount: number, have: (i: number) => boolean): void {
  const wire = w as FastWire
  if (!wire.hasFast) return
  for (const i of allowedFastSet(ip, infoHash, pieceCount)) if (have(i)) wire.allowedFast(i)
}

/**
 * The pieces we may request from a peer that chokes us (its allowed-fast messages), or undefined when we may
 * request nothing from it. Bounded: bittorrent-protocol keeps at most a few of them.
 */
export function chokedAllowance(w: object): Set<number> | undefined {
  const wire = w as FastWire
  if (!wire.peerChoking) return undefined
  if (!wire.hasFast || wire.peerAllowedFastSet.length === 0) return undefined
  return new Set(wire.peerAllowedFastSet)
}
