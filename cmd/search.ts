// `bt search QUERY`: search the index; a table on a terminal, NDJSON with --json, magnet links with --magnet.

import type { Argv, CommandModule } from 'yargs'
import type { Facets, StoredTorrent } from '../src/index/types.js'
import { createRequire } from 'node:module'
import { fitExamples, out } from './cli.js'
import { dbOption } from './import.js'

interface Args {
  query: string[]
  db?: string
  type?: string[]
  year?: string
  res?: string[]
  source?: string[]
  codec?: string[]
  lang?: string[]
  'min-size'?: string
  'max-size'?: string
  season?: string
  ep?: string
  group?: string[]
  added?: string
  sort?: string
  limit: number
  offset: number
  facets: boolean
  json: boolean
  magnet: boolean
}

const SORTS = ['relevance', 'size', 'date', 'seeders', 'name'] as const

function formatSize(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v}B` : `${v.toFixed(v >= 10 ? 0 : 1)}${units[i]}`
}

function episodeOrYear(t: StoredTorrent): string {
  const c = t.classification
  const pad = (n: number) => String(n).padStart(2, '0')
  if (c.seasons.length || c.episodes.length) {
    const s = c.seasons.length > 1 ? `S${pad(c.seasons[0])}-S${pad(c.seasons[c.seasons.length - 1])}` : c.seasons.length ? `S${pad(c.seasons[0])}` : ''
    const e = c.episodes.length > 1 ? `E${pad(c.episodes[0])}-E${pad(c.episodes[c.episodes.length - 1])}` : c.episodes.length ? `E${pad(c.episodes[0])}` : ''
    return s + e
  }
  return c.airDate ?? (c.year ? String(c.year) : '')
}

function columns(t: StoredTorrent): string[] {
  return [
    t.name, formatSize(t.size), t.classification.contentType, t.classification.resolution ?? '', episodeOrYear(t),
    new Date(t.publishedAt).toISOString().slice(0, 10), t.infoHash.slice(0, 8),
  ]
}

function printTable(items: StoredTorrent[]): void {
  const rows = items.map(columns)
  const head = ['NAME', 'SIZE', 'TYPE', 'RES', 'YEAR/EP', 'DATE', 'HASH']
  const width = process.stdout.columns || 120
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  // The name takes what the other columns leave.
  const rest = w.slice(1).reduce((a, b) => a + b + 2, 0)
  w[0] = Math.max(20, Math.min(w[0], width - rest - 2))
  const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s)
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? cut(c, w[i]).padStart(w[i]) : cut(c, w[i]).padEnd(w[i]))).join('  ').trimEnd()
  out(line(head))
  for (const r of rows) out(line(r))
}

function printFacets(f: Facets, total: number | undefined): void {
  const show = (name: string, xs: { value: string | number; count: number }[]) => {
    if (xs.length) out(`${name}: ${xs.slice(0, 12).map((x) => `${x.value} ${x.count}`).join(', ')}`)
  }
  out('')
  if (total !== undefined) out(`total: ${total}`)
  show('type', f.type)
  show('year', f.year)
  show('resolution', f.resolution)
  show('language', f.language)
  show('source', f.source)
  show('file type', f.fileType)
}

export const searchCommand: CommandModule<object, Args> = {
  command: 'search [query..]',
  describe: 'Search the index (words, "phrases", prefix*, -excluded, type:movie year:2019..2021 res:1080p size:>1G added:<7d …)',
  builder: (y: Argv) =>
    y
      .positional('query', { type: 'string', array: true, default: [], describe: 'query (several arguments are joined with spaces); empty lists the newest' })
      .option('db', dbOption)
      .option('type', { type: 'string', array: true, describe: 'movie, tv_show, music, ebook, comic, audiobook, software, game, xxx, unknown' })
      .option('year', { type: 'string', describe: 'year or range: 2019, 2019..2021, >2010' })
      .option('res', { type: 'string', array: true, describe: 'resolution: 720p, 1080p, 4k, >=1080p' })
      .option('source', { type: 'string', array: true, describe: 'bluray, web-dl, webrip, hdtv, dvd, cam …' })
      .option('codec', { type: 'string', array: true, describe: 'x264, x265, av1, aac, flac …' })
      .option('lang', { type: 'string', array: true, describe: 'language: en, fr, german …' })
      .option('min-size', { type: 'string', describe: 'at least this size: 700M, 1.5G' })
      .option('max-size', { type: 'string', describe: 'at most this size' })
      .option('season', { type: 'string', describe: 'season number(s): 2, 1..3' })
      .option('ep', { type: 'string', describe: 'episode number(s)' })
      .option('group', { type: 'string', array: true, describe: 'release group' })
      .option('added', { type: 'string', describe: 'published or first seen: <7d, >1y, 2024-01..2024-06' })
      .option('sort', { choices: SORTS, describe: 'order (default relevance with words, else date)' })
      .option('limit', { alias: 'n', type: 'number', default: 50, describe: 'at most this many results (max 1000)' })
      .option('offset', { type: 'number', default: 0, describe: 'skip this many results' })
      .option('facets', { type: 'boolean', default: false, describe: 'also count matches by type, year, resolution, language, source, file type' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per result (NDJSON)' })
      .option('magnet', { type: 'boolean', default: false, describe: 'one magnet link per result' })
      .example(fitExamples([
        ["$0 search 'ubuntu desktop' --type software", 'search with a filter'],
        ["$0 search 'matrix res:>=1080p -cam'", 'inline filters'],
        ['$0 search debian --magnet --limit 1', "the best match's magnet link"],
        ['$0 search --limit 5 -- -cam matrix', 'a query that starts with an exclusion'],
      ])) as unknown as Argv<Args>,
  handler: async (args) => {
    const { BtError, ExitCode } = await import('../src/errors.js')
    const { parseQuery, applyFilter } = await import('../src/index/query/index.js')
    if (args.json && args.magnet) throw new BtError('--json and --magnet: choose one', ExitCode.usage)
    // Words after `--` (so that a query may start with -excluded) land in yargs' `_`, after the command name.
    const rest = ((args as unknown as { _: unknown[] })._ ?? []).slice(1).map(String)
    const text = [...args.query.map(String), ...rest].join(' ')
    const now = Date.now()
    const query = parseQuery(text, { now })
    const opt = (key: Parameters<typeof applyFilter>[1], v: string | string[] | undefined, prefix = '') => {
      for (const x of v === undefined ? [] : Array.isArray(v) ? v : [v]) applyFilter(query, key, prefix + String(x), { now })
    }
    opt('type', args.type)
    opt('year', args.year)
    opt('res', args.res)
    opt('source', args.source)
    opt('codec', args.codec)
    opt('lang', args.lang)
    opt('size', args['min-size'], '>=')
    opt('size', args['max-size'], '<=')
    opt('season', args.season)
    opt('ep', args.ep)
    opt('group', args.group)
    opt('added', args.added)
    for (const [name, v, max] of [['limit', args.limit, 1000], ['offset', args.offset, 100_000]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new BtError(`--${name}: give a whole number from 0 to ${max}`, ExitCode.usage)
    }
    const { openIndex, isPostgresUrl, defaultIndexPath } = await import('../src/index/open.js')
    const where = args.db || process.env.BT_DB || defaultIndexPath()
    if (!isPostgresUrl(where)) {
      // By require: an ESM import of node:fs loads fs/promises and the streams stack (see cmd/cli.ts).
      const { existsSync } = createRequire(import.meta.url)('node:fs') as typeof import('node:fs')
      if (!existsSync(where)) throw new BtError(`${where}: no index yet (bt import adds torrents to it)`, ExitCode.io)
    }
    const store = await openIndex(where)
    let result
    try {
      result = await store.search(query, { sort: args.sort as (typeof SORTS)[number] | undefined, limit: args.limit, offset: args.offset, facets: args.facets })
    } finally {
      await store.close()
    }
    if (args.magnet) {
      const { formatMagnet } = await import('../src/metainfo/magnet.js')
      for (const t of result.items) out(formatMagnet({ infoHash: t.infoHash, name: t.name, trackers: t.trackers, webSeeds: [], peers: [] }))
      return
    }
    if (args.json) {
      const { formatMagnet } = await import('../src/metainfo/magnet.js')
      for (const t of result.items) out(JSON.stringify({ ...t, magnet: formatMagnet({ infoHash: t.infoHash, name: t.name, trackers: t.trackers, webSeeds: [], peers: [] }) }))
      if (result.facets) out(JSON.stringify({ total: result.total, facets: result.facets }))
      return
    }
    if (process.stdout.isTTY) {
      if (result.items.length === 0) process.stderr.write('no matches\n')
      else printTable(result.items)
    } else {
      // Piped: tab-separated, full names, one per line.
      for (const t of result.items) out(columns(t).join('\t'))
    }
    if (result.facets) printFacets(result.facets, result.total)
  },
}
