// Newznab/Torznab categories from the classifier's content type, resolution and audio codec, both ways: the
// categories an item is listed in, and what a `cat=` list asks the store for.

import type { ContentType, StoredTorrent } from '../../index/types.js'

export interface Category {
  id: number
  name: string
  subcats: { id: number; name: string }[]
}

/** What caps advertises: every id here is one an item can carry. */
export const CATEGORIES: Category[] = [
  { id: 2000, name: 'Movies', subcats: [{ id: 2030, name: 'Movies/SD' }, { id: 2040, name: 'Movies/HD' }, { id: 2045, name: 'Movies/UHD' }] },
  { id: 3000, name: 'Audio', subcats: [{ id: 3030, name: 'Audio/Audiobook' }, { id: 3040, name: 'Audio/Lossless' }] },
  { id: 4000, name: 'PC', subcats: [{ id: 4050, name: 'PC/Games' }] },
  { id: 5000, name: 'TV', subcats: [{ id: 5030, name: 'TV/SD' }, { id: 5040, name: 'TV/HD' }, { id: 5045, name: 'TV/UHD' }, { id: 5070, name: 'TV/Anime' }] },
  { id: 6000, name: 'XXX', subcats: [] },
  { id: 7000, name: 'Books', subcats: [{ id: 7020, name: 'Books/EBook' }, { id: 7030, name: 'Books/Comics' }] },
  { id: 8000, name: 'Other', subcats: [] },
]

const KNOWN = new Set(CATEGORIES.flatMap((c) => [c.id, ...c.subcats.map((s) => s.id)]))
const FANSUB = /^\s*\[[^\]]{2,40}\]\s*\S/
const LOSSLESS = new Set(['flac', 'alac', 'ape', 'pcm', 'dts-hd', 'truehd'])

function videoSub(base: number, res: string | undefined): number | undefined {
  const n = res ? parseInt(res, 10) : NaN
  if (!Number.isFinite(n)) return undefined
  return n >= 2160 ? base + 45 : n >= 720 ? base + 40 : base + 30
}

/** The categories of one item, most specific first, then its parent (Sonarr and Radarr read the first). */
export function categoriesOf(t: Pick<StoredTorrent, 'classification' | 'name'>): number[] {
  const c = t.classification
  const two = (sub: number | undefined, parent: number) => (sub ? [sub, parent] : [parent])
  switch (c.contentType) {
    case 'movie':
      return two(videoSub(2000, c.resolution), 2000)
    case 'tv_show':
      // The classifier keeps no "anime" flag; a fansub-style name (`[Group] Title - 05 …`) is the usual sign.
      if (FANSUB.test(t.name)) return [5070, 5000]
      return two(videoSub(5000, c.resolution), 5000)
    case 'music':
      return two(c.audioCodec && LOSSLESS.has(c.audioCodec) ? 3040 : undefined, 3000)
    case 'audiobook':
      return [3030, 3000]
    case 'software':
      return [4000]
    case 'game':
      return [4050, 4000]
    case 'xxx':
      return [6000]
    case 'ebook':
      return [7020, 7000]
    case 'comic':
      return [7030, 7000]
    default:
      return [8000]
  }
}

/** The content types that a category (parent or sub) covers. */
const TYPES_OF: Record<number, ContentType[]> = {
  2000: ['movie'], 2030: ['movie'], 2040: ['movie'], 2045: ['movie'],
  3000: ['music', 'audiobook'], 3030: ['audiobook'], 3040: ['music'],
  4000: ['software', 'game'], 4050: ['game'],
  5000: ['tv_show'], 5030: ['tv_show'], 5040: ['tv_show'], 5045: ['tv_show'], 5070: ['tv_show'],
  6000: ['xxx'],
  7000: ['ebook', 'comic'], 7020: ['ebook'], 7030: ['comic'],
  8000: ['unknown'],
}

export class CategoryError extends Error {}

/** Longest `cat=` list read: a hostile 10k-value list is refused before any work. */
export const MAX_CATEGORIES = 64

/**
 * A `cat=` list → the content types to search, or undefined for "all". Unknown numeric ids are ignored (Prowlarr
 * and the *arrs send ids of other indexers' custom categories); a category of ours that maps to no type never
 * matches. Resolution subcategories narrow by type only: an item without a resolution in its name would otherwise
 * vanish from Sonarr's default 5030,5040 search; each item still reports its precise subcategory.
 */
export function typesForCategories(cat: string | undefined): { types?: ContentType[]; none: boolean } {
  if (cat === undefined || cat.trim() === '') return { none: false }
  const parts = cat.split(',').map((s) => s.trim()).filter(Boolean)
  if (parts.length > MAX_CATEGORIES) throw new CategoryError(`cat: more than ${MAX_CATEGORIES} categories`)
  const types = new Set<ContentType>()
  let ours = 0
  for (const p of parts) {
    if (!/^\d{1,6}$/.test(p)) throw new CategoryError(`cat: "${p.slice(0, 20)}" is not a category number`)
    const id = Number(p)
    if (!KNOWN.has(id)) continue
    ours++
    for (const t of TYPES_OF[id] ?? []) types.add(t)
  }
  // Only foreign ids: nothing of ours was asked for.
  if (ours === 0) return { types: [], none: true }
  return { types: [...types], none: false }
}
