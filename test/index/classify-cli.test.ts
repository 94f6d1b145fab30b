// `bt classify` as a user runs it: text and --json output, names from arguments and stdin in order, --files as a
// comma list, a file and stdin, and one-line errors with exit code 2.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { bt } from '../helpers/cli.js'

const dir = tmpDir()
const KEYS = ['contentType', 'title', 'year', 'seasons', 'episodes', 'airDate', 'resolution', 'source', 'videoCodec', 'audioCodec', 'hdr', 'threeD', 'languages', 'releaseGroup', 'edition', 'container', 'complete']

test('readable output names each field', async () => {
  const r = await bt(['classify', 'The.Bear.S02E07.Forks.1080p.HULU.WEB-DL.DDP5.1.H.264-NTb'])
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stderr, '')
  assert.match(r.stdout, /^The\.Bear\.S02E07\.Forks\.1080p\.HULU\.WEB-DL\.DDP5\.1\.H\.264-NTb\n/)
  assert.match(r.stdout, /type: +tv_show\n/)
  assert.match(r.stdout, /title: +The Bear\n/)
  assert.match(r.stdout, /seasons: +2\n/)
  assert.match(r.stdout, /episodes: +7\n/)
  assert.match(r.stdout, /group: +NTb\n/)
})

test('--json: one object a name, in input order, exactly the issue\'s fields, stdin names in place', async () => {
  const r = await bt(['classify', 'Dune.2021.1080p.BluRay.x264-GRP', '-', 'ubuntu-24.04-desktop-amd64.iso', '--json'], {
    input: 'Frank Herbert - Dune (1965) [EPUB]\n\n[SubsPlease] Jujutsu Kaisen - 41 (1080p) [6C1E9B52].mkv\n',
  })
  assert.is(r.code, 0, r.stderr)
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(rows.map((o) => o.contentType), ['movie', 'ebook', 'tv_show', 'software'])
  for (const o of rows) assert.equal(Object.keys(o), KEYS)
  assert.equal([rows[0].title, rows[0].year, rows[0].resolution, rows[0].releaseGroup, rows[0].airDate, rows[0].threeD], ['Dune', 2021, '1080p', 'GRP', null, false])
  assert.equal([rows[2].episodes, rows[2].container], [[41], 'mkv'])
  assert.is(rows[3].container, 'iso')
})

test('--files: comma list, file with path<TAB>size lines, stdin', async () => {
  const comma = await bt(['classify', 'Some Album', '--files', '01.flac,02.flac,03.flac', '--json'])
  assert.is(comma.code, 0, comma.stderr)
  assert.equal(JSON.parse(comma.stdout).contentType, 'music')
  const listFile = join(dir, 'files.txt')
  writeFileSync(listFile, 'Book/Chapter 01.mp3\t20000000\nBook/Chapter 02.mp3\t20000000\nBook/Chapter 03.mp3\t20000000\nBook/cover.jpg\t100000\n')
  const file = await bt(['classify', 'Andy Weir - The Martian', '--files', listFile, '--json'])
  assert.is(file.code, 0, file.stderr)
  assert.equal([JSON.parse(file.stdout).contentType, JSON.parse(file.stdout).container], ['audiobook', 'mp3'])
  const stdin = await bt(['classify', 'Something', '--files', '-', '--json'], { input: 'x/setup.exe\t1000\nx/data.bin\t900000000\n' })
  assert.is(stdin.code, 0, stdin.stderr)
  assert.is(JSON.parse(stdin.stdout).contentType, 'software')
})

test('bad usage: one line on stderr, exit 2', async () => {
  for (const [args, input] of [
    [['classify'], ''],
    [['classify', '-', '--files', '-'], 'a\n'],
    [['classify', 'x'.repeat(1001)], ''],
    [['classify', 'a', '--frob'], ''],
  ] as Array<[string[], string]>) {
    const r = await bt(args, { input })
    assert.is(r.code, 2, `${args.join(' ').slice(0, 40)}: ${r.stderr}`)
    assert.is(r.stdout, '')
    assert.match(r.stderr, /^bt: [^\n]+\n$/)
  }
  // An over-long stdin line is skipped with a warning; the others are still classified.
  const r = await bt(['classify', '-', '--json'], { input: `${'y'.repeat(2000)}\nJoker.2019.mkv\n` })
  assert.is(r.code, 2)
  assert.is(JSON.parse(r.stdout).title, 'Joker')
  assert.match(r.stderr, /line 1: longer than 1000 characters/)
})

test.run()
