// File selection (`--select 0,2-4`, `--select-glob '*.mkv'`): index lists, globs, and the files they resolve to in a
// torrent (paths inside the torrent, names without a slash, pad files never chosen). Pure logic.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { globToRegExp, parseIndexList, resolveSelection } from '../../src/session/select.js'
import { BtError, ExitCode } from '../../src/errors.js'
import { buildTorrent } from '../helpers/handmade-torrent.js'

/** Assert that fn throws a usage BtError whose message matches `re`. */
function usageError(fn: () => unknown, re: RegExp): void {
  try {
    fn()
  } catch (err) {
    assert.instance(err, BtError)
    assert.is((err as BtError).exitCode, ExitCode.usage)
    assert.match((err as Error).message, re)
    assert.not.match((err as Error).message, /\n/, 'one line')
    return
  }
  assert.unreachable(`expected a usage error matching ${re}`)
}

test('parseIndexList: indices and ranges, sorted, without duplicates; spaces and empty parts tolerated', () => {
  assert.equal(parseIndexList('0,2-4'), [0, 2, 3, 4])
  assert.equal(parseIndexList('7, 3 ,3,1-2,'), [1, 2, 3, 7])
  assert.equal(parseIndexList('5-5'), [5])
  assert.equal(parseIndexList(''), [])
})

test('parseIndexList: anything else is a one-line usage error', () => {
  usageError(() => parseIndexList('a'), /"a" is not an index or a range/)
  usageError(() => parseIndexList('1,-2'), /"-2"/)
  usageError(() => parseIndexList('1.5'), /"1\.5"/)
  usageError(() => parseIndexList('4-2'), /range 4-2 runs backwards/)
  usageError(() => parseIndexList('0-99999999'), /too large/)
})

test('globToRegExp: * stays in one path component, ** crosses them, ? is one character, the rest is literal', () => {
  const m = (g: string, s: string) => globToRegExp(g).test(s)
  assert.ok(m('*.mkv', 'show.mkv'))
  assert.not.ok(m('*.mkv', 'season1/show.mkv'))
  assert.not.ok(m('*.mkv', 'show.mkv.part'))
  assert.ok(m('**/*.mkv', 'a/b/show.mkv'))
  assert.ok(m('**/*.mkv', 'show.mkv'), '**/ also matches no directory')
  assert.ok(m('season?/*', 'season1/e01.mkv'))
  assert.not.ok(m('season?/*', 'season10/e01.mkv'))
  assert.not.ok(m('?', '/'))
  // Regular-expression characters are literal.
  assert.ok(m('a+b (1).[x]', 'a+b (1).[x]'))
  assert.not.ok(m('a.b', 'axb'))
  assert.not.ok(m('$x^', 'x'))
})

// A torrent named `tor`: files at top level and in directories, with a pad file.
const { m } = buildTorrent(
  [
    { path: ['show.mkv'], length: 40000 },
    { path: ['.pad', '9152'], length: 9152, pad: true },
    { path: ['extras', 'trailer.mkv'], length: 1000 },
    { path: ['extras', 'notes.txt'], length: 10 },
    { path: ['subs', 'en.srt'], length: 20 },
  ],
  16384,
)

test('resolveSelection: no selection means everything', () => {
  assert.is(resolveSelection(m, {}), undefined)
  assert.is(resolveSelection(m, { indices: [], globs: [] }), undefined)
})

test('resolveSelection: a glob without a slash matches file names anywhere; with one, the path inside the torrent', () => {
  assert.equal(resolveSelection(m, { globs: ['*.mkv'] }), [0, 2])
  assert.equal(resolveSelection(m, { globs: ['extras/*'] }), [2, 3])
  assert.equal(resolveSelection(m, { globs: ['extras/*.txt', 'subs/**'] }), [3, 4])
})

test('resolveSelection: indices and globs add up, sorted; pad files are never chosen by a glob', () => {
  assert.equal(resolveSelection(m, { indices: [3], globs: ['*.mkv'] }), [0, 2, 4])
  assert.equal(resolveSelection(m, { globs: ['*'] }), [0, 2, 3, 4])
  assert.equal(resolveSelection(m, { globs: ['**'] }), [0, 2, 3, 4])
})

test('resolveSelection: an index past the last file, or globs matching nothing, are usage errors naming the torrent', () => {
  usageError(() => resolveSelection(m, { indices: [9] }), /there is no file 9/)
  usageError(() => resolveSelection(m, { globs: ['*.iso'] }), /no file of tor matches/)
})

// README says --select takes "indices as in `bt metainfo X files`", and that listing leaves out pad files (BEP 47).
test('resolveSelection: indices count the files `bt metainfo files` lists, which leaves out pad files', () => {
  assert.equal(resolveSelection(m, { indices: [1] }), [2])
  assert.equal(resolveSelection(m, { indices: [0, 3] }), [0, 4])
  usageError(() => resolveSelection(m, { indices: [4] }), /tor has 4 files \(0-3\); there is no file 4/)
})

test('resolveSelection: BEP 53 positions count every info-dict entry; pad files and positions past the end are ignored', () => {
  assert.equal(resolveSelection(m, { fileIndices: [1, 2, 9] }), [2])
})

test('resolveSelection: a single-file torrent matches its name by glob and by path', () => {
  const single = { ...m, multiFile: false, files: [{ ...m.files[0], path: ['movie.mkv'] }] }
  assert.equal(resolveSelection(single, { globs: ['*.mkv'] }), [0])
  assert.equal(resolveSelection(single, { globs: ['**/movie.mkv'] }), [0])
})

test.run()
