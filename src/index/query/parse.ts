// The search grammar, parsed once into a typed Query that every backend compiles (the CLI, the HTTP API and Torznab
// share it). Grammar, whitespace-separated:
//   word        ubuntu        tokens as the index splits them ("spider-man" is the phrase "spider man")
//   "phrase"    "the matrix"  tokens adjacent, in order
//   prefix*     deb*          the last token is a prefix
//   -term       -cam          excludes a word, phrase or prefix; `-key:value` excludes a value of a set filter
//   key:value   type:movie year:2019..2021 res:1080p source:bluray codec:x265 lang:fr size:>1G season:2 ep:5
//               group:NAME added:<7d     (value lists with commas: type:movie,tv; a value may be "quoted")

import { BtError, ExitCode } from '../../errors.js'
import type { ContentType } from '../types.js'
import type { FilterKey, Filters, ParseOptions, Query, Range, SetFilter, Term } from './types.js'
import { tokenize } from './text.js'
import {
  FilterValueError, normalizeCodec, normalizeSource, parseAddedRange, parseIntList, parseLanguage, parseName,
  parseResolutions, parseSizeRange, parseType, parseYearRange,
} from './values.js'

/** A query that does not parse: the message names the column; exit code 2. */
export class QuerySyntaxError extends BtError {
  readonly position: number
  constructor(message: string, position: number) {
    super(position > 0 ? `query: ${message} at column ${position}` : `query: ${message}`, ExitCode.usage)
    this.name = 'QuerySyntaxError'
    this.position = position
  }
}

const KEYS: Record<string, FilterKey> = {
  type: 'type', year: 'year', res: 'res', resolution: 'res', source: 'source', codec: 'codec', lang: 'lang',
  language: 'lang', size: 'size', season: 'season', ep: 'ep', episode: 'ep', group: 'group', added: 'added',
}
export const FILTER_KEYS: readonly FilterKey[] = ['type', 'year', 'res', 'source', 'codec', 'lang', 'size', 'season', 'ep', 'group', 'added']
const SET_KEYS = new Set<FilterKey>(['type', 'res', 'source', 'codec', 'lang', 'group'])

/** Longest query we accept: bounds the work of a hostile request. */
export const MAX_QUERY_LENGTH = 1000
const MAX_TERMS = 32

export function parseQuery(text: string, options: ParseOptions = {}): Query {
  if (text.length > MAX_QUERY_LENGTH) throw new QuerySyntaxError(`longer than ${MAX_QUERY_LENGTH} characters`, MAX_QUERY_LENGTH + 1)
  const now = options.now ?? Date.now()
  const query: Query = { terms: [], filters: {} }
  let i = 0
  const n = text.length
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r'
  while (i < n) {
    if (isSpace(text[i])) {
      i++
      continue
    }
    const start = i
    let negated = false
    if (text[i] === '-' && i + 1 < n && !isSpace(text[i + 1])) {
      negated = true
      i++
    }
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1)
      if (close < 0) throw new QuerySyntaxError('unterminated phrase (missing ")', i + 1)
      const inner = text.slice(i + 1, close)
      i = close + 1
      let prefix = false
      if (text[i] === '*') {
        prefix = true
        i++
      }
      if (i < n && !isSpace(text[i])) throw new QuerySyntaxError('expected a space after the closing "', i + 1)
      addTerm(query, inner, prefix ? 'prefix' : 'phrase', negated, start + 1)
      continue
    }
    // A bare word, or key:value where the value may be quoted.
    let j = i
    while (j < n && !isSpace(text[j]) && text[j] !== '"') j++
    let word = text.slice(i, j)
    const filter = /^([A-Za-z]+):/.exec(word)
    if (filter) {
      const key = KEYS[filter[1].toLowerCase()]
      if (!key) {
        throw new QuerySyntaxError(`unknown filter "${filter[1]}:" (filters: ${FILTER_KEYS.join(', ')}; put text with a colon in "quotes")`, i + 1)
      }
      let value = word.slice(filter[0].length)
      if (value === '' && text[j] === '"') {
        const close = text.indexOf('"', j + 1)
        if (close < 0) throw new QuerySyntaxError('unterminated quoted value (missing ")', j + 1)
        value = text.slice(j + 1, close)
        j = close + 1
        if (j < n && !isSpace(text[j])) throw new QuerySyntaxError('expected a space after the closing "', j + 1)
      } else if (text[j] === '"') {
        throw new QuerySyntaxError('unexpected " inside a filter value', j + 1)
      }
      if (value.trim() === '') throw new QuerySyntaxError(`${key}: needs a value`, i + 1)
      applyFilter(query, key, value.trim(), { negated, position: start + 1, now })
      i = j
      continue
    }
    if (text[j] === '"') throw new QuerySyntaxError('unexpected " inside a word (put a space before a phrase)', j + 1)
    i = j
    let kind: Term['kind'] = 'word'
    if (word.endsWith('*')) {
      kind = 'prefix'
      word = word.replace(/\*+$/, '')
    }
    addTerm(query, word, kind, negated, start + 1)
  }
  if (query.terms.length > MAX_TERMS) throw new QuerySyntaxError(`more than ${MAX_TERMS} terms`, query.terms[MAX_TERMS].position)
  return query
}

function addTerm(query: Query, text: string, kind: Term['kind'], negated: boolean, position: number): void {
  const tokens = tokenize(text)
  // Punctuation alone ("-", "*", "&") says nothing to search for; an empty phrase is most likely a slip.
  if (tokens.length === 0) {
    if (kind === 'phrase') throw new QuerySyntaxError('empty phrase', position)
    return
  }
  query.terms.push({ kind: kind === 'word' && tokens.length > 1 ? 'phrase' : kind, tokens, negated, position })
}

function addToSet<T>(set: SetFilter<T> | undefined, values: T[], negated: boolean): SetFilter<T> {
  const s: SetFilter<T> = { ...set }
  const field = negated ? 'none' : 'any'
  s[field] = [...new Set([...(s[field] ?? []), ...values])]
  return s
}

/** Two ranges on one key both hold: `year:>2000 year:<2010`. */
function intersect(a: Range | undefined, b: Range): Range {
  if (!a) return b
  const r: Range = { ...a }
  if (b.min !== undefined) r.min = r.min === undefined ? b.min : Math.max(r.min, b.min)
  if (b.max !== undefined) r.max = r.max === undefined ? b.max : Math.min(r.max, b.max)
  return r
}

export interface ApplyOptions {
  negated?: boolean
  /** Column for errors; 0 for a value that came from an option. */
  position?: number
  now?: number
}

/**
 * Add one filter to a query, parsing its value as the grammar does. The CLI's `--type movie`, `--year 2019..2021`
 * and the HTTP API's parameters go through here too, so every surface accepts the same values.
 */
export function applyFilter(query: Query, key: FilterKey, value: string, opts: ApplyOptions = {}): void {
  const position = opts.position ?? 0
  const negated = opts.negated ?? false
  const now = opts.now ?? Date.now()
  if (negated && !SET_KEYS.has(key)) throw new QuerySyntaxError(`${key}: cannot be excluded with "-" (use a range)`, position)
  const f: Filters = query.filters
  const list = (parse: (v: string) => string) => value.split(',').filter((v) => v !== '').map(parse)
  try {
    switch (key) {
      case 'type':
        f.types = addToSet<ContentType>(f.types, value.split(',').filter(Boolean).map(parseType), negated)
        break
      case 'res':
        f.resolutions = addToSet(f.resolutions, value.split(',').filter(Boolean).flatMap(parseResolutions), negated)
        break
      case 'source':
        f.sources = addToSet(f.sources, list((v) => normalizeSource(parseName(v, 'source'))), negated)
        break
      case 'codec':
        f.codecs = addToSet(f.codecs, list((v) => normalizeCodec(parseName(v, 'codec'))), negated)
        break
      case 'lang':
        f.languages = addToSet(f.languages, list(parseLanguage), negated)
        break
      case 'group':
        f.groups = addToSet(f.groups, list((v) => parseName(v, 'group').toLowerCase()), negated)
        break
      case 'year':
        f.year = intersect(f.year, parseYearRange(value))
        break
      case 'size':
        f.size = intersect(f.size, parseSizeRange(value))
        break
      case 'added':
        f.added = intersect(f.added, parseAddedRange(value, now))
        break
      case 'season':
        f.seasons = [...new Set([...(f.seasons ?? []), ...parseIntList(value, 'season')])]
        break
      case 'ep':
        f.episodes = [...new Set([...(f.episodes ?? []), ...parseIntList(value, 'episode')])]
        break
    }
  } catch (err) {
    if (err instanceof FilterValueError) throw new QuerySyntaxError(`${key}: ${err.message}`, position)
    throw err
  }
}

/** True when the query has no words: backends list the most recent torrents that pass the filters. */
export function hasText(query: Query): boolean {
  return query.terms.some((t) => !t.negated)
}
