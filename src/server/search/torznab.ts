// Torznab at /torznab/api for Sonarr, Radarr and Prowlarr: caps, search, tvsearch, movie, music, book. Answers are
// RSS 2.0 with the torznab namespace; errors are HTTP 200 with <error code description/>, as Torznab clients expect.
// Only the parameters that really narrow a search are advertised (q everywhere, season/ep for TV): the index holds
// no IMDb/TVDB ids, and advertising them would make the *arrs send id-only searches that we could not answer.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { MAX_QUERY_LENGTH } from '../../index/query/parse.js'
import type { Query } from '../../index/query/types.js'
import type { ContentType, StoredTorrent } from '../../index/types.js'
import { CATEGORIES, CategoryError, categoriesOf, typesForCategories } from './categories.js'
import type { AnswerCache } from './answer-cache.js'
import { magnetOf, wordsQuery, type IndexHandle } from './common.js'

export const TORZNAB_MAX_LIMIT = 100
export const TORZNAB_DEFAULT_LIMIT = 100
const MAX_OFFSET = 10_000

const FUNCTIONS: Record<string, 'search' | 'tvsearch' | 'movie' | 'music' | 'book'> = {
  search: 'search', tvsearch: 'tvsearch', 'tv-search': 'tvsearch', movie: 'movie', 'movie-search': 'movie',
  music: 'music', audio: 'music', book: 'book',
}
const DEFAULT_TYPES: Record<string, ContentType[] | undefined> = {
  search: undefined, tvsearch: ['tv_show'], movie: ['movie'], music: ['music', 'audiobook'], book: ['ebook', 'comic'],
}
/** Parameters that name an external id: we hold none, so a search by id alone finds nothing rather than everything. */
const ID_PARAMS = ['imdbid', 'tvdbid', 'tmdbid', 'tvmazeid', 'rid', 'traktid', 'doubanid']

export class TorznabError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}

const NEEDS_ESCAPE = /[<>&"'\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/
const XML_ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' }

export function xmlEscape(s: string): string {
  // Most values need nothing: one test instead of two replaces (this is most of a 100-item feed's cost).
  if (!NEEDS_ESCAPE.test(s)) return s
  // Also drop characters XML 1.0 forbids (a torrent name may hold control bytes).
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[<>&"']/g, (c) => XML_ENTITIES[c])
}

export function errorXml(code: number, description: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<error code="${code}" description="${xmlEscape(description)}"/>\n`
}

export function capsXml(): string {
  const tv = 'q,season,ep'
  const cats = CATEGORIES.map((c) =>
    c.subcats.length
      ? `    <category id="${c.id}" name="${xmlEscape(c.name)}">\n${c.subcats.map((s) => `      <subcat id="${s.id}" name="${xmlEscape(s.name)}"/>`).join('\n')}\n    </category>`
      : `    <category id="${c.id}" name="${xmlEscape(c.name)}"/>`,
  ).join('\n')
  return `<?xml version="1.0" encoding="UTF-8"?>
<caps>
  <server version="1.0" title="bt" strapline="bt serve: index and download client"/>
  <limits max="${TORZNAB_MAX_LIMIT}" default="${TORZNAB_DEFAULT_LIMIT}"/>
  <searching>
    <search available="yes" supportedParams="q"/>
    <tv-search available="yes" supportedParams="${tv}"/>
    <movie-search available="yes" supportedParams="q"/>
    <music-search available="yes" supportedParams="q"/>
    <audio-search available="yes" supportedParams="q"/>
    <book-search available="yes" supportedParams="q"/>
  </searching>
  <categories>
${cats}
  </categories>
</caps>
`
}

type Params = Record<string, string | undefined>

function intParam(p: Params, name: string, max: number): number | undefined {
  const v = p[name]
  if (v === undefined || v === '') return undefined
  if (!/^\d{1,9}$/.test(v)) throw new TorznabError(201, `${name}: not a non-negative integer`)
  return Math.min(Number(v), max)
}

/** The store query, paging and order of one Torznab search; throws TorznabError for bad parameters. */
export function torznabQuery(fn: string, p: Params): { query: Query; limit: number; offset: number; sort: 'date' | 'relevance'; empty: boolean } {
  const q = (p.q ?? '').trim()
  if (q.length > MAX_QUERY_LENGTH) throw new TorznabError(201, `q: longer than ${MAX_QUERY_LENGTH} characters`)
  const query = wordsQuery(q)
  const limit = intParam(p, 'limit', TORZNAB_MAX_LIMIT) ?? TORZNAB_DEFAULT_LIMIT
  const offset = intParam(p, 'offset', MAX_OFFSET) ?? 0
  let empty = false
  let types: ContentType[] | undefined
  try {
    const c = typesForCategories(p.cat)
    types = c.types
    empty = c.none
  } catch (err) {
    if (err instanceof CategoryError) throw new TorznabError(201, err.message)
    throw err
  }
  types ??= DEFAULT_TYPES[fn]
  if (types) query.filters.types = { any: types }
  if (fn === 'tvsearch') {
    const season = p.season?.trim()
    const ep = p.ep?.trim()
    if (season && /^\d{4}$/.test(season) && ep && /^\d{1,2}\/\d{1,2}$/.test(ep)) {
      // A daily show: the air date is in the name ("Show.2024.03.15.…"), whose tokens are 2024, 03, 15.
      const [m, d] = ep.split('/').map((x) => x.padStart(2, '0'))
      query.terms.push({ kind: 'phrase', tokens: [season, m, d], negated: false, position: 0 })
    } else {
      const s = intParam(p, 'season', 100_000)
      const e = intParam(p, 'ep', 100_000)
      if (ep && e === undefined && !/^\d+$/.test(ep)) throw new TorznabError(201, 'ep: a number, or MM/DD with season=YYYY')
      if (s !== undefined) query.filters.seasons = [s]
      if (e !== undefined) query.filters.episodes = [e]
    }
  }
  // A search by an external id alone cannot be answered: answer nothing rather than the newest torrents.
  if (!query.terms.length && ID_PARAMS.some((k) => p[k])) empty = true
  return { query, limit, offset, sort: query.terms.length ? 'relevance' : 'date', empty }
}

function attr(name: string, value: string | number | undefined): string {
  if (value === undefined || value === '') return ''
  return `\n      <torznab:attr name="${name}" value="${typeof value === 'number' ? value : xmlEscape(value)}"/>`
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

/** RFC 822 date, as Date#toUTCString writes it ("Sat, 21 Nov 2020 23:05:40 GMT"), at a fraction of its cost. */
export function rfc822(ms: number): string {
  const d = new Date(ms)
  const y = d.getUTCFullYear()
  if (!(y >= 1000 && y <= 9999)) return d.toUTCString() // odd years: toUTCString's own spelling
  return `${DAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${y} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`
}

/** A magnet link as an XML attribute or text: percent-encoding leaves only '&' and "'" to escape. */
function magnetXml(link: string): string {
  const amp = link.replaceAll('&', '&amp;')
  return amp.includes("'") ? amp.replaceAll("'", '&apos;') : amp
}

export function itemXml(t: StoredTorrent): string {
  const c = t.classification
  const magnet = magnetXml(magnetOf(t))
  const cats = categoriesOf(t)
  const seeders = t.seeders ?? 0
  const leechers = t.leechers ?? 0
  const season = c.seasons.length ? `S${pad2(c.seasons[0])}` : undefined
  const episode = c.episodes.length ? `E${pad2(c.episodes[0])}` : c.airDate ? c.airDate.slice(5).replace('-', '/') : undefined
  let catLines = ''
  let catAttrs = ''
  for (const id of cats) {
    catLines += `      <category>${id}</category>\n`
    catAttrs += `\n      <torznab:attr name="category" value="${id}"/>`
  }
  return `    <item>
      <title>${xmlEscape(t.name)}</title>
      <guid isPermaLink="false">${t.infoHash}</guid>
      <link>${magnet}</link>
      <pubDate>${rfc822(t.publishedAt)}</pubDate>
      <size>${t.size}</size>
${catLines}      <enclosure url="${magnet}" length="${t.size}" type="application/x-bittorrent;x-scheme-handler/magnet"/>${catAttrs}${attr('size', t.size)}${attr('infohash', t.infoHash)}\n      <torznab:attr name="magneturl" value="${magnet}"/>${attr('seeders', seeders)}${attr('leechers', leechers)}${attr('peers', seeders + leechers)}${attr('files', t.fileCount || undefined)}${attr('year', c.year)}${attr('season', season)}${attr('episode', episode)}${attr('resolution', c.resolution)}${attr('team', c.releaseGroup)}${attr('downloadvolumefactor', 0)}${attr('uploadvolumefactor', 1)}
    </item>`
}

export function rssXml(items: StoredTorrent[], self: string, offset: number, total?: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:torznab="http://torznab.com/schemas/2015/feed">
  <channel>
    <atom:link href="${xmlEscape(self)}" rel="self" type="application/rss+xml"/>
    <title>bt</title>
    <description>bt serve search index</description>
    <link>${xmlEscape(self)}</link>
    <torznab:response offset="${offset}"${total !== undefined ? ` total="${total}"` : ''}/>
${items.map(itemXml).join('\n')}
  </channel>
</rss>
`
}

export function torznabPlugin(index: IndexHandle, cache?: AnswerCache) {
  return async (app: FastifyInstance): Promise<void> => {
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const xml = (body: string | Buffer, type = 'application/xml') => reply.status(200).type(`${type}; charset=utf-8`).header('Cache-Control', 'no-store').send(body)
      // The route is public so that a refusal is Torznab's error 100, not bt's 401 JSON; the auth hook still ran.
      if (!req.authVia) return xml(errorXml(100, 'wrong or missing API key (apikey=)'))
      const raw = (req.query ?? {}) as Record<string, unknown>
      const p: Params = {}
      for (const [k, v] of Object.entries(raw)) p[k.toLowerCase()] = Array.isArray(v) ? String(v[v.length - 1]) : typeof v === 'string' ? v : undefined
      const t = (p.t ?? '').toLowerCase()
      if (!t) return xml(errorXml(200, 'missing parameter t (caps, search, tvsearch, movie, music, book)'))
      if (t === 'caps') return xml(capsXml())
      const fn = FUNCTIONS[t]
      if (!fn) return xml(errorXml(202, `no such function: ${t.slice(0, 40)}`))
      let s: ReturnType<typeof torznabQuery>
      try {
        s = torznabQuery(fn, p)
      } catch (err) {
        if (err instanceof TorznabError) return xml(errorXml(err.code, err.message))
        throw err
      }
      const self = `${req.protocol}://${req.host}${req.url.replace(/([?&]apikey=)[^&]*/gi, '$1…')}`
      if (s.empty) return xml(rssXml([], self, s.offset, 0), 'application/rss+xml')
      // The feed names its own URL (host included): that URL, key redacted, is the cache key.
      const compute = async () => {
        const store = await index.get()
        const { renderedSearch } = await import('./renderers.js')
        const page = await renderedSearch(store, s.query, { limit: s.limit, offset: s.offset, sort: s.sort }, 'torznab', self, s.offset)
        return { body: Buffer.from(page.text), type: 'application/rss+xml' }
      }
      try {
        const answer = cache ? await cache.get(`torznab ${self}`, compute) : await compute()
        return xml(answer.body, answer.type)
      } catch (err) {
        return xml(errorXml(900, `index error: ${(err as Error).message}`.slice(0, 300)))
      }
    }
    app.get('/torznab/api', { config: { public: true } }, handler)
    app.get('/torznab', { config: { public: true } }, handler)
  }
}
