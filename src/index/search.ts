// What both stores share around a search: paging defaults and limits, and turning grouped counts into facets.

import { hasText } from './query/parse.js'
import type { Query } from './query/types.js'
import { TYPE_CODES } from './record.js'
import type { Facets, FacetCount, SearchOptions, SortKey } from './types.js'

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 1000
export const MAX_OFFSET = 100_000

export function pageOf(query: Query, o: SearchOptions): { limit: number; offset: number; sort: SortKey } {
  const int = (v: unknown, d: number, max: number) => (Number.isInteger(v) && (v as number) >= 0 ? Math.min(v as number, max) : d)
  const sort = o.sort ?? (hasText(query) ? 'relevance' : 'date')
  return { limit: int(o.limit, DEFAULT_LIMIT, MAX_LIMIT), offset: int(o.offset, 0, MAX_OFFSET), sort: sort === 'relevance' && !hasText(query) ? 'date' : sort }
}

type Grouped = { v: string | number | null; n: number | string }[]
export interface FacetRows {
  type: Grouped
  year: Grouped
  res: Grouped
  langs: Grouped
  source: Grouped
}

function top<T>(m: Map<T, number>, limit = 50): FacetCount<T>[] {
  return [...m].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value))).slice(0, limit)
}

function counts<T>(rows: Grouped, map: (v: string | number) => T | undefined): Map<T, number> {
  const m = new Map<T, number>()
  for (const r of rows) {
    if (r.v === null) continue
    const k = map(r.v)
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + Number(r.n))
  }
  return m
}

export function facetsFrom(rows: FacetRows): Facets {
  const langs = new Map<string, number>()
  for (const r of rows.langs) {
    if (typeof r.v !== 'string') continue
    for (const l of r.v.slice(1, -1).split(',')) if (l) langs.set(l, (langs.get(l) ?? 0) + Number(r.n))
  }
  return {
    type: top(counts(rows.type, (v) => TYPE_CODES[Number(v)])),
    year: top(counts(rows.year, (v) => Number(v)), 100),
    resolution: top(counts(rows.res, (v) => `${v}p`)),
    language: top(langs),
    source: top(counts(rows.source, (v) => String(v))),
  }
}
