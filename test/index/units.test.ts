// Small units of the index: the file-list codec, the bounded line reader, record validation and the NDJSON mapping.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Readable } from 'node:stream'
import { encodeFiles, decodeFiles, filesText, fileTypesOf } from '../../src/index/files.js'
import { FILE_TYPES } from '../../src/index/rows.js'
import { readLines } from '../../src/index/import/lines.js'
import { prepareRecord, RecordError } from '../../src/index/record.js'
import { recordFromJson } from '../../src/index/import/records.js'

test('file lists round-trip: prefixes, shared parts, unicode, tabs and newlines in names, long lists', () => {
  const cases: [string, { path: string; size: number }[]][] = [
    ['Show S01', Array.from({ length: 24 }, (_, i) => ({ path: `Show S01/Show.S01E${String(i + 1).padStart(2, '0')}.1080p.mkv`, size: 1e9 + i }))],
    ['single.iso', [{ path: 'single.iso', size: 2 ** 40 }]],
    ['Mixed', [{ path: 'Mixed/a/b/c.txt', size: 0 }, { path: 'Other/x', size: 1 }, { path: 'Mixed/a/b/c.txt.bak', size: 2 }]],
    ['Ünïcode 東京', [{ path: 'Ünïcode 東京/日本語 ファイル.mkv', size: 5 }, { path: 'Ünïcode 東京/Ünïcode.srt', size: 6 }]],
    ['Big', Array.from({ length: 3000 }, (_, i) => ({ path: `Big/dir${i % 7}/file ${i}.flac`, size: i * 1000 }))],
  ]
  for (const [name, files] of cases) {
    const blob = encodeFiles(name, files)
    assert.equal(decodeFiles(name, blob), files, name)
  }
  const eps = encodeFiles(cases[0][0], cases[0][1])
  const raw = cases[0][1].reduce((a, f) => a + f.path.length + 12, 0)
  assert.ok(eps.length < raw / 2.5, `episode list coded to ${eps.length} bytes of ${raw}`)
  // Paths with tabs or newlines are cleaned before they reach the codec.
  const p = prepareRecord({ infoHash: 'a'.repeat(40), name: 'n', source: 's', files: [{ path: 'n/a\tb\nc', size: 1 }] })
  assert.equal(decodeFiles('n', p.filesBlob!), [{ path: 'n/a b c', size: 1 }])
})

test('files are indexed as words: each once, none of the name', () => {
  const text = filesText('Show S01', [{ path: 'Show S01/Show.S01E01.mkv', size: 1 }, { path: 'Show S01/Show.S01E02.mkv', size: 1 }, { path: 'Show S01/Extras/Café.txt', size: 1 }])
  assert.is(text, 's01e01 s01e02 extras cafe')
  // Extensions, split-archive volumes and bare track numbers are noise; years and real words stay.
  const music = filesText('Album', [{ path: 'Album/01 - Intro.flac', size: 1 }, { path: 'Album/02 - 1999.flac', size: 1 }, { path: 'Album/Game.r07', size: 1 }, { path: 'Album/Movie.720p', size: 1 }])
  assert.is(music, 'intro 1999 game movie 720p')
})

async function collect(chunks: (string | Buffer)[], max?: number) {
  const out = []
  for await (const l of readLines(Readable.from(chunks.map((c) => Buffer.from(c))), max)) out.push(l)
  return out
}

test('file types: bits of FILE_TYPES from the file extensions, or the name when there is no file list', () => {
  const names = (mask: number) => FILE_TYPES.filter((_, i) => mask & (1 << i))
  const files = ['a/Movie.mkv', 'a/Movie.EN.srt', 'a/Movie.nfo', 'a/cover.JPG', 'a/setup.exe', 'a/book.epub', 'a/x.rar', 'a/song.flac', 'a/README', 'a/weird.xyz']
  assert.equal(names(fileTypesOf('a', files.map((path) => ({ path, size: 1 })))), FILE_TYPES.slice())
  assert.equal(names(fileTypesOf('Some.Movie.2020.1080p.mkv', undefined)), ['video'])
  assert.equal(names(fileTypesOf('Some.Movie.2020.1080p', [])), [])
  assert.equal(names(fileTypesOf('x', [{ path: 'dir.v2/file', size: 1 }, { path: '__proto__.__proto__', size: 1 }])), [])
})

test('line reader: chunk boundaries, CRLF, no final newline, over-long lines skipped with their numbers', async () => {
  assert.equal(await collect(['ab', 'c\nde', 'f\r\n', '\nlast']), [
    { number: 1, text: 'abc' }, { number: 2, text: 'def' }, { number: 3, text: '' }, { number: 4, text: 'last' },
  ])
  assert.equal(await collect(['short\n', 'x'.repeat(30), 'y'.repeat(30), '\nok\n'], 40), [
    { number: 1, text: 'short' }, { number: 2, tooLong: true }, { number: 3, text: 'ok' },
  ])
  assert.equal(await collect(['x'.repeat(50) + '\n'], 40), [{ number: 1, tooLong: true }])
  assert.equal(await collect(['a\n', 'z'.repeat(100)], 40), [{ number: 1, text: 'a' }, { number: 2, tooLong: true }])
  // Multi-byte characters split across chunks stay whole.
  const euro = Buffer.from('€\n')
  const out = []
  for await (const l of readLines(Readable.from([euro.subarray(0, 1), euro.subarray(1)]))) out.push(l)
  assert.equal(out, [{ number: 1, text: '€' }])
})

test('record validation: reasons a user can act on', () => {
  const bad = (r: object, re: RegExp) => {
    try {
      prepareRecord(r as never)
      assert.unreachable()
    } catch (err) {
      assert.instance(err, RecordError)
      assert.match((err as Error).message, re)
    }
  }
  bad({ infoHash: 'abc', name: 'x' }, /infoHash is not 40 hex/)
  bad({ infoHash: 'a'.repeat(40) }, /name is missing/)
  bad({ infoHash: 'a'.repeat(40), name: 'x', size: 'big' }, /bad size/)
  bad({ infoHash: 'a'.repeat(40), name: 'x', files: 'nope' }, /files is not a list/)
  bad({ infoHash: 'a'.repeat(40), name: 'x', files: [{ size: 1 }] }, /file 1 has no path/)
  bad({ infoHash: 'a'.repeat(40), name: 'x'.repeat(5000) }, /name is too long/)
  const ok = prepareRecord({ infoHash: 'A'.repeat(40), name: 'x', source: 's', files: [{ path: 'a', size: 3 }, { path: 'b', size: 4 }] })
  assert.is(ok.infoHash, 'a'.repeat(40))
  assert.is(ok.size, 7)
})

test('bitmagnet NDJSON fields map onto a record', () => {
  const r = recordFromJson({
    infoHash: 'b'.repeat(40), name: 'Show S01E02', size: '123', publishedAt: '2024-01-02T03:04:05Z', source: 'bitmagnet',
    contentType: 'tv_show', contentSource: 'tmdb', contentId: 42, title: 'Show', releaseYear: 2020,
    episodes: { 1: [2, 3] }, files: [{ path: 'a.mkv', size: 5 }], seeders: 7,
  }, 'import')
  assert.equal(r, {
    infoHash: 'b'.repeat(40), name: 'Show S01E02', size: 123, files: [{ path: 'a.mkv', size: 5 }], publishedAt: Date.UTC(2024, 0, 2, 3, 4, 5),
    source: 'bitmagnet', seeders: 7, leechers: undefined,
    known: { contentType: 'tv_show', title: 'Show', year: 2020, seasons: [1], episodes: [2, 3], contentSource: 'tmdb', contentId: '42' },
  })
  assert.is(recordFromJson({ infoHash: 'b'.repeat(40), name: 'x', publishedAt: 1700000000 }, 'import').publishedAt, 1700000000000)
  assert.throws(() => recordFromJson({ infoHash: 'b'.repeat(40), name: 'x', publishedAt: 'yesterday' }, 'import'), /publishedAt/)
  assert.throws(() => recordFromJson([1], 'import'), /not a JSON object/)
})

test.run()
