// POST /graphql (and GET with ?query=): the index through the `graphql` reference implementation, with a schema
// shaped like bitmagnet's (torrentContent { search(input) { items totalCount hasNextPage aggregations } } and
// torrent { files(input) }) so that clients written for it work where the fields exist. Introspection stays on.
// Abuse limits: a document size cap, a depth and a field-count limit checked before execution, and a cap on the
// store calls one request may make (each `search` alias and each item's file list costs one).

import type { FastifyInstance, FastifyReply } from 'fastify'
import {
  buildSchema, GraphQLError, Kind, parse, print, specifiedRules, validate, execute,
  type ASTVisitor, type DocumentNode, type GraphQLFormattedError, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext,
} from 'graphql'
import { applyFilter, parseQuery, QuerySyntaxError, type Query } from '../../index/query/index.js'
import { MAX_LIMIT, MAX_OFFSET } from '../../index/search.js'
import type { Facets, SortKey, StoredTorrent } from '../../index/types.js'
import { ApiError } from '../errors.js'
import type { AnswerCache, CachedAnswer } from './answer-cache.js'
import { categoriesOf } from './categories.js'
import { magnetOf, type IndexHandle } from './common.js'
import { COUNT_LIMIT } from './json-search.js'

export const MAX_DOCUMENT_BYTES = 20_000
export const MAX_DEPTH = 8
export const MAX_FIELDS = 400
/** Store calls per request (searches + file lists). */
export const MAX_STORE_CALLS = 60

export const SDL = /* GraphQL */ `
enum ContentType { movie tv_show music ebook comic audiobook software game xxx unknown }
enum TorrentContentOrderByField { relevance published_at size seeders name }

type Query {
  torrentContent: TorrentContentQuery!
  torrent: TorrentQuery!
}
type TorrentContentQuery {
  search(input: TorrentContentSearchQueryInput!): TorrentContentSearchResult!
}
type TorrentQuery {
  files(input: TorrentFilesQueryInput!): TorrentFilesQueryResult!
}

input TorrentContentSearchQueryInput {
  "bt's query grammar: words, \\"phrases\\", prefix*, -excluded, type:movie year:2019..2021 res:1080p …"
  queryString: String
  limit: Int
  offset: Int
  "1-based page of 'limit' items (instead of offset)"
  page: Int
  totalCount: Boolean
  hasNextPage: Boolean
  facets: TorrentContentFacetsInput
  orderBy: [TorrentContentOrderByInput!]
}
input TorrentContentOrderByInput { field: TorrentContentOrderByField!, descending: Boolean }
input TorrentContentFacetsInput {
  contentType: ContentTypeFacetInput
  releaseYear: IntFacetInput
  videoResolution: StringFacetInput
  videoSource: StringFacetInput
  language: StringFacetInput
  "counts only: the index can count torrents by the file types they hold, not yet filter by them"
  torrentFileType: AggregateFacetInput
}
input AggregateFacetInput { aggregate: Boolean }
input ContentTypeFacetInput { aggregate: Boolean, filter: [ContentType!] }
input IntFacetInput { aggregate: Boolean, filter: [Int!] }
input StringFacetInput { aggregate: Boolean, filter: [String!] }

type TorrentContentSearchResult {
  totalCount: Int!
  totalCountIsEstimate: Boolean!
  hasNextPage: Boolean!
  items: [TorrentContent!]!
  aggregations: TorrentContentAggregations!
}
type TorrentContentAggregations {
  contentType: [ContentTypeAgg!]!
  releaseYear: [IntAgg!]!
  videoResolution: [StringAgg!]!
  videoSource: [StringAgg!]!
  language: [StringAgg!]!
  "torrents holding each file type (video, audio, document, image, archive, software, subtitles, data)"
  torrentFileType: [StringAgg!]!
}
type ContentTypeAgg { value: ContentType!, label: String!, count: Int! }
type IntAgg { value: Int!, label: String!, count: Int! }
type StringAgg { value: String!, label: String!, count: Int! }

type TorrentContent {
  id: ID!
  infoHash: String!
  contentType: ContentType!
  title: String
  releaseYear: Int
  languages: [Language!]!
  episodes: Episodes
  videoResolution: String
  videoSource: String
  videoCodec: String
  audioCodec: String
  releaseGroup: String
  seeders: Int
  leechers: Int
  "RFC 3339"
  publishedAt: String!
  createdAt: String!
  "Torznab category ids"
  categories: [Int!]!
  magnetUri: String!
  torrent: Torrent!
}
type Language { id: String!, name: String! }
type Episodes { label: String!, seasons: [Season!]! }
type Season { season: Int!, episodes: [Int!]! }
type Torrent {
  infoHash: String!
  name: String!
  "bytes (a Float: GraphQL's Int has 32 bits)"
  size: Float!
  filesCount: Int!
  private: Boolean!
  trackers: [String!]!
  magnetUri: String!
  seeders: Int
  leechers: Int
  files: [TorrentFile!]!
}
input TorrentFilesQueryInput { infoHashes: [String!]!, limit: Int, offset: Int }
type TorrentFilesQueryResult { totalCount: Int!, hasNextPage: Boolean!, items: [TorrentFile!]! }
type TorrentFile { infoHash: String!, index: Int!, path: String!, size: Float!, extension: String, fileType: String }
`

export const schema = buildSchema(SDL)

const FILE_TYPES: Record<string, string> = {}
for (const [type, exts] of Object.entries({
  video: 'mkv mp4 avi mov wmv m4v mpg mpeg ts m2ts webm flv vob',
  audio: 'mp3 flac m4a m4b aac ogg opus wav ape alac wma',
  image: 'jpg jpeg png gif bmp webp tif tiff',
  subtitles: 'srt sub ass ssa idx vtt',
  archive: 'zip rar 7z tar gz bz2 xz iso img',
  document: 'pdf epub mobi azw3 djvu txt nfo doc docx cbr cbz',
  software: 'exe msi dmg apk deb rpm appimage bin',
})) for (const e of exts.split(' ')) FILE_TYPES[e] = type

function fileOf(infoHash: string, path: string, size: number, index: number) {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(path)
  const extension = m ? m[1].toLowerCase() : null
  return { infoHash, index, path, size, extension, fileType: extension ? FILE_TYPES[extension] ?? null : null }
}

const LANGUAGE_NAMES = new Intl.DisplayNames(['en'], { type: 'language' })
const langName = (id: string) => {
  try {
    return LANGUAGE_NAMES.of(id) ?? id
  } catch {
    return id
  }
}

interface Ctx {
  index: IndexHandle
  calls: number
}

function spend(ctx: Ctx): void {
  if (++ctx.calls > MAX_STORE_CALLS) throw new GraphQLError(`query too costly: more than ${MAX_STORE_CALLS} index lookups`)
}

function torrentOf(t: StoredTorrent, ctx: Ctx) {
  return {
    infoHash: t.infoHash, name: t.name, size: t.size, filesCount: t.fileCount, private: t.private, trackers: t.trackers,
    magnetUri: magnetOf(t), seeders: t.seeders ?? null, leechers: t.leechers ?? null,
    files: async () => {
      spend(ctx)
      const full = await (await ctx.index.get()).get(t.infoHash)
      return (full?.files ?? []).map((f, i) => fileOf(t.infoHash, f.path, f.size, i))
    },
  }
}

function contentOf(t: StoredTorrent, ctx: Ctx) {
  const c = t.classification
  const pad = (n: number) => String(n).padStart(2, '0')
  const episodes = c.seasons.length || c.episodes.length
    ? {
        label: (c.seasons.length ? `S${pad(c.seasons[0])}` : '') + (c.episodes.length ? c.episodes.map((e) => `E${pad(e)}`).join('') : ''),
        seasons: (c.seasons.length ? c.seasons : [0]).map((s) => ({ season: s, episodes: c.episodes })),
      }
    : null
  return {
    id: t.infoHash, infoHash: t.infoHash, contentType: c.contentType, title: c.title ?? null, releaseYear: c.year ?? null,
    languages: c.languages.map((id) => ({ id, name: langName(id) })), episodes, videoResolution: c.resolution ?? null,
    videoSource: c.source ?? null, videoCodec: c.videoCodec ?? null, audioCodec: c.audioCodec ?? null,
    releaseGroup: c.releaseGroup ?? null, seeders: t.seeders ?? null, leechers: t.leechers ?? null,
    publishedAt: new Date(t.publishedAt).toISOString(), createdAt: new Date(t.addedAt).toISOString(),
    categories: categoriesOf(t), magnetUri: magnetOf(t), torrent: torrentOf(t, ctx),
  }
}

const SORTS: Record<string, SortKey> = { relevance: 'relevance', published_at: 'date', size: 'size', seeders: 'seeders', name: 'name' }

/** Is `aggregations` asked for anywhere under this field? */
function selects(set: SelectionSetNode | undefined, name: string, fragments: Record<string, FragmentDefinitionNode>, seen = new Set<string>()): boolean {
  for (const s of set?.selections ?? []) {
    if (s.kind === Kind.FIELD && s.name.value === name) return true
    if (s.kind === Kind.INLINE_FRAGMENT && selects(s.selectionSet, name, fragments, seen)) return true
    if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
      seen.add(s.name.value)
      if (selects(fragments[s.name.value]?.selectionSet, name, fragments, seen)) return true
    }
  }
  return false
}

function aggregations(f: Facets | undefined) {
  const str = <T extends string | number>(xs: { value: T; count: number }[] | undefined) => (xs ?? []).map((x) => ({ value: x.value, label: String(x.value), count: x.count }))
  return {
    contentType: str(f?.type),
    releaseYear: str(f?.year),
    videoResolution: str(f?.resolution),
    videoSource: str(f?.source),
    language: (f?.language ?? []).map((x) => ({ value: x.value, label: langName(x.value), count: x.count })),
    // From indexes whose store counts file types (schema 3 on); older ones have no such facet.
    torrentFileType: str((f as (Facets & { fileType?: { value: string; count: number }[] }) | undefined)?.fileType),
  }
}

function searchQuery(input: any): { query: Query; limit: number; offset: number; sort?: SortKey } {
  const now = Date.now()
  let query: Query
  try {
    query = parseQuery(input.queryString ?? '', { now })
    const f = input.facets ?? {}
    const add = (key: Parameters<typeof applyFilter>[1], vs: unknown[] | undefined, map: (v: any) => string = String) => {
      if (vs?.length) applyFilter(query, key, vs.map(map).join(','), { now })
    }
    add('type', f.contentType?.filter)
    add('year', f.releaseYear?.filter?.length ? [`${Math.min(...f.releaseYear.filter)}..${Math.max(...f.releaseYear.filter)}`] : undefined)
    add('res', f.videoResolution?.filter, (v: string) => v.replace(/^V/i, ''))
    add('source', f.videoSource?.filter)
    add('lang', f.language?.filter)
  } catch (err) {
    if (err instanceof QuerySyntaxError || err instanceof ApiError) throw new GraphQLError(err.message)
    throw err
  }
  // A year filter of [1999, 2003] is sent as a range; keep only the asked years.
  const years: number[] | undefined = input.facets?.releaseYear?.filter
  const limit = input.limit ?? 20
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) throw new GraphQLError(`limit: 0 to ${MAX_LIMIT}`)
  const offset = input.page !== undefined && input.page !== null ? (input.page - 1) * limit : input.offset ?? 0
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) throw new GraphQLError(`offset: 0 to ${MAX_OFFSET}`)
  const order = input.orderBy?.[0]?.field
  if (years && years.length > 2) throw new GraphQLError('releaseYear filter: one year or two (a range)')
  return { query, limit, offset, sort: order ? SORTS[order] : undefined }
}

const root = {
  torrentContent: () => ({
    search: async ({ input }: { input: any }, ctx: Ctx, info: { fieldNodes: readonly FieldNode[]; fragments: Record<string, FragmentDefinitionNode> }) => {
      spend(ctx)
      const s = searchQuery(input)
      const wantAggs = info.fieldNodes.some((n) => selects(n.selectionSet, 'aggregations', info.fragments)) ||
        Object.values(input.facets ?? {}).some((f: any) => f?.aggregate)
      const store = await ctx.index.get()
      const res = await store.search(s.query, { limit: s.limit, offset: s.offset, sort: s.sort, count: true, facets: wantAggs, countLimit: COUNT_LIMIT })
      const total = res.total ?? res.items.length
      return {
        totalCount: total, totalCountIsEstimate: res.totalIsEstimate ?? false, hasNextPage: res.items.length === s.limit && (res.totalIsEstimate === true || s.offset + res.items.length < total),
        items: res.items.map((t) => contentOf(t, ctx)), aggregations: aggregations(res.facets),
      }
    },
  }),
  torrent: () => ({
    files: async ({ input }: { input: { infoHashes: string[]; limit?: number; offset?: number } }, ctx: Ctx) => {
      if (input.infoHashes.length > 50) throw new GraphQLError('infoHashes: at most 50')
      const limit = input.limit ?? 100
      const offset = input.offset ?? 0
      if (!(limit >= 0 && limit <= 10_000 && offset >= 0)) throw new GraphQLError('limit: 0 to 10000, offset ≥ 0')
      const all: ReturnType<typeof fileOf>[] = []
      for (const h of input.infoHashes) {
        if (!/^[0-9a-fA-F]{40}$/.test(h)) throw new GraphQLError(`infoHashes: "${h.slice(0, 50)}" is not 40 hex characters`)
        spend(ctx)
        const t = await (await ctx.index.get()).get(h.toLowerCase())
        if (t) all.push(...(t.files ?? []).map((f, i) => fileOf(t.infoHash, f.path, f.size, i)))
      }
      return { totalCount: all.length, hasNextPage: offset + limit < all.length, items: all.slice(offset, offset + limit) }
    },
  }),
}

/** Depth and field count of each operation, fragments expanded (cycles are refused by NoFragmentCycles). */
function limitsRule(ctx: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(op) {
      let fields = 0
      const walk = (set: SelectionSetNode | undefined, depth: number, path: Set<string>): void => {
        if (!set) return
        if (depth > MAX_DEPTH) throw new GraphQLError(`query too deep: more than ${MAX_DEPTH} levels`)
        for (const s of set.selections) {
          if (s.kind === Kind.FIELD) {
            if (++fields > MAX_FIELDS) throw new GraphQLError(`query too costly: more than ${MAX_FIELDS} fields`)
            walk(s.selectionSet, depth + 1, path)
          } else if (s.kind === Kind.INLINE_FRAGMENT) {
            walk(s.selectionSet, depth, path)
          } else if (!path.has(s.name.value)) {
            const frag = ctx.getFragment(s.name.value)
            walk(frag?.selectionSet, depth, new Set([...path, s.name.value]))
          }
        }
      }
      try {
        walk(op.selectionSet, 1, new Set())
      } catch (err) {
        if (err instanceof GraphQLError) ctx.reportError(err)
        else throw err
      }
    },
  }
}

/** JSON with object keys sorted: `{a,b}` and `{b,a}` are one cache key. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

/**
 * A parsed and validated document, remembered by its text: a client sends the same few documents over and over,
 * and parsing plus validation is most of what a cached answer would otherwise cost. `key` is the document printed
 * back in canonical form (no comments, one spacing), so two spellings of one query share answers.
 */
interface Prepared {
  doc?: DocumentNode
  errors?: GraphQLFormattedError[]
  status?: number
  key?: string
}
const MAX_PREPARED = 200
const prepared = new Map<string, Prepared>()

function prepare(text: string): Prepared {
  let p = prepared.get(text)
  if (p) return p
  try {
    const doc = parse(text, { maxTokens: 5000 })
    const errors = validate(schema, doc, [...specifiedRules, limitsRule])
    p = errors.length ? { errors: errors.slice(0, 20).map((e) => ({ message: e.message, locations: e.locations })), status: 400 } : { doc, key: print(doc) }
  } catch (err) {
    p = { errors: [{ message: (err as Error).message }], status: 400 }
  }
  if (prepared.size >= MAX_PREPARED) prepared.clear()
  prepared.set(text, p)
  return p
}

/** An answer that must not be kept (it holds errors: a store failure may not happen next time). */
class Uncacheable extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super('uncacheable')
  }
}

export async function runGraphql(
  index: IndexHandle,
  body: { query?: unknown; variables?: unknown; operationName?: unknown },
  cache?: AnswerCache,
): Promise<{ status: number; body: unknown | Buffer }> {
  const fail = (status: number, message: string) => ({ status, body: { errors: [{ message }] } })
  if (typeof body.query !== 'string' || body.query.trim() === '') return fail(400, 'query: a GraphQL document is required')
  if (Buffer.byteLength(body.query) > MAX_DOCUMENT_BYTES) return fail(400, `query: longer than ${MAX_DOCUMENT_BYTES} bytes`)
  let variables = body.variables
  if (typeof variables === 'string') {
    try {
      variables = JSON.parse(variables)
    } catch {
      return fail(400, 'variables: not JSON')
    }
  }
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return fail(400, 'variables: a JSON object')
  const prep = prepare(body.query)
  if (!prep.doc) return { status: prep.status ?? 400, body: { errors: prep.errors } }
  const doc = prep.doc
  const operationName = typeof body.operationName === 'string' ? body.operationName : undefined
  const run = async () => {
    const ctx: Ctx = { index, calls: 0 }
    const result = await execute({
      schema, document: doc, rootValue: root, contextValue: ctx,
      variableValues: (variables ?? undefined) as Record<string, unknown> | undefined,
      operationName,
    })
    // No `data` at all (bad variables, unknown operation): a request error, 400 as GraphQL over HTTP says.
    return { status: 'data' in result ? 200 : 400, body: result }
  }
  if (!cache) return run()
  // Kept like Torznab and JSON answers (until the index changes, or the TTL), by the canonical document, the
  // variables and the operation; answers with errors are not kept.
  const key = `graphql ${prep.key} ${stableJson(variables ?? null)} ${operationName ?? ''}`
  try {
    const answer: CachedAnswer = await cache.get(key, async () => {
      const r = await run()
      if (r.status !== 200 || (r.body as { errors?: unknown }).errors) throw new Uncacheable(r.status, r.body)
      return { body: Buffer.from(JSON.stringify(r.body)), type: 'application/json; charset=utf-8' }
    })
    return { status: 200, body: answer.body }
  } catch (err) {
    if (err instanceof Uncacheable) return { status: err.status, body: err.body }
    throw err
  }
}

export function graphqlPlugin(index: IndexHandle, cache?: AnswerCache) {
  const send = (reply: FastifyReply, r: { status: number; body: unknown }) => {
    reply.status(r.status).header('Cache-Control', 'no-store')
    if (Buffer.isBuffer(r.body)) reply.type('application/json; charset=utf-8')
    return reply.send(r.body)
  }
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/graphql', async (req, reply) => send(reply, await runGraphql(index, (req.body ?? {}) as Record<string, unknown>, cache)))
    app.get('/graphql', async (req, reply) => send(reply, await runGraphql(index, (req.query ?? {}) as Record<string, unknown>, cache)))
  }
}
