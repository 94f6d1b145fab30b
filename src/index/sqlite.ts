// The embedded index: SQLite through better-sqlite3, FTS5 over names and file paths, WAL so that readers never wait
// for a writer, a busy timeout so that two writers (a crawler and an import) take turns instead of failing.
// Row keys carry the date: id = published seconds × 2^20 + n, so "newest first" is a backwards walk of the table
// (and of the FTS5 index, which is ordered by the same key) that stops after LIMIT rows; `added:` is a key range.

import { dirname } from 'node:path'
import type Database from 'better-sqlite3'
import { createRequire } from 'node:module'
import { BtError, ExitCode, errorMessage } from '../errors.js'
import { ftsExpression } from './query/compile.js'
import type { Query, Range } from './query/types.js'
import { decodeFiles, filesText, fileTypesOf } from './files.js'
import type { PreparedRecord } from './record.js'
import { FLAG_PARTIAL, rowToTorrent, typeCode, type Row } from './rows.js'
import { filterConditions, Params } from './sql.js'
import { FACET_COLUMNS, FACET_GROUP, facetsFrom, pageOf, type FacetRow } from './search.js'
import type { IndexStore, SearchOptions, SearchResult, StoredTorrent, TorrentRecord, UpsertResult } from './types.js'

/** "btix": marks a database as a bt index (PRAGMA application_id), so a foreign SQLite file is refused, not altered. */
const APPLICATION_ID = 0x62746978
const KEY_SPAN = 2 ** 20
const BUSY_TIMEOUT_MS = 15_000
/** Search statements kept prepared per connection (each holds a little memory in SQLite). */
const MAX_STATEMENTS = 200
const MMAP_BYTES = 256 * 1024 * 1024
/** Page cache sizes (negative: KiB), in general and while a bulk import writes. */
const CACHE_KIB = -32768
const BULK_CACHE_KIB = -16384

/**
 * A torrent's type as a word of its full-text row that no name, path or query can spell (a private-use character,
 * stripped from indexed text): a type filter then narrows the FTS5 walk itself (the doclists intersect, skipping
 * ahead) instead of testing every text match against its row. Common words with a rare type used to walk every
 * match; this makes them 2–4× cheaper, and a type filter alone a walk of that type's rows only.
 */
const TYPE_MARK = '\uE000'
const typeWord = (code: number) => `${TYPE_MARK}t${code}`
/** Types too common for their type word to narrow a search by words (see where()). */
const COMMON_TYPES = new Set(['movie', 'tv_show'])
const unmarked = (s: string) => (s.includes(TYPE_MARK) ? s.replaceAll(TYPE_MARK, ' ') : s)
const FTS_TABLE = `CREATE VIRTUAL TABLE fts USING fts5(name, files, content='', contentless_delete=1,
     tokenize='unicode61 remove_diacritics 2');`

const MIGRATIONS: (string | ((db: Database.Database) => void))[] = [
  // 1: the first schema.
  `CREATE TABLE torrents (
     id INTEGER PRIMARY KEY,
     info_hash BLOB NOT NULL,
     name TEXT NOT NULL,
     size INTEGER NOT NULL,
     files INTEGER NOT NULL,
     added INTEGER NOT NULL,
     seeders INTEGER,
     leechers INTEGER,
     swarm_at INTEGER,
     flags INTEGER NOT NULL,
     type INTEGER NOT NULL,
     year INTEGER,
     res INTEGER,
     source TEXT,
     vcodec TEXT,
     acodec TEXT,
     langs TEXT,
     seasons TEXT,
     episodes TEXT,
     grp TEXT,
     meta TEXT
   );
   CREATE UNIQUE INDEX torrents_info_hash ON torrents (info_hash);
   CREATE TABLE files (id INTEGER PRIMARY KEY, list BLOB NOT NULL);
   CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
   CREATE TABLE torrent_sources (torrent INTEGER NOT NULL, source INTEGER NOT NULL, seen INTEGER NOT NULL,
     PRIMARY KEY (torrent, source)) WITHOUT ROWID;
   ${FTS_TABLE}`,
  // 2: type words in the full-text rows (and file words without extensions and track numbers): rebuilt from the
  // stored names and file lists.
  rebuildFullText,
  // 3: file types per torrent (for the file-type facet), read once from the stored file lists.
  addFileTypes,
]

// By require, not import (issue 8: `bt search` as a whole process): an ESM import of this CommonJS package first runs
// Node's export lexer over its sources (~14 M instructions), and one of node:fs builds its ESM facade, which reads
// every export and so loads fs/promises and the streams stack (~12 M); together 3-4 ms of every `bt search`.
const require = createRequire(import.meta.url)
const SqliteDatabase = require('better-sqlite3') as typeof Database
const { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } = require('node:fs') as typeof import('node:fs')

function addFileTypes(db: Database.Database): void {
  db.exec('ALTER TABLE torrents ADD COLUMN ftypes INTEGER NOT NULL DEFAULT 0')
  const set = db.prepare('UPDATE torrents SET ftypes = ? WHERE id = ?')
  const page = db.prepare<[number], { id: number; name: string; list: Buffer | null }>(
    'SELECT t.id, t.name, f.list FROM torrents t LEFT JOIN files f ON f.id = t.id WHERE t.id > ? ORDER BY t.id LIMIT 1000')
  for (let last = -1; ;) {
    const rows = page.all(last)
    if (rows.length === 0) break
    for (const r of rows) {
      const mask = fileTypesOf(r.name, r.list ? decodeFiles(r.name, r.list) : undefined)
      if (mask) set.run(mask, r.id)
    }
    last = rows[rows.length - 1].id
  }
}

function rebuildFullText(db: Database.Database): void {
  db.exec(`DROP TABLE fts; ${FTS_TABLE}`)
  const insert = db.prepare('INSERT INTO fts (rowid, name, files) VALUES (?, ?, ?)')
  const page = db.prepare<[number], { id: number; name: string; type: number; list: Buffer | null }>(
    'SELECT t.id, t.name, t.type, f.list FROM torrents t LEFT JOIN files f ON f.id = t.id WHERE t.id > ? ORDER BY t.id LIMIT 1000')
  for (let last = -1; ;) {
    const rows = page.all(last)
    if (rows.length === 0) break
    for (const r of rows) {
      const files = r.list ? filesText(r.name, decodeFiles(r.name, r.list)) : ''
      insert.run(r.id, unmarked(r.name), ftsFiles(files, r.type))
    }
    last = rows[rows.length - 1].id
  }
}

/** The files column of a full-text row: the file words, then the type word. */
function ftsFiles(files: string, type: number): string {
  return files ? `${unmarked(files)} ${typeWord(type)}` : typeWord(type)
}

const COLUMNS = `t.info_hash, t.name, t.size, t.files, t.id >> 20 AS published, t.added, t.seeders, t.leechers, t.flags,
  t.type, t.year, t.res, t.source, t.vcodec, t.acodec, t.langs, t.seasons, t.episodes, t.grp, t.meta`

function notAnIndex(path: string, why: string): BtError {
  return new BtError(`${path}: not a bt index database (${why})`, ExitCode.io)
}

/** SQLite's own header, checked before opening so a foreign file is reported rather than half-read. */
function checkHeader(path: string): void {
  if (!existsSync(path)) return
  const st = statSync(path)
  if (st.isDirectory()) throw notAnIndex(path, 'it is a directory')
  if (st.size === 0) return
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(16)
    readSync(fd, head, 0, 16, 0)
    if (head.toString('latin1') !== 'SQLite format 3\0') throw notAnIndex(path, 'not an SQLite file')
  } finally {
    closeSync(fd)
  }
}

export class SqliteIndex implements IndexStore {
  readonly backend = 'sqlite' as const
  readonly location: string
  private readonly db: Database.Database
  private readonly st: ReturnType<SqliteIndex['prepare']>
  private readonly sourceIds = new Map<string, number>()
  private keyCache = new Map<number, number>()
  /** Loaded on the first write: it brings the classifier, which a search does not need. */
  private R?: typeof import('./record.js')
  /** PRAGMA data_version after our last write: unchanged means no other process wrote, so keyCache still holds. */
  private dataVersion = -1
  /** Bulk mode: records per shared transaction, and what the open one holds. */
  private bulkRows = 0
  private held = 0
  private heldSince = 0
  /** Whether this connection wrote (close then runs PRAGMA optimize; a search alone skips it). */
  private wrote = false
  /**
   * Search statements by SQL text: a search's SQL depends only on the query's shape (values are bound), and
   * preparing it again on every call was a good part of a cheap search's CPU. Bounded; oldest out first.
   */
  private readonly statements = new Map<string, Database.Statement>()

  private constructor(path: string, db: Database.Database) {
    this.location = path
    this.db = db
    this.st = this.prepare()
  }

  static open(path: string, options: { readonly?: boolean } = {}): SqliteIndex {
    try {
      mkdirSync(dirname(path), { recursive: true })
    } catch (err) {
      throw new BtError(`${dirname(path)}: ${errorMessage(err)}`, ExitCode.io)
    }
    checkHeader(path)
    let db: Database.Database
    try {
      db = new SqliteDatabase(path, { timeout: BUSY_TIMEOUT_MS, fileMustExist: Boolean(options.readonly) })
    } catch (err) {
      throw new BtError(`${path}: ${errorMessage(err)}`, ExitCode.io)
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
      db.pragma('journal_mode = WAL')
      // NORMAL in WAL mode: a commit survives a killed process (only an OS crash may lose the last ones).
      db.pragma('synchronous = NORMAL')
      db.pragma(`cache_size = ${CACHE_KIB}`) // 32 MiB: most of the info-hash index of a million torrents
      db.pragma('temp_store = MEMORY')
      migrate(db, path)
      // Reads through a memory map: a new `bt search` process starts with an empty page cache, and a common word
      // touches thousands of pages; mapped, each is a page fault on the OS cache instead of a read() and a copy.
      // (Set after a migration, which reads every row once and should not keep them all mapped.)
      db.pragma(`mmap_size = ${MMAP_BYTES}`)
      return new SqliteIndex(path, db)
    } catch (err) {
      db.close()
      if (err instanceof BtError) throw err
      const code = (err as { code?: string }).code ?? ''
      if (/NOTADB|CORRUPT/.test(code)) throw notAnIndex(path, errorMessage(err))
      if (/READONLY|CANTOPEN|PERM|IOERR|FULL/.test(code)) throw new BtError(`${path}: ${errorMessage(err)}`, ExitCode.io)
      throw err
    }
  }

  private prepare() {
    const db = this.db
    return {
      existing: db.prepare<[Buffer], { id: number; flags: number }>('SELECT id, flags FROM torrents WHERE info_hash = ?'),
      has: db.prepare<[Buffer], { info_hash: Buffer }>('SELECT info_hash FROM torrents WHERE info_hash = ?'),
      maxKey: db.prepare<[number, number], { m: number | null }>('SELECT max(id) AS m FROM torrents WHERE id BETWEEN ? AND ?'),
      // A hash already stored inserts nothing (changes = 0): one probe of the info-hash index for a new torrent
      // instead of a lookup and then an insert.
      insert: db.prepare(`INSERT INTO torrents (id, info_hash, name, size, files, added, seeders, leechers, flags, type, year, res,
        source, vcodec, acodec, langs, seasons, episodes, grp, meta, ftypes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (info_hash) DO NOTHING`),
      firstSeen: db.prepare('INSERT INTO torrent_sources (torrent, source, seen) VALUES (?, ?, ?)'),
      update: db.prepare(`UPDATE torrents SET name = ?, size = ?, files = ?, seeders = coalesce(?, seeders),
        leechers = coalesce(?, leechers), flags = ?, type = ?, year = ?, res = ?, source = ?, vcodec = ?, acodec = ?, langs = ?,
        seasons = ?, episodes = ?, grp = ?, meta = ?, ftypes = ? WHERE id = ?`),
      swarmOnly: db.prepare('UPDATE torrents SET seeders = coalesce(?, seeders), leechers = coalesce(?, leechers) WHERE id = ?'),
      filesOf: db.prepare<[number], { list: Buffer }>('SELECT list FROM files WHERE id = ?'),
      putFiles: db.prepare('INSERT OR REPLACE INTO files (id, list) VALUES (?, ?)'),
      dropFiles: db.prepare('DELETE FROM files WHERE id = ?'),
      ftsInsert: db.prepare('INSERT INTO fts (rowid, name, files) VALUES (?, ?, ?)'),
      ftsDelete: db.prepare('DELETE FROM fts WHERE rowid = ?'),
      sourceId: db.prepare<[string], { id: number }>('SELECT id FROM sources WHERE name = ?'),
      addSource: db.prepare('INSERT OR IGNORE INTO sources (name) VALUES (?)'),
      seen: db.prepare(`INSERT INTO torrent_sources (torrent, source, seen) VALUES (?, ?, ?)
        ON CONFLICT (torrent, source) DO UPDATE SET seen = excluded.seen`),
      swarm: db.prepare('UPDATE torrents SET seeders = ?, leechers = ?, swarm_at = ? WHERE info_hash = ?'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM torrents'),
      get: db.prepare<[Buffer], Row & { id: number }>(`SELECT t.id, ${COLUMNS} FROM torrents t WHERE t.info_hash = ?`),
      sourcesOf: db.prepare<[number], { name: string; seen: number }>(
        'SELECT s.name, ts.seen FROM torrent_sources ts JOIN sources s ON s.id = ts.source WHERE ts.torrent = ? ORDER BY ts.seen DESC'),
    }
  }

  /**
   * A key for a torrent published at `sec` (the next second's keys if that second is full). A second this
   * connection has not used yet gets its first key without asking the table (`guess`): most torrents of an import
   * have a second of their own, and the max() query per torrent was a tenth of the writer's time. A guess that is
   * taken fails the insert on the primary key, and insertRow() then asks (`guess` false).
   */
  private allocateKey(sec: number, guess = true): number {
    for (let s = sec; ; s++) {
      let next = this.keyCache.get(s)
      if (next === undefined) {
        if (guess) next = s * KEY_SPAN
        else {
          const m = this.st.maxKey.get(s * KEY_SPAN, (s + 1) * KEY_SPAN - 1)!.m
          next = m === null ? s * KEY_SPAN : m + 1
        }
      }
      if (next < (s + 1) * KEY_SPAN) {
        this.keyCache.set(s, next + 1)
        return next
      }
    }
  }

  /** Insert a new torrent's row: its key, or undefined when the info hash is stored already. */
  private insertRow(p: PreparedRecord, now: number): number | undefined {
    const row = (id: number) => this.st.insert.run(id, p.hash, p.name, p.size, p.fileCount, now, p.seeders, p.leechers, p.flags,
      p.type, p.year, p.res, p.source, p.vcodec, p.acodec, p.langs, p.seasons, p.episodes, p.grp, p.meta, p.ftypes).changes === 1
    let id = this.allocateKey(p.published)
    try {
      return row(id) ? id : undefined
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err
    }
    // The guessed key was taken: forget what was guessed for that second and ask the table.
    this.keyCache.delete(Math.floor(id / KEY_SPAN))
    id = this.allocateKey(p.published, false)
    return row(id) ? id : undefined
  }

  private sourceId(name: string): number {
    let id = this.sourceIds.get(name)
    if (id === undefined) {
      this.st.addSource.run(name)
      id = this.st.sourceId.get(name)!.id
      this.sourceIds.set(name, id)
    }
    return id
  }

  private upsertOne(rec: TorrentRecord, p: PreparedRecord, now: number, result: UpsertResult): void {
    const st = this.st
    const id = this.insertRow(p, now)
    if (id !== undefined) {
      if (p.filesBlob) st.putFiles.run(id, p.filesBlob)
      const text = this.R!.fullTextOf(p)
      st.ftsInsert.run(id, unmarked(text.name), ftsFiles(text.files, p.type))
      st.firstSeen.run(id, this.sourceId(p.origin), now)
      result.added++
      return
    }
    // Stored already (the key allocated for it stays unused: a gap in the keys of that second is harmless).
    const old = st.existing.get(p.hash)!
    result.updated++
    st.seen.run(old.id, this.sourceId(p.origin), now)
    // A bare magnet link says less than what is stored: it only adds a sighting (and swarm counts).
    if ((p.flags & FLAG_PARTIAL) !== 0 && (old.flags & FLAG_PARTIAL) === 0) {
      st.swarmOnly.run(p.seeders, p.leechers, old.id)
      return
    }
    if (p.files === undefined) {
      const blob = st.filesOf.get(old.id)
      if (blob) p = this.R!.withFiles(p, decodeFiles(p.name, blob.list), rec)
    }
    st.update.run(p.name, p.size, p.fileCount, p.seeders, p.leechers, p.flags, p.type, p.year, p.res, p.source, p.vcodec,
      p.acodec, p.langs, p.seasons, p.episodes, p.grp, p.meta, p.ftypes, old.id)
    if (p.filesBlob) st.putFiles.run(old.id, p.filesBlob)
    else st.dropFiles.run(old.id)
    const text = this.R!.fullTextOf(p)
    st.ftsDelete.run(old.id)
    st.ftsInsert.run(old.id, unmarked(text.name), ftsFiles(text.files, p.type))
  }

  async upsert(records: readonly TorrentRecord[]): Promise<UpsertResult> {
    const now = Math.floor(Date.now() / 1000)
    const result: UpsertResult = { added: 0, updated: 0 }
    this.R ??= await import('./record.js')
    const prepared = this.R.prepareAll(records, result)
    this.wrote = true
    const write = () => {
      for (let i = 0; i < records.length; i++) if (prepared[i]) this.upsertOne(records[i], prepared[i]!, now, result)
    }
    if (this.bulkRows > 0) {
      if (!this.db.inTransaction) this.begin()
      try {
        write()
      } catch (err) {
        // A failed statement leaves the shared transaction half-written: drop it whole, as a single upsert would.
        if (this.db.inTransaction) this.db.exec('ROLLBACK')
        this.held = 0
        throw err
      }
      this.held += records.length
      // Bounded in rows (memory, and how long a crawler waits for the lock) and in time (how much a kill loses).
      if (this.held >= this.bulkRows || Date.now() - this.heldSince > 2000) this.commit()
      return result
    }
    const run = this.db.transaction(() => {
      this.checkVersion()
      write()
    })
    run.immediate()
    this.dataVersion = this.db.pragma('data_version', { simple: true }) as number
    return result
  }

  /** Another process may have written since our last batch: then the cached free keys may be taken. */
  private checkVersion(): void {
    const version = this.db.pragma('data_version', { simple: true }) as number
    // Bounded: an import with dates spread over years leaves one entry per second it saw, most never used again.
    if (version !== this.dataVersion || this.keyCache.size > 20_000) this.keyCache = new Map()
  }

  private begin(): void {
    this.db.exec('BEGIN IMMEDIATE')
    this.checkVersion()
    this.held = 0
    this.heldSince = Date.now()
  }

  private commit(): void {
    if (!this.db.inTransaction) return
    this.db.exec('COMMIT')
    this.held = 0
    this.dataVersion = this.db.pragma('data_version', { simple: true }) as number
  }

  bulk(rows: number): void {
    this.bulkRows = Math.max(0, Math.floor(rows))
    if (this.bulkRows === 0) this.commit()
    // A bulk import reads back little: no map and a smaller page cache, so that its RSS stays under 200 MiB at a
    // million torrents (the pages it touches would count; the info-hash lookups miss a little more often).
    this.db.pragma(`mmap_size = ${this.bulkRows > 0 ? 0 : MMAP_BYTES}`)
    this.db.pragma(`cache_size = ${this.bulkRows > 0 ? BULK_CACHE_KIB : CACHE_KIB}`)
  }

  async flush(): Promise<void> {
    this.commit()
  }

  async has(infoHashes: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>()
    for (const h of infoHashes) {
      if (!/^[0-9a-fA-F]{40}$/.test(h)) continue
      if (this.st.has.get(Buffer.from(h, 'hex'))) out.add(h.toLowerCase())
    }
    return out
  }

  async updateSwarm(infoHash: string, seeders: number, leechers: number): Promise<void> {
    if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) return
    this.wrote = true
    this.st.swarm.run(Math.max(0, Math.floor(seeders)), Math.max(0, Math.floor(leechers)), Math.floor(Date.now() / 1000), Buffer.from(infoHash, 'hex'))
  }

  async count(): Promise<number> {
    return this.st.count.get()!.n
  }

  async get(infoHash: string): Promise<StoredTorrent | undefined> {
    if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) return undefined
    const row = this.st.get.get(Buffer.from(infoHash, 'hex'))
    if (!row) return undefined
    const t = rowToTorrent(row)
    const blob = this.st.filesOf.get(row.id)
    t.files = blob ? decodeFiles(t.name, blob.list) : []
    t.sources = this.st.sourcesOf.all(row.id).map((s) => ({ source: s.name, seenAt: s.seen * 1000 }))
    return t
  }

  /** A prepared statement for `sql`, from the cache (see `statements`). */
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql)
    if (st) {
      // Most recently used last, so the first key is the one to drop.
      this.statements.delete(sql)
      this.statements.set(sql, st)
      return st
    }
    st = this.db.prepare(sql)
    if (this.statements.size >= MAX_STATEMENTS) this.statements.delete(this.statements.keys().next().value!)
    this.statements.set(sql, st)
    return st
  }

  /** FROM and WHERE of a search, with its parameters; `ranked` adds the bm25 score. */
  private where(query: Query, ranked: boolean): { from: string; where: string; params: unknown[]; text: boolean; fts: boolean; score: string } {
    const b = new Params('sqlite')
    const { include, exclude } = ftsExpression(query.terms)
    // Wanted types go into the MATCH as type words (see typeWord), unless words are given and a common type is
    // wanted: intersecting a few rare words with a doclist of every second torrent costs more (9 ms against 3 at
    // a million torrents) than checking the rows they match. Unwanted types stay a condition on the row.
    const types = query.filters.types
    const useTypeWords = types?.any?.length && !(query.terms.some((t) => !t.negated) && types.any.some((t) => COMMON_TYPES.has(t)))
    const typeMatch = useTypeWords ? `(${types!.any!.map((t) => `"${typeWord(typeCode(t))}"`).join(' OR ')})` : undefined
    const filters = typeMatch ? { ...query.filters, types: types!.none ? { none: types!.none } : undefined } : query.filters
    const match = include && typeMatch ? `${include} AND ${typeMatch}` : include ?? typeMatch
    const conds: string[] = []
    let from = 'torrents t'
    if (match) {
      from = 'fts CROSS JOIN torrents t ON t.id = fts.rowid'
      conds.push(`fts MATCH ${b.p(exclude ? `(${match}) NOT (${exclude})` : match)}`)
    } else if (exclude) {
      conds.push(`t.id NOT IN (SELECT rowid FROM fts WHERE fts MATCH ${b.p(exclude)})`)
    }
    conds.push(...filterConditions(b, filters, (r: Range, out: string[]) => {
      if (r.min !== undefined) out.push(`t.id >= ${b.p(Math.ceil(r.min / 1000) * KEY_SPAN)}`)
      if (r.max !== undefined) out.push(`t.id <= ${b.p((Math.floor(r.max / 1000) + 1) * KEY_SPAN - 1)}`)
    }))
    return {
      from, where: conds.length ? conds.join(' AND ') : '1', params: b.values, text: Boolean(include), fts: Boolean(match),
      score: ranked && include ? ', bm25(fts, 10.0, 1.0) AS score' : '',
    }
  }

  async search(query: Query, options: SearchOptions = {}): Promise<SearchResult> {
    const { limit, offset, sort } = pageOf(query, options)
    const w = this.where(query, sort === 'relevance')
    const key = w.fts ? 'fts.rowid' : 't.id'
    const order = {
      relevance: w.text ? `score, ${key} DESC` : `${key} DESC`,
      date: `${key} DESC`,
      size: `t.size DESC, ${key} DESC`,
      seeders: `t.seeders DESC NULLS LAST, ${key} DESC`,
      name: `t.name COLLATE NOCASE, ${key} DESC`,
    }[sort]
    // limit 0: counts and facets only (the HTTP APIs ask for them apart from pages).
    const rows = limit === 0 ? [] : this.statement(`SELECT ${COLUMNS}${w.score} FROM ${w.from} WHERE ${w.where} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...w.params, limit, offset) as Row[]
    const result: SearchResult = { items: rows.map(rowToTorrent) }
    const cap = Number.isInteger(options.countLimit) && options.countLimit! > 0 ? options.countLimit! : undefined
    if (options.facets) {
      // One pass: the matches grouped by every facet column at once; their sum is the count. With a cap, the first
      // `cap` matches; only when they fill it, a second walk (not grouped) says whether there are more.
      const sql = cap
        ? `SELECT *, count(*) AS n FROM (SELECT ${FACET_COLUMNS('t')} FROM ${w.from} WHERE ${w.where} LIMIT ?) GROUP BY ${FACET_GROUP}`
        : `SELECT ${FACET_COLUMNS('t')}, count(*) AS n FROM ${w.from} WHERE ${w.where} GROUP BY ${FACET_GROUP}`
      const { facets, total } = facetsFrom(this.statement(sql).all(...w.params, ...(cap ? [cap] : [])) as FacetRow[])
      result.facets = facets
      result.total = total
      if (cap && total === cap && this.statement(`SELECT 1 FROM ${w.from} WHERE ${w.where} LIMIT 1 OFFSET ?`).get(...w.params, cap)) result.totalIsEstimate = true
    } else if (options.count) {
      const n = (this.statement(`SELECT count(*) AS n FROM ${cap ? `(SELECT 1 FROM ${w.from} WHERE ${w.where} LIMIT ?)` : `${w.from} WHERE ${w.where}`}`).get(...w.params, ...(cap ? [cap + 1] : [])) as { n: number }).n
      result.total = cap && n > cap ? cap : n
      if (cap && n > cap) result.totalIsEstimate = true
    }
    return result
  }

  /** Bytes the database files take (main file and WAL), for the bench. */
  sizeOnDisk(): number {
    const size = (p: string) => (existsSync(p) ? statSync(p).size : 0)
    return size(this.location) + size(this.location + '-wal')
  }

  /** Fold the WAL into the main file (the bench measures settled sizes). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)')
  }

  async close(): Promise<void> {
    if (!this.db.open) return
    this.commit()
    try {
      // Unmapped first: optimize may read whole tables, and mapped pages it touches count in the RSS (a million
      // torrent import peaked at 317 MiB in its last second this way, against under 200 before).
      if (this.wrote) {
        this.db.pragma('mmap_size = 0')
        this.db.pragma('optimize')
      }
    } catch {}
    this.db.close()
  }
}

function migrate(db: Database.Database, path: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number
  const version = db.pragma('user_version', { simple: true }) as number
  if (appId !== APPLICATION_ID) {
    const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n
    if (tables > 0 || version !== 0) throw notAnIndex(path, 'it holds some other application\'s tables')
  }
  if (version > MIGRATIONS.length) {
    throw new BtError(`${path}: made by a newer bt (index schema ${version}, this bt knows ${MIGRATIONS.length})`, ExitCode.io)
  }
  if (version === MIGRATIONS.length) return
  // Two processes opening a new index at once: the second waits for the first's transaction, then sees its version.
  db.transaction(() => {
    const v = db.pragma('user_version', { simple: true }) as number
    for (let i = v; i < MIGRATIONS.length; i++) {
      const m = MIGRATIONS[i]
      if (typeof m === 'string') db.exec(m)
      else m(db)
    }
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma(`user_version = ${MIGRATIONS.length}`)
  }).immediate()
}
