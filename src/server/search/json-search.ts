// GET /api/v1/search: bt search over HTTP. `q` takes the same grammar as `bt search` and the other parameters are
// its options (type, year, res, source, codec, lang, min-size, max-size, season, ep, group, added, sort, limit,
// offset, facets), parsed by the same applyFilter; the answer is items (with magnet and Torznab categories), the
// total count, facets and paging.

import type { FastifyInstance } from 'fastify'
import { applyFilter, parseQuery, QuerySyntaxError, type FilterKey } from '../../index/query/index.js'
import { MAX_LIMIT, MAX_OFFSET } from '../../index/search.js'
import { SORT_KEYS, type Facets, type IndexStore, type SearchOptions, type SortKey, type StoredTorrent } from '../../index/types.js'
import { ApiError } from '../errors.js'
import { categoriesOf } from './categories.js'
import type { AnswerCache } from './answer-cache.js'
import { magnetOf, type IndexHandle } from './common.js'

/** Query parameters that are filters, and how each becomes one (`min-size=1G` is `size:>=1G`). */
const FILTER_PARAMS: [string, FilterKey, string][] = [
  ['type', 'type', ''], ['year', 'year', ''], ['res', 'res', ''], ['source', 'source', ''], ['codec', 'codec', ''],
  ['lang', 'lang', ''], ['min-size', 'size', '>='], ['max-size', 'size', '<='], ['season', 'season', ''], ['ep', 'ep', ''],
  ['group', 'group', ''], ['added', 'added', ''],
]
const MAX_VALUES = 64
/** Matches counted exactly; past this the total is "at least" (flagged) and facets describe this many matches. */
export const COUNT_LIMIT = 10_000

export interface SearchRequest {
  query: ReturnType<typeof parseQuery>
  options: SearchOptions & { limit: number; offset: number }
}

const bad = (message: string, extra: Record<string, unknown> = {}) => new ApiError('invalid', message, extra)

/** Query-string parameters → the parsed query and options; throws ApiError 400 with a one-line message. */
export function searchRequest(params: Record<string, unknown>, now = Date.now()): SearchRequest {
  const values = (name: string): string[] => {
    const v = params[name]
    const list = v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]
    if (list.length > MAX_VALUES) throw bad(`${name}: more than ${MAX_VALUES} values`)
    return list
  }
  const one = (name: string): string | undefined => {
    const v = values(name)
    return v.length ? v[v.length - 1] : undefined
  }
  try {
    const query = parseQuery(one('q') ?? '', { now })
    for (const [name, key, prefix] of FILTER_PARAMS) {
      for (const v of values(name)) if (v !== '') applyFilter(query, key, prefix + v, { now })
    }
    const int = (name: string, d: number, max: number) => {
      const v = one(name)
      if (v === undefined || v === '') return d
      if (!/^\d{1,9}$/.test(v) || Number(v) > max) throw bad(`${name}: a whole number from 0 to ${max}`)
      return Number(v)
    }
    const sort = one('sort')
    if (sort !== undefined && sort !== '' && !SORT_KEYS.includes(sort as SortKey)) throw bad(`sort: one of ${SORT_KEYS.join(', ')}`)
    const facets = one('facets')
    return {
      query,
      options: {
        limit: int('limit', 50, MAX_LIMIT),
        offset: int('offset', 0, MAX_OFFSET),
        sort: (sort || undefined) as SortKey | undefined,
        count: true,
        countLimit: COUNT_LIMIT,
        facets: facets === undefined ? true : !/^(0|false|no)$/i.test(facets),
      },
    }
  } catch (err) {
    if (err instanceof QuerySyntaxError) throw bad(err.message, { position: err.position })
    throw err
  }
}

export function itemJson(t: StoredTorrent) {
  return { ...t, magnet: magnetOf(t), categories: categoriesOf(t) }
}

export function jsonSearchPlugin(index: IndexHandle, cache?: AnswerCache) {
  /**
   * The total and facets of a query do not change from page to page or with the sort, and they are most of a search's
   * cost (a count and five groupings over up to COUNT_LIMIT matches): kept apart in the cache, so the next page of a
   * result or a re-sort costs only that page.
   */
  const countsOf = async (store: IndexStore, r: SearchRequest): Promise<{ total?: number; totalIsEstimate?: boolean; facets?: Facets }> => {
    const run = async () => {
      const res = await store.search(r.query, { limit: 0, count: true, facets: r.options.facets, countLimit: r.options.countLimit })
      return { body: Buffer.from(JSON.stringify({ total: res.total, totalIsEstimate: res.totalIsEstimate, facets: res.facets })), type: 'counts' }
    }
    const a = await cache!.get(`counts ${r.options.facets ? 'facets' : ''} ${JSON.stringify(r.query)}`, run)
    return JSON.parse(a.body.toString())
  }
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/api/v1/search', async (req, reply) => {
      const r = searchRequest((req.query ?? {}) as Record<string, unknown>)
      const compute = async () => {
        const store = await index.get()
        let res: { total?: number; totalIsEstimate?: boolean; facets?: Facets }
        let page: { text: string; count: number }
        if (cache) {
          // The page is searched and its items rendered to JSON where the search runs (a worker thread, see
          // renderers.ts); the counts come apart, from the cache when this query was counted before.
          const { renderedSearch } = await import('./renderers.js')
          ;[res, page] = await Promise.all([countsOf(store, r), renderedSearch(store, r.query, { ...r.options, count: false, facets: false }, 'jsonItems')])
        } else {
          const full = await store.search(r.query, r.options)
          res = full
          page = { text: JSON.stringify(full.items.map(itemJson)), count: full.items.length }
        }
        const total = res.total ?? page.count
        const rest = {
          total,
          // Past COUNT_LIMIT matches the store stops counting: "at least total".
          totalIsEstimate: res.totalIsEstimate ?? false,
          facets: res.facets,
          limit: r.options.limit,
          offset: r.options.offset,
          hasMore: page.count === r.options.limit && (res.totalIsEstimate === true || r.options.offset + page.count < total),
        }
        // {"items":[…], then the rest: the same text JSON.stringify of the whole object gives.
        const body = `{"items":${page.text},${JSON.stringify(rest).slice(1)}`
        return { body: Buffer.from(body), type: 'application/json; charset=utf-8' }
      }
      // Parsed first, so a bad request is a 400 and never a cache entry; the key is the URL, API key redacted.
      const answer = cache ? await cache.get(`json ${req.url.replace(/([?&]apikey=)[^&]*/gi, '$1')}`, compute) : await compute()
      return reply.header('Cache-Control', 'no-store').type(answer.type).send(answer.body)
    })
    app.get<{ Params: { hash: string } }>('/api/v1/search/torrents/:hash', async (req) => {
      const h = req.params.hash.toLowerCase()
      if (!/^[0-9a-f]{40}$/.test(h)) throw bad('info hash: 40 hex characters')
      const t = await (await index.get()).get(h)
      if (!t) throw new ApiError('not_found', `no torrent ${h} in the index`)
      return itemJson(t)
    })
  }
}
