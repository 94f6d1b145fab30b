// The SQLite store's own behaviour: the schema-2 migration of an index made by an older bt (full-text rows rebuilt
// with type words), type words that no name can spell, and bulk mode (several upserts in one transaction that
// another connection sees only once committed).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { tmpDir } from '../helpers/tmp.js'
import { parseQuery } from '../../src/index/query/index.js'
import { SqliteIndex } from '../../src/index/sqlite.js'
import { encodeFiles } from '../../src/index/files.js'

const dir = tmpDir()
const h = (n: number) => n.toString(16).padStart(40, '0')
const names = async (store: SqliteIndex, q: string) => (await store.search(parseQuery(q), { sort: 'date' })).items.map((t) => t.name)

// The first schema as bt wrote it (user_version 1): full-text rows without type words, file words with extensions.
const SCHEMA_1 = `CREATE TABLE torrents (id INTEGER PRIMARY KEY, info_hash BLOB NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
  files INTEGER NOT NULL, added INTEGER NOT NULL, seeders INTEGER, leechers INTEGER, swarm_at INTEGER, flags INTEGER NOT NULL,
  type INTEGER NOT NULL, year INTEGER, res INTEGER, source TEXT, vcodec TEXT, acodec TEXT, langs TEXT, seasons TEXT,
  episodes TEXT, grp TEXT, meta TEXT);
  CREATE UNIQUE INDEX torrents_info_hash ON torrents (info_hash);
  CREATE TABLE files (id INTEGER PRIMARY KEY, list BLOB NOT NULL);
  CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE torrent_sources (torrent INTEGER NOT NULL, source INTEGER NOT NULL, seen INTEGER NOT NULL,
    PRIMARY KEY (torrent, source)) WITHOUT ROWID;
  CREATE VIRTUAL TABLE fts USING fts5(name, files, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
  PRAGMA application_id = ${0x62746978};
  PRAGMA user_version = 1;`

test('an index of schema 1 is migrated: its full text is rebuilt with type words, and nothing is lost', async () => {
  const path = join(dir, 'old.db')
  const db = new Database(path)
  db.exec(SCHEMA_1)
  const row = db.prepare(`INSERT INTO torrents (id, info_hash, name, size, files, added, flags, type) VALUES (?, ?, ?, ?, ?, 0, 0, ?)`)
  const fts = db.prepare('INSERT INTO fts (rowid, name, files) VALUES (?, ?, ?)')
  const files = [{ path: 'Old Album/01 - Sunrise.flac', size: 5 }, { path: 'Old Album/02 - Sunset.flac', size: 6 }]
  row.run(1 * 2 ** 20, Buffer.from(h(1), 'hex'), 'Old Album', 11, 2, 3)
  db.prepare('INSERT INTO files (id, list) VALUES (?, ?)').run(1 * 2 ** 20, encodeFiles('Old Album', files))
  fts.run(1 * 2 ** 20, 'Old Album', '01 sunrise flac 02 sunset')
  row.run(2 * 2 ** 20, Buffer.from(h(2), 'hex'), 'Old Movie 1999', 1, 0, 1)
  fts.run(2 * 2 ** 20, 'Old Movie 1999', '')
  db.close()

  const store = SqliteIndex.open(path)
  try {
    assert.is(await store.count(), 2)
    assert.equal(await names(store, 'old type:music'), ['Old Album'])
    assert.equal(await names(store, 'old type:movie'), ['Old Movie 1999'])
    assert.equal(await names(store, 'type:movie,music'), ['Old Movie 1999', 'Old Album'])
    assert.equal(await names(store, 'sunset'), ['Old Album'])
    assert.equal(await names(store, 'old -type:movie'), ['Old Album'])
    assert.equal((await store.get(h(1)))!.files, files)
    // Schema 3: file types read from the stored file lists (the movie has none: nothing is known of it).
    const f = (await store.search(parseQuery(''), { facets: true })).facets!
    assert.equal(f.fileType, [{ value: 'audio', count: 1 }])
  } finally {
    await store.close()
  }
  const check = new Database(path, { readonly: true })
  assert.is(check.pragma('user_version', { simple: true }), 3)
  check.close()
})

test('type words cannot be spelled by a name, a file path or a query', async () => {
  const store = SqliteIndex.open(join(dir, 'marks.db'))
  try {
    // A name carrying the private-use mark and the spelling of a type word (movie is type 1).
    await store.upsert([
      { infoHash: h(1), name: 'Trick \uE000t1 name', source: 'test', known: { contentType: 'music' }, files: [{ path: 'x/\uE000t1.flac', size: 1 }] },
      { infoHash: h(2), name: 'Trick film', source: 'test', known: { contentType: 'movie' } },
    ])
    assert.equal(await names(store, 'trick type:movie'), ['Trick film'])
    assert.equal(await names(store, 'type:movie'), ['Trick film'])
    assert.equal(await names(store, 't1'), ['Trick \uE000t1 name'])
    assert.equal(await names(store, '"\uE000t1"'), ['Trick \uE000t1 name'])
  } finally {
    await store.close()
  }
})

test('bulk mode: upserts share a transaction that others see once flushed; close commits the rest', async () => {
  const path = join(dir, 'bulk.db')
  const store = SqliteIndex.open(path)
  const other = SqliteIndex.open(path)
  try {
    store.bulk(1000)
    await store.upsert([{ infoHash: h(1), name: 'First batch', source: 'test' }])
    await store.upsert([{ infoHash: h(2), name: 'Second batch', source: 'test' }])
    assert.is(await store.count(), 2)
    assert.is(await other.count(), 0)
    await store.flush()
    assert.is(await other.count(), 2)
    // Past the row limit a batch commits on its own.
    store.bulk(2)
    await store.upsert([{ infoHash: h(3), name: 'Third', source: 'test' }, { infoHash: h(4), name: 'Fourth', source: 'test' }])
    assert.is(await other.count(), 4)
    await store.upsert([{ infoHash: h(5), name: 'Fifth', source: 'test' }])
    assert.is(await other.count(), 4)
    await store.close()
    assert.is(await other.count(), 5)
    assert.equal(await names(other, 'batch'), ['Second batch', 'First batch'])
  } finally {
    await store.close()
    await other.close()
  }
})

test('keys: a second another connection (or an update) used already is found taken, and nothing is overwritten', async () => {
  const path = join(dir, 'keys.db')
  const T = Date.UTC(2024, 0, 1)
  const a = SqliteIndex.open(path)
  const b = SqliteIndex.open(path)
  try {
    // An update allocates a key it then leaves unused: the second's first key stays free, its second is taken.
    await a.upsert([{ infoHash: h(1), name: 'One', source: 'test', publishedAt: T }])
    await a.upsert([{ infoHash: h(1), name: 'One again', source: 'test', publishedAt: T }])
    await a.upsert([{ infoHash: h(2), name: 'Two', source: 'test', publishedAt: T }])
    // b has guessed nothing yet for that second: its guesses collide with a's rows and are corrected.
    await b.upsert([{ infoHash: h(3), name: 'Three', source: 'test', publishedAt: T }, { infoHash: h(4), name: 'Four', source: 'test', publishedAt: T + 500 }])
    await a.upsert([{ infoHash: h(5), name: 'Five', source: 'test', publishedAt: T }])
    assert.is(await a.count(), 5)
    const all = (await a.search(parseQuery(''), { sort: 'date', limit: 10 })).items
    assert.equal(all.map((t) => t.name).sort(), ['Five', 'Four', 'One again', 'Three', 'Two'])
    assert.ok(all.every((t) => t.publishedAt === T))
    for (let i = 1; i <= 5; i++) assert.ok(await a.get(h(i)), `torrent ${i} stored`)
  } finally {
    await a.close()
    await b.close()
  }
})

test.run()
