// Magnet links (BEP 9 xt/dn/tr, x.pe peers, ws web seeds, BEP 53 `so`): parse user input and write links for torrents.

import { decode as decodeMagnet } from 'magnet-uri'
import { BtError, ExitCode } from '../errors.js'
import type { MagnetLink } from './magnet-link.js'

// Writing links lives in magnet-link.ts, without the magnet-uri parser, so `bt metainfo X magnet` loads less.
export { formatMagnet, magnetOf, type MagnetLink } from './magnet-link.js'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Decode a 32-character base32 info hash (RFC 4648, no padding) to hex. */
function base32ToHex(s: string): string | undefined {
  let bits = 0
  let value = 0
  const out: number[] = []
  for (const ch of s.toUpperCase()) {
    const v = BASE32.indexOf(ch)
    if (v < 0) return undefined
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out).toString('hex')
}

/** A 40-hex or 32-base32 info hash, as hex; undefined if it is neither. */
export function normalizeInfoHash(s: string): string | undefined {
  if (/^[0-9a-fA-F]{40}$/.test(s)) return s.toLowerCase()
  if (/^[A-Za-z2-7]{32}$/.test(s)) return base32ToHex(s)
  return undefined
}

export function isMagnet(s: string): boolean {
  return s.startsWith('magnet:')
}

export function parseMagnet(uri: string): MagnetLink {
  const bad = (why: string): never => {
    throw new BtError(`not a valid magnet link: ${why}`, ExitCode.usage)
  }
  if (!isMagnet(uri)) bad('it does not start with "magnet:"')
  let data
  try {
    data = decodeMagnet(uri)
  } catch {
    bad('bad percent-encoding')
  }
  const xts = ([] as unknown[]).concat(data!.xt ?? [])
  let infoHash: string | undefined
  for (const xt of xts) {
    const m = typeof xt === 'string' ? /^urn:btih:([A-Za-z0-9]+)$/.exec(xt) : null
    if (m) infoHash = normalizeInfoHash(m[1])
    if (infoHash) break
  }
  if (!infoHash) bad('no urn:btih info hash (40 hex or 32 base32 characters)')
  const peers = data!.peerAddresses.map((p) => {
    try {
      return decodeURIComponent(p)
    } catch {
      return p
    }
  })
  const so = Array.isArray(data!.so) ? data!.so.filter((n) => Number.isInteger(n) && n >= 0) : undefined
  return {
    infoHash: infoHash!,
    name: typeof data!.name === 'string' && data!.name ? data!.name : undefined,
    trackers: data!.announce.filter((u) => typeof u === 'string' && u.length > 0),
    webSeeds: data!.urlList.filter((u) => typeof u === 'string' && u.length > 0),
    peers,
    select: so && so.length ? so : undefined,
  }
}
