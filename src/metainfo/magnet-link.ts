// Writing magnet links, and the parsed form of one. Apart from magnet.ts (which parses them with magnet-uri) so that
// printing a torrent's magnet (`bt metainfo X magnet`, a start-up time case of issue 15) does not load the parser.

import type { Metainfo } from './metainfo.js'

export interface MagnetLink {
  infoHash: string
  name?: string
  trackers: string[]
  webSeeds: string[]
  /** Direct peers from x.pe, as host:port. */
  peers: string[]
  /** BEP 53 select-only file indices. */
  select?: number[]
}

// Encode like encodeURIComponent but keep the characters that are safe and readable in a query value.
function enc(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%2F/gi, '/')
}

/** xt, dn, every tracker in tier order, then web seeds: a stable order, so the same torrent gives the same link. */
export function magnetOf(m: Pick<Metainfo, 'infoHash' | 'name' | 'announce' | 'urlList'>): string {
  const parts = [`xt=urn:btih:${m.infoHash}`, `dn=${enc(m.name)}`]
  for (const tier of m.announce) for (const url of tier) parts.push(`tr=${enc(url)}`)
  for (const url of m.urlList) parts.push(`ws=${enc(url)}`)
  return `magnet:?${parts.join('&')}`
}

export function formatMagnet(link: MagnetLink): string {
  const parts = [`xt=urn:btih:${link.infoHash}`]
  if (link.name) parts.push(`dn=${enc(link.name)}`)
  for (const url of link.trackers) parts.push(`tr=${enc(url)}`)
  for (const url of link.webSeeds) parts.push(`ws=${enc(url)}`)
  for (const p of link.peers) parts.push(`x.pe=${enc(p)}`)
  return `magnet:?${parts.join('&')}`
}
