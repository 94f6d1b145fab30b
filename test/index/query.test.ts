// The search grammar: words, phrases, prefixes, exclusions, every filter and its value forms, positioned errors,
// and the FTS5 / tsquery expressions built from the parsed terms (never from raw text).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseQuery, applyFilter, hasText, QuerySyntaxError, ftsExpression, tsQueryExpression, tokenize } from '../../src/index/query/index.js'
import { BtError } from '../../src/errors.js'

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0)
const DAY = 86_400_000
const p = (s: string) => parseQuery(s, { now: NOW })

function syntaxError(q: string, column: number, re: RegExp): void {
  try {
    p(q)
  } catch (err) {
    assert.instance(err, QuerySyntaxError)
    assert.instance(err, BtError)
    const e = err as QuerySyntaxError
    assert.is(e.exitCode, 2)
    assert.is(e.position, column, `${q}: ${e.message}`)
    assert.match(e.message, re)
    assert.match(e.message, new RegExp(`at column ${column}$`))
    assert.not.match(e.message, /\n/)
    return
  }
  assert.unreachable(`${q} should not parse`)
}

test('words, phrases, prefixes, exclusions', () => {
  const q = p('ubuntu "desktop amd64" deb* -beta -"release candidate" Spider-Man')
  assert.equal(q.terms, [
    { kind: 'word', tokens: ['ubuntu'], negated: false, position: 1 },
    { kind: 'phrase', tokens: ['desktop', 'amd64'], negated: false, position: 8 },
    { kind: 'prefix', tokens: ['deb'], negated: false, position: 24 },
    { kind: 'word', tokens: ['beta'], negated: true, position: 29 },
    { kind: 'phrase', tokens: ['release', 'candidate'], negated: true, position: 35 },
    { kind: 'phrase', tokens: ['spider', 'man'], negated: false, position: 56 },
  ])
  assert.equal(q.filters, {})
  assert.ok(hasText(q))
})

test('case and diacritics fold; punctuation separates tokens', () => {
  assert.equal(tokenize('Café Amélie.2001.1080p-GRP'), ['cafe', 'amelie', '2001', '1080p', 'grp'])
  assert.equal(p('ÉCOLE').terms[0].tokens, ['ecole'])
  assert.equal(p('東京 Tōkyō').terms.map((t) => t.tokens), [['東京'], ['tokyo']])
  assert.equal(p('"foo bar"*').terms[0], { kind: 'prefix', tokens: ['foo', 'bar'], negated: false, position: 1 })
})

test('empty query, punctuation-only words and lone dashes give no terms', () => {
  assert.equal(p(''), { terms: [], filters: {} })
  assert.equal(p('   \t ').terms, [])
  assert.equal(p('- * && ...').terms, [])
  assert.not.ok(hasText(p('-foo')))
})

test('type: aliases, lists, exclusion, repeated keys add up', () => {
  assert.equal(p('type:movie').filters.types, { any: ['movie'] })
  assert.equal(p('type:TV,film').filters.types, { any: ['tv_show', 'movie'] })
  assert.equal(p('type:movie type:tv').filters.types, { any: ['movie', 'tv_show'] })
  assert.equal(p('-type:xxx').filters.types, { none: ['xxx'] })
  assert.equal(p('Type:Games -type:porn').filters.types, { any: ['game'], none: ['xxx'] })
  syntaxError('x type:podcast', 3, /type: unknown type "podcast"/)
})

test('year: exact, ranges, comparisons', () => {
  assert.equal(p('year:2019').filters.year, { min: 2019, max: 2019 })
  assert.equal(p('year:2019..2021').filters.year, { min: 2019, max: 2021 })
  assert.equal(p('year:2019..').filters.year, { min: 2019 })
  assert.equal(p('year:..1999').filters.year, { max: 1999 })
  assert.equal(p('year:>2010').filters.year, { min: 2011 })
  assert.equal(p('year:>=2010 year:<2015').filters.year, { min: 2010, max: 2014 })
  syntaxError('year:2021..2019', 1, /empty range/)
  syntaxError('year:abc', 1, /bad year "abc"/)
  syntaxError('year:99999', 1, /out of range/)
  syntaxError('year:..', 1, /empty range/)
})

test('res: names, aliases, lists and ranges over known resolutions', () => {
  assert.equal(p('res:1080p').filters.resolutions, { any: [1080] })
  assert.equal(p('res:720p,4k').filters.resolutions, { any: [720, 2160] })
  assert.equal(p('res:>=1080p').filters.resolutions, { any: [1080, 1440, 2160, 4320] })
  assert.equal(p('res:480p..720p').filters.resolutions, { any: [480, 576, 720] })
  assert.equal(p('-res:480p').filters.resolutions, { none: [480] })
  syntaxError('res:huge', 1, /bad resolution/)
})

test('source, codec, lang, group normalise their values', () => {
  const q = p('source:Blu-Ray codec:HEVC,h.264 lang:French,de group:NTb -group:YIFY')
  assert.equal(q.filters.sources, { any: ['bluray'] })
  assert.equal(q.filters.codecs, { any: ['x265', 'x264'] })
  assert.equal(q.filters.languages, { any: ['fr', 'de'] })
  assert.equal(q.filters.groups, { any: ['ntb'], none: ['yify'] })
  assert.equal(p('source:web').filters.sources, { any: ['web-dl'] })
  assert.equal(p('group:"Some Group" x').filters.groups, { any: ['some group'] })
  assert.equal(p('group:"Some Group" x').terms.length, 1)
  syntaxError('lang:klingon', 1, /unknown language/)
})

test('size: units, ranges, bare size means at least', () => {
  const G = 1024 ** 3
  assert.equal(p('size:>1G').filters.size, { min: G + 1 })
  assert.equal(p('size:<700MB').filters.size, { max: 700 * 1024 ** 2 - 1 })
  assert.equal(p('size:1.5GiB..4g').filters.size, { min: 1.5 * G, max: 4 * G })
  assert.equal(p('size:2G').filters.size, { min: 2 * G })
  assert.equal(p('size:123').filters.size, { min: 123 })
  syntaxError('size:big', 1, /bad size "big"/)
})

test('season and ep: numbers, lists, small ranges', () => {
  assert.equal(p('season:2 ep:5').filters, { seasons: [2], episodes: [5] })
  assert.equal(p('season:1,3 season:3..5').filters.seasons, [1, 3, 4, 5])
  syntaxError('season:x', 1, /bad season/)
  syntaxError('ep:1..999', 1, /bad episode range/)
  syntaxError('-season:2', 1, /cannot be excluded/)
})

test('added: ages, dates, ranges', () => {
  assert.equal(p('added:<7d').filters.added, { min: NOW - 7 * DAY })
  assert.equal(p('added:7d').filters.added, { min: NOW - 7 * DAY })
  assert.equal(p('added:>1y').filters.added, { max: NOW - 365 * DAY })
  assert.equal(p('added:12h').filters.added, { min: NOW - 12 * 3_600_000 })
  assert.equal(p('added:7d..30d').filters.added, { min: NOW - 30 * DAY, max: NOW - 7 * DAY })
  assert.equal(p('added:2024-03-05').filters.added, { min: Date.UTC(2024, 2, 5), max: Date.UTC(2024, 2, 6) - 1 })
  assert.equal(p('added:2024').filters.added, { min: Date.UTC(2024, 0, 1), max: Date.UTC(2025, 0, 1) - 1 })
  assert.equal(p('added:>=2024-03').filters.added, { min: Date.UTC(2024, 2, 1) })
  assert.equal(p('added:2024-01-01..2024-01-31').filters.added, { min: Date.UTC(2024, 0, 1), max: Date.UTC(2024, 1, 1) - 1 })
  syntaxError('added:yesterday', 1, /bad date/)
  syntaxError('added:7d..2024', 1, /do not mix/)
  syntaxError('added:2024-13', 1, /bad date/)
})

test('syntax errors name the column', () => {
  syntaxError('foo "bar baz', 5, /unterminated phrase/)
  syntaxError('foo tpye:movie', 5, /unknown filter "tpye:"/)
  syntaxError('a type:', 3, /type: needs a value/)
  syntaxError('ab"cd"', 3, /inside a word/)
  syntaxError('"ab"cd', 5, /space after the closing/)
  syntaxError('x ""', 3, /empty phrase/)
  syntaxError('group:"abc', 7, /unterminated quoted value/)
  syntaxError('x'.repeat(1001), 1001, /longer than 1000/)
  syntaxError(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '), 119, /more than 32 terms/)
})

test('text with a colon parses when quoted; numbers with colons are words', () => {
  assert.equal(p('"Re:Zero"').terms[0].tokens, ['re', 'zero'])
  assert.equal(p('10:30').terms[0].tokens, ['10', '30'])
})

test('applyFilter: option values parse like inline ones; errors say which option', () => {
  const q = p('matrix')
  applyFilter(q, 'type', 'movie')
  applyFilter(q, 'year', '1999..2003')
  applyFilter(q, 'size', '<10G')
  assert.equal(q.filters.types, { any: ['movie'] })
  assert.equal(q.filters.year, { min: 1999, max: 2003 })
  try {
    applyFilter(q, 'res', 'nope')
    assert.unreachable()
  } catch (err) {
    assert.instance(err, QuerySyntaxError)
    assert.is((err as Error).message, 'query: res: bad resolution "nope" (e.g. 720p, 1080p, 4k)')
  }
})


test('FTS5 and tsquery expressions', () => {
  const q = p('foo "a b" c* -d -"e f"')
  assert.equal(ftsExpression(q.terms), { include: '"foo" AND "a b" AND "c" *', exclude: '"d" OR "e f"' })
  assert.equal(tsQueryExpression(q.terms), { include: `'foo' & ('a' <-> 'b') & 'c':*`, exclude: `'d' | ('e' <-> 'f')` })
  const ops = p(`AND OR NOT NEAR(x) ^start col:umn* 'quote' \\ ; DROP TABLE torrents; --`.replace('col:umn', '"col:umn"'))
  const fts = ftsExpression(ops.terms).include!
  assert.is(fts, '"and" AND "or" AND "not" AND "near x" AND "start" AND "col umn" * AND "quote" AND "drop" AND "table" AND "torrents"')
  assert.equal(ftsExpression(p('-only').terms), { include: undefined, exclude: '"only"' })
})

test.run()
