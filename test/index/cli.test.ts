// bt import and bt search as a user runs them: files, stdin, .torrent directories, --json, --magnet, exit codes,
// corrupt and foreign databases, unreachable and real PostgreSQL, a writer beside readers, kill -9 mid-import.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import bencode from 'bencode'
import Database from 'better-sqlite3'
import { tmpDir } from '../helpers/tmp.js'
import { bt, BT } from '../helpers/cli.js'
import { startPostgres, type PgServer } from '../helpers/postgres.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'

const dir = tmpDir()
let n = 0
const freshDb = () => join(dir, `index-${++n}.db`)
const h = (i: number, salt = 0) => (salt * 1_000_000 + i).toString(16).padStart(40, '0')

function ndjson(count: number, salt: number, files = 3): string {
  let s = ''
  for (let i = 0; i < count; i++) {
    const name = `Show ${salt} Number ${i} S01E${String(i % 20).padStart(2, '0')} 1080p`
    s += JSON.stringify({
      infoHash: h(i, salt), name, size: 1000 + i, publishedAt: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
      files: Array.from({ length: files }, (_, k) => ({ path: `${name}/part${k}.mkv`, size: 100 + k })),
    }) + '\n'
  }
  return s
}

function torrentFile(name: string, files: { path: string[]; length: number }[]): Buffer {
  const total = files.reduce((a, f) => a + f.length, 0)
  const pieces = Buffer.alloc(Math.ceil(total / 16384) * 20)
  return Buffer.from(bencode.encode({ 'creation date': 1700000000, info: { name, 'piece length': 16384, pieces, files } }))
}

async function total(db: string): Promise<number> {
  const r = await bt(['search', '--db', db, '--json', '--facets', '--limit', '1'])
  assert.is(r.code, 0, r.stderr)
  return JSON.parse(r.stdout.trim().split('\n').pop()!).total
}

test('import NDJSON: bad lines are warned with line numbers and counted; a second run updates', async () => {
  const db = freshDb()
  const file = join(dir, 'a.ndjson')
  writeFileSync(file, [
    JSON.stringify({ infoHash: h(1), name: 'Debian 12 netinst amd64', size: 600e6, contentType: 'software', publishedAt: '2024-06-01T00:00:00Z' }),
    '{"infoHash": "zz", "name": "bad hash"}',
    'this is not json',
    '',
    JSON.stringify({ infoHash: h(2), name: 'The Matrix 1999 1080p', contentType: 'movie', releaseYear: 1999, files: [{ path: 'm.mkv', size: 5 }] }),
    'magnet:?xt=urn:btih:' + h(3) + '&dn=Magnet+Only&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce',
    '{"infoHash": "' + h(4) + '"}',
  ].join('\n'))
  const r = await bt(['import', file, '--db', db])
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout, '')
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.slice(0, 3), [
    `bt import: ${file}:2: infoHash is not 40 hex characters`,
    `bt import: ${file}:3: neither a JSON record nor a magnet link`,
    `bt import: ${file}:7: name is missing`,
  ])
  assert.match(lines[3], /^3 added, 0 updated, 3 rejected in/)
  const again = await bt(['import', file, '--db', db, '--json', '--quiet'])
  assert.is(again.code, 0)
  assert.is(again.stderr, '')
  const sum = JSON.parse(again.stdout)
  assert.equal([sum.added, sum.updated, sum.rejected], [0, 3, 3])
  assert.is(await total(db), 3)
})

test('search: --json has every field, --magnet one link per line, piped output is tab-separated', async () => {
  const db = freshDb()
  const input = [
    JSON.stringify({ infoHash: h(1), name: 'Debian 12 netinst amd64', size: 600e6, contentType: 'software', publishedAt: '2024-06-01T00:00:00Z' }),
    JSON.stringify({ infoHash: h(2), name: 'Debian 11 netinst i386', size: 400e6, contentType: 'software', publishedAt: '2023-06-01T00:00:00Z' }),
    JSON.stringify({ infoHash: h(3), name: 'The Matrix 1999', size: 8e9, contentType: 'movie', releaseYear: 1999, publishedAt: '2022-01-01T00:00:00Z' }),
  ].join('\n')
  assert.is((await bt(['import', '-', '--db', db, '-q'], { input })).code, 0)
  const j = await bt(['search', 'debian netinst', '--db', db, '--json', '--sort', 'date'])
  assert.is(j.code, 0, j.stderr)
  const items = j.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(items.map((x) => x.infoHash), [h(1), h(2)])
  assert.is(items[0].name, 'Debian 12 netinst amd64')
  assert.is(items[0].size, 600e6)
  assert.is(items[0].publishedAt, Date.UTC(2024, 5, 1))
  assert.is(items[0].classification.contentType, 'software')
  assert.is(items[0].magnet, `magnet:?xt=urn:btih:${h(1)}&dn=Debian%2012%20netinst%20amd64`)
  const m = await bt(['search', 'debian', 'netinst', '--db', db, '--magnet', '--limit', '1', '--sort', 'date'])
  assert.is(m.stdout, `magnet:?xt=urn:btih:${h(1)}&dn=Debian%2012%20netinst%20amd64\n`)
  const tsv = await bt(['search', '--db', db, '--type', 'movie'])
  assert.is(tsv.stdout, `The Matrix 1999\t7.5G\tmovie\t\t1999\t2022-01-01\t${h(3).slice(0, 8)}\n`)
  const opts = await bt(['search', '--db', db, '--min-size', '500M', '--year', '1990..2000'])
  assert.is(opts.stdout.split('\t')[0], 'The Matrix 1999')
  const none = await bt(['search', 'nothing here', '--db', db])
  assert.is(none.code, 0)
  assert.is(none.stdout, '')
})

test('import from stdin (magnets, info hashes) and a directory of .torrent files, recursively', async () => {
  const db = freshDb()
  const tdir = join(dir, 'torrents')
  mkdirSync(join(tdir, 'sub', 'deeper'), { recursive: true })
  const a = torrentFile('Album FLAC', [{ path: ['01 Intro.flac'], length: 30000 }, { path: ['02 Song.flac'], length: 40000 }])
  const b = torrentFile('Book Collection', [{ path: ['novel.epub'], length: 20000 }])
  writeFileSync(join(tdir, 'a.torrent'), a)
  writeFileSync(join(tdir, 'sub', 'deeper', 'b.torrent'), b)
  writeFileSync(join(tdir, 'sub', 'broken.torrent'), 'd4:infoi1ee')
  writeFileSync(join(tdir, 'notes.txt'), 'ignored')
  const r = await bt(['import', tdir, '--db', db])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, new RegExp(`bt import: ${join(tdir, 'sub', 'broken.torrent')}: `))
  assert.match(r.stderr, /2 added, 0 updated, 1 rejected/)
  const files = await bt(['search', 'song', '--db', db, '--json'])
  const got = JSON.parse(files.stdout)
  assert.is(got.infoHash, parseTorrent(a).infoHash)
  assert.is(got.fileCount, 2)
  assert.is(got.publishedAt, 1700000000000)
  const stdin = `magnet:?xt=urn:btih:${h(50)}&dn=From+Stdin\n${h(51)}\nmagnet:?xt=urn:btih:nothex\n`
  const s = await bt(['import', '-', '--db', db], { input: stdin })
  assert.is(s.code, 0, s.stderr)
  assert.match(s.stderr, /bt import: stdin:3: not a valid magnet link/)
  assert.match(s.stderr, /2 added, 0 updated, 1 rejected/)
  assert.equal((await bt(['search', 'stdin', '--db', db, '--magnet'])).stdout, `magnet:?xt=urn:btih:${h(50)}&dn=From%20Stdin\n`)
  assert.is(await total(db), 4)
})

test('exit codes: query syntax 2, missing input 2, corrupt or foreign index 4, unreachable PostgreSQL 3; one line each', async () => {
  const db = freshDb()
  await bt(['import', '-', '--db', db, '-q'], { input: '' })
  const one = (r: { stderr: string }) => assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  const syn = await bt(['search', 'foo "bar', '--db', db])
  assert.is(syn.code, 2)
  assert.is(syn.stderr, 'bt: query: unterminated phrase (missing ") at column 5\n')
  const bad = await bt(['search', 'x', '--db', db, '--type', 'podcast'])
  assert.is(bad.code, 2)
  assert.match(bad.stderr, /type: unknown type "podcast"/)
  const missing = await bt(['import', join(dir, 'nope.ndjson'), '--db', db])
  assert.is(missing.code, 2)
  one(missing)
  const corrupt = join(dir, 'corrupt.db')
  writeFileSync(corrupt, 'SQLite format 3\0' + 'garbage'.repeat(1000))
  for (const args of [['search', 'x'], ['import', '-']]) {
    const r = await bt([...args, '--db', corrupt], { input: '' })
    assert.is(r.code, 4, r.stderr)
    one(r)
    assert.match(r.stderr, new RegExp(`^bt: ${corrupt}: not a bt index database`))
  }
  const foreign = join(dir, 'foreign.db')
  const f = new Database(foreign)
  f.exec('CREATE TABLE torrents (x INTEGER); INSERT INTO torrents VALUES (1)')
  f.close()
  const fr = await bt(['import', '-', '--db', foreign], { input: '' })
  assert.is(fr.code, 4)
  assert.match(fr.stderr, /foreign\.db: not a bt index database \(it holds some other application's tables\)/)
  const text = join(dir, 'text.db')
  writeFileSync(text, 'hello')
  const tr = await bt(['search', 'x', '--db', text])
  assert.is(tr.code, 4)
  assert.match(tr.stderr, /text\.db: not a bt index database \(not an SQLite file\)/)
  const pg = await bt(['search', 'x', '--db', 'postgres://nobody:secret@127.0.0.1:1/none'])
  assert.is(pg.code, 3)
  one(pg)
  assert.match(pg.stderr, /cannot use PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: connection refused/)
  const env = await bt(['search', 'x'], { env: { BT_DB: 'postgres://127.0.0.1:1/none' } })
  assert.is(env.code, 3)
  const nodb = await bt(['search', 'x', '--db', join(dir, 'never-made.db')])
  assert.is(nodb.code, 4)
  assert.match(nodb.stderr, /no index yet/)
})

test('a real PostgreSQL through --db and $BT_DB', async () => {
  let server: PgServer | undefined
  try {
    server = await startPostgres()
    const url = await server.createDatabase()
    const r = await bt(['import', '-', '--db', url], { input: ndjson(50, 7) })
    assert.is(r.code, 0, r.stderr)
    assert.match(r.stderr, /50 added, 0 updated, 0 rejected/)
    const s = await bt(['search', 'show number s01e03', '--sort', 'date', '--json'], { env: { BT_DB: url } })
    assert.is(s.code, 0, s.stderr)
    const names = s.stdout.trim().split('\n').map((l) => JSON.parse(l).name)
    assert.equal(names, ['Show 7 Number 43 S01E03 1080p', 'Show 7 Number 23 S01E03 1080p', 'Show 7 Number 3 S01E03 1080p'])
  } finally {
    server?.stop()
  }
})

test('two importers and a reader at once: no "database is locked", everything lands', async () => {
  const db = freshDb()
  await bt(['import', '-', '--db', db, '-q'], { input: '' })
  const a = join(dir, 'c1.ndjson')
  const b = join(dir, 'c2.ndjson')
  writeFileSync(a, ndjson(4000, 1))
  writeFileSync(b, ndjson(4000, 2))
  const importers = [bt(['import', a, '--db', db, '--batch-size', '100']), bt(['import', b, '--db', db, '--batch-size', '100'])]
  const searches: Awaited<ReturnType<typeof bt>>[] = []
  let done = false
  void Promise.all(importers).then(() => (done = true))
  for (let i = 0; i < 20 && !done; i++) searches.push(await bt(['search', 'show number', '--db', db, '--sort', 'date', '--limit', '5']))
  for (const r of [...(await Promise.all(importers)), ...searches]) {
    assert.is(r.code, 0, r.stderr)
    assert.not.match(r.stderr, /locked|busy/i)
  }
  assert.ok(searches.length >= 1)
  assert.is(await total(db), 8000)
})

test('kill -9 during an import loses only the batch in flight; the rerun completes', async () => {
  const db = freshDb()
  const file = join(dir, 'big.ndjson')
  writeFileSync(file, ndjson(20000, 3, 5))
  const child = spawn(process.execPath, [BT, 'import', file, '--db', db, '--batch-size', '500'], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('close', resolve))
  let committed = 0
  try {
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
      try {
        const r = new Database(db, { readonly: true, fileMustExist: true })
        try {
          committed = (r.prepare('SELECT count(*) AS n FROM torrents').get() as { n: number }).n
        } finally {
          r.close()
        }
      } catch {}
      if (committed >= 1000) break
    }
  } finally {
    child.kill('SIGKILL')
    await exited
  }
  assert.ok(committed >= 1000, `import made no progress (${committed})`)
  const after = await total(db)
  assert.ok(after >= committed && after < 20000, `after kill: ${after}`)
  assert.is(after % 500, 0, 'only whole batches are committed')
  const rerun = await bt(['import', file, '--db', db, '--json', '-q'])
  assert.is(rerun.code, 0, rerun.stderr)
  const sum = JSON.parse(rerun.stdout)
  assert.equal([sum.added, sum.updated], [20000 - after, after])
  assert.is(await total(db), 20000)
})

test.run()
