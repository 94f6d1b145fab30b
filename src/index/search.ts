// What both stores share around a search: paging defaults and limits, and turning grouped counts into facets.

import { hasText } from './query/parse.js'
import type { Query } from './query/types.js'
import { FILE_TYPES, TYPE_CODES, type FileType } from './rows.js'
import type { ContentType, Facets, FacetCount, SearchOptions, SortKey } from './types.js'

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 1000
export const MAX_OFFSET = 100_000

export function pageOf(query: Query, o: SearchOptions): { limit: number; offset: number; sort: SortKey } {
  const int = (v: unknown, d: number, max: number) => (Number.isInteger(v) && (v as number) >= 0 ? Math.min(v as number, max) : d)
  const sort = o.sort ?? (hasText(query) ? 'relevance' : 'date')
  return { limit: int(o.limit, DEFAULT_LIMIT, MAX_LIMIT), offset: int(o.offset, 0, MAX_OFFSET), sort: sort === 'relevance' && !hasText(query) ? 'date' : sort }
}

/**
 * One row of the one-pass facet query: a combination of the facet columns and how many matches have it. One GROUP BY
 * over all the columns walks the matches once (five GROUP BYs walked them five times); the combinations are few
 * next to the matches, and are summed per facet here.
 */
export interface FacetRow {
  type: number | string | null
  year: number | string | null
  res: number | string | null
  langs: string | null
  source: string | null
  ftypes: number | string | null
  n: number | string
}

/** The SELECT list and GROUP BY of the one-pass facet query over `alias`. */
export const FACET_COLUMNS = (alias: string) =>
  `${alias}.type AS type, ${alias}.year AS year, ${alias}.res AS res, ${alias}.langs AS langs, ${alias}.source AS source, ${alias}.ftypes AS ftypes`
export const FACET_GROUP = '1, 2, 3, 4, 5, 6'

function top<T>(m: Map<T, number>, limit = 50): FacetCount<T>[] {
  return [...m].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value))).slice(0, limit)
}

function add<T>(m: Map<T, number>, k: T, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n)
}

/** The facets, and the number of matches they describe. */
export function facetsFrom(rows: readonly FacetRow[]): { facets: Facets; total: number } {
  const type = new Map<ContentType, number>()
  const year = new Map<number, number>()
  const res = new Map<string, number>()
  const langs = new Map<string, number>()
  const source = new Map<string, number>()
  const ftypes = new Map<FileType, number>()
  let total = 0
  for (const r of rows) {
    const n = Number(r.n)
    total += n
    if (r.type !== null) {
      const t = TYPE_CODES[Number(r.type)]
      if (t) add(type, t, n)
    }
    if (r.year !== null) add(year, Number(r.year), n)
    if (r.res !== null) add(res, `${r.res}p`, n)
    if (typeof r.langs === 'string') for (const l of r.langs.slice(1, -1).split(',')) if (l) add(langs, l, n)
    if (r.source !== null) add(source, String(r.source), n)
    const mask = Number(r.ftypes ?? 0)
    if (mask) for (let i = 0; i < FILE_TYPES.length; i++) if (mask & (1 << i)) add(ftypes, FILE_TYPES[i], n)
  }
  return {
    total,
    facets: {
      type: top(type),
      year: top(year, 100),
      resolution: top(res),
      language: top(langs),
      source: top(source),
      fileType: top(ftypes),
    },
  }
}
