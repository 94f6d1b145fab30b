// The shared index: PostgreSQL through `pg`, for several machines (crawlers, servers) writing and reading one index.
// Same rows and filter columns as the SQLite store; full text is a tsvector built here from the same tokens FTS5
// sees (cast from a literal, so no PostgreSQL parser or dictionary can disagree with the query side), under GIN.
// Tables are prefixed bt_ so the index can live in a database that holds other things (bitmagnet's, say).

import pg from 'pg'
import { BtError, ExitCode, errorMessage, systemText } from '../errors.js'
import { tsQueryExpression } from './query/compile.js'
import { tokenize } from './query/text.js'
import type { Query, Range } from './query/types.js'
import { decodeFiles, filesText, fileTypesOf } from './files.js'
import type { PreparedRecord } from './record.js'
import { FLAG_PARTIAL, rowToTorrent, type Row } from './rows.js'
import { filterConditions, Params } from './sql.js'
import { FACET_COLUMNS, FACET_GROUP, facetsFrom, pageOf, type FacetRow } from './search.js'
import type { IndexStore, SearchOptions, SearchResult, StoredTorrent, TorrentRecord, UpsertResult } from './types.js'

const MIGRATIONS: (string | ((c: pg.PoolClient) => Promise<void>))[] = [
  `CREATE TABLE bt_torrents (
     id bigserial PRIMARY KEY,
     info_hash bytea NOT NULL UNIQUE,
     name text NOT NULL,
     size bigint NOT NULL,
     files integer NOT NULL,
     published bigint NOT NULL,
     added bigint NOT NULL,
     seeders integer,
     leechers integer,
     swarm_at bigint,
     flags smallint NOT NULL,
     type smallint NOT NULL,
     year smallint,
     res smallint,
     source text,
     vcodec text,
     acodec text,
     langs text,
     seasons text,
     episodes text,
     grp text,
     meta text,
     tsv tsvector NOT NULL
   );
   CREATE INDEX bt_torrents_tsv ON bt_torrents USING gin (tsv);
   CREATE INDEX bt_torrents_published ON bt_torrents (published DESC, id DESC);
   CREATE TABLE bt_files (torrent bigint PRIMARY KEY REFERENCES bt_torrents (id) ON DELETE CASCADE, list bytea NOT NULL);
   CREATE TABLE bt_sources (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
   CREATE TABLE bt_torrent_sources (torrent bigint NOT NULL REFERENCES bt_torrents (id) ON DELETE CASCADE,
     source integer NOT NULL REFERENCES bt_sources (id), seen bigint NOT NULL, PRIMARY KEY (torrent, source));`,
  // 2: file types per torrent (for the file-type facet), read once from the stored file lists.
  addFileTypes,
]

async function addFileTypes(c: pg.PoolClient): Promise<void> {
  await c.query('ALTER TABLE bt_torrents ADD COLUMN ftypes smallint NOT NULL DEFAULT 0')
  for (let last = 0; ;) {
    const r = await c.query<{ id: string; name: string; list: Buffer | null }>(
      'SELECT t.id, t.name, f.list FROM bt_torrents t LEFT JOIN bt_files f ON f.torrent = t.id WHERE t.id > $1 ORDER BY t.id LIMIT 1000', [last])
    if (r.rows.length === 0) break
    const ids: string[] = []
    const masks: number[] = []
    for (const row of r.rows) {
      const mask = fileTypesOf(row.name, row.list ? decodeFiles(row.name, row.list) : undefined)
      if (mask) (ids.push(row.id), masks.push(mask))
    }
    if (ids.length) await c.query('UPDATE bt_torrents t SET ftypes = x.m FROM unnest($1::bigint[], $2::smallint[]) AS x(i, m) WHERE t.id = x.i', [ids, masks])
    last = Number(r.rows[r.rows.length - 1].id)
  }
}

const MIGRATION_LOCK = 0x62746978 // "btix", for pg_advisory_xact_lock

const COLUMNS = `t.info_hash, t.name, t.size, t.files, t.published, t.added, t.seeders, t.leechers, t.flags, t.type, t.year,
  t.res, t.source, t.vcodec, t.acodec, t.langs, t.seasons, t.episodes, t.grp, t.meta`

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://…'
  }
}

/** A tsvector literal: name words weighted A, file words after them (weight D). Tokens are letters and digits only. */
export function tsvectorLiteral(name: string, files: string): string {
  const positions = new Map<string, string[]>()
  let pos = 0
  const add = (tokens: string[], weight: string) => {
    for (const tok of tokens) {
      pos = Math.min(pos + 1, 16383)
      if (tok.length > 200) continue
      const list = positions.get(tok)
      if (!list) positions.set(tok, [pos + weight])
      else if (list.length < 255) list.push(pos + weight)
    }
  }
  add(tokenize(name), 'A')
  add(files ? files.split(' ') : [], '')
  let out = ''
  for (const [tok, list] of positions) out += `${out ? ' ' : ''}'${tok}':${list.join(',')}`
  return out
}

function connectError(url: string, err: unknown): BtError {
  return new BtError(`cannot use PostgreSQL at ${redactUrl(url)}: ${systemText(err)}`, ExitCode.network)
}

export class PostgresIndex implements IndexStore {
  readonly backend = 'postgres' as const
  readonly location: string
  private readonly pool: pg.Pool
  private readonly sourceIds = new Map<string, number>()
  /** Loaded on the first write: it brings the classifier, which a search does not need. */
  private R?: typeof import('./record.js')

  private constructor(url: string, pool: pg.Pool) {
    this.location = redactUrl(url)
    this.pool = pool
  }

  static async open(url: string): Promise<PostgresIndex> {
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10_000 })
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    pool.on('error', () => {})
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (err) {
      await pool.end().catch(() => {})
      throw connectError(url, err)
    }
    try {
      await migrate(client, url)
    } catch (err) {
      client.release()
      await pool.end().catch(() => {})
      if (err instanceof BtError) throw err
      throw new BtError(`PostgreSQL at ${redactUrl(url)}: ${errorMessage(err)}`, ExitCode.network)
    }
    client.release()
    return new PostgresIndex(url, pool)
  }

  private async sourceId(c: pg.PoolClient, name: string): Promise<number> {
    let id = this.sourceIds.get(name)
    if (id === undefined) {
      const r = await c.query<{ id: number }>(
        `WITH ins AS (INSERT INTO bt_sources (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id)
         SELECT id FROM ins UNION ALL SELECT id FROM bt_sources WHERE name = $1`, [name])
      id = r.rows[0].id
      this.sourceIds.set(name, id)
    }
    return id
  }

  async upsert(records: readonly TorrentRecord[]): Promise<UpsertResult> {
    const now = Math.floor(Date.now() / 1000)
    // The last record of a hash in one batch wins (one statement cannot touch a row twice).
    const result: UpsertResult = { added: 0, updated: 0 }
    const R = (this.R ??= await import('./record.js'))
    const prepared = R.prepareAll(records, result)
    const byHash = new Map<string, { rec: TorrentRecord; p: PreparedRecord }>()
    records.forEach((rec, i) => {
      const p = prepared[i]
      if (p) byHash.set(p.infoHash, { rec, p })
    })
    if (byHash.size === 0) return result
    const c = await this.pool.connect()
    try {
      await c.query('BEGIN')
      const hashes = [...byHash.values()].map((x) => x.p.hash)
      const old = await c.query<{ info_hash: Buffer; flags: number; list: Buffer | null }>(
        `SELECT t.info_hash, t.flags, f.list FROM bt_torrents t LEFT JOIN bt_files f ON f.torrent = t.id WHERE t.info_hash = ANY($1)`, [hashes])
      const existing = new Map(old.rows.map((r) => [r.info_hash.toString('hex'), r]))
      const rows: PreparedRecord[] = []
      const swarmOnly: PreparedRecord[] = []
      for (const { rec, p: p0 } of byHash.values()) {
        let p = p0
        const o = existing.get(p.infoHash)
        if (o) {
          if ((p.flags & FLAG_PARTIAL) !== 0 && (o.flags & FLAG_PARTIAL) === 0) {
            swarmOnly.push(p)
            continue
          }
          if (p.files === undefined && o.list) p = R.withFiles(p, decodeFiles(p.name, o.list), rec)
        }
        rows.push(p)
      }
      const col = <T>(f: (p: PreparedRecord) => T) => rows.map(f)
      const ids = new Map<string, number>()
      if (rows.length) {
        const r = await c.query<{ id: string; info_hash: Buffer; inserted: boolean }>(
          `INSERT INTO bt_torrents (info_hash, name, size, files, published, added, seeders, leechers, flags, type, year, res,
             source, vcodec, acodec, langs, seasons, episodes, grp, meta, tsv, ftypes)
           SELECT h, n, s, fc, pub, $21::bigint, se, le, fl, ty, yr, rs, src, vc, ac, la, sea, ep, gr, me, tv::tsvector, ft
           FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::int[], $5::bigint[], $6::int[], $7::int[], $8::smallint[],
             $9::smallint[], $10::smallint[], $11::smallint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
             $17::text[], $18::text[], $19::text[], $20::text[], $22::smallint[])
             AS x(h, n, s, fc, pub, se, le, fl, ty, yr, rs, src, vc, ac, la, sea, ep, gr, me, tv, ft)
           ON CONFLICT (info_hash) DO UPDATE SET name = excluded.name, size = excluded.size, files = excluded.files,
             seeders = coalesce(excluded.seeders, bt_torrents.seeders), leechers = coalesce(excluded.leechers, bt_torrents.leechers),
             flags = excluded.flags, type = excluded.type, year = excluded.year, res = excluded.res, source = excluded.source,
             vcodec = excluded.vcodec, acodec = excluded.acodec, langs = excluded.langs, seasons = excluded.seasons,
             episodes = excluded.episodes, grp = excluded.grp, meta = excluded.meta, tsv = excluded.tsv, ftypes = excluded.ftypes
           RETURNING id, info_hash, (xmax = 0) AS inserted`,
          [col((p) => p.hash), col((p) => p.name), col((p) => p.size), col((p) => p.fileCount), col((p) => p.published),
            col((p) => p.seeders), col((p) => p.leechers), col((p) => p.flags), col((p) => p.type), col((p) => p.year),
            col((p) => p.res), col((p) => p.source), col((p) => p.vcodec), col((p) => p.acodec), col((p) => p.langs),
            col((p) => p.seasons), col((p) => p.episodes), col((p) => p.grp), col((p) => p.meta),
            col((p) => tsvectorLiteral(p.name, p.filesWords)), now, col((p) => p.ftypes)])
        for (const x of r.rows) {
          ids.set(x.info_hash.toString('hex'), Number(x.id))
          if (x.inserted) result.added++
          else result.updated++
        }
        const withList = rows.filter((p) => p.filesBlob)
        if (withList.length) {
          await c.query(
            `INSERT INTO bt_files (torrent, list) SELECT * FROM unnest($1::bigint[], $2::bytea[])
             ON CONFLICT (torrent) DO UPDATE SET list = excluded.list`,
            [withList.map((p) => ids.get(p.infoHash)), withList.map((p) => p.filesBlob)])
        }
        const noList = rows.filter((p) => !p.filesBlob && existing.has(p.infoHash))
        if (noList.length) await c.query('DELETE FROM bt_files WHERE torrent = ANY($1::bigint[])', [noList.map((p) => ids.get(p.infoHash))])
      }
      for (const p of swarmOnly) {
        const r = await c.query<{ id: string }>(
          'UPDATE bt_torrents SET seeders = coalesce($1, seeders), leechers = coalesce($2, leechers) WHERE info_hash = $3 RETURNING id',
          [p.seeders, p.leechers, p.hash])
        ids.set(p.infoHash, Number(r.rows[0].id))
        result.updated++
      }
      const all = [...byHash.values()].map((x) => x.p)
      const srcIds: number[] = []
      for (const p of all) srcIds.push(await this.sourceId(c, p.origin))
      await c.query(
        `INSERT INTO bt_torrent_sources (torrent, source, seen) SELECT t, s, $3::bigint FROM unnest($1::bigint[], $2::int[]) AS x(t, s)
         ON CONFLICT (torrent, source) DO UPDATE SET seen = excluded.seen`,
        [all.map((p) => ids.get(p.infoHash)), srcIds, now])
      await c.query('COMMIT')
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      c.release()
    }
    return result
  }

  async has(infoHashes: readonly string[]): Promise<Set<string>> {
    const hashes = infoHashes.filter((h) => /^[0-9a-fA-F]{40}$/.test(h)).map((h) => Buffer.from(h, 'hex'))
    if (hashes.length === 0) return new Set()
    const r = await this.pool.query<{ info_hash: Buffer }>('SELECT info_hash FROM bt_torrents WHERE info_hash = ANY($1)', [hashes])
    return new Set(r.rows.map((x) => x.info_hash.toString('hex')))
  }

  async updateSwarm(infoHash: string, seeders: number, leechers: number): Promise<void> {
    if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) return
    await this.pool.query('UPDATE bt_torrents SET seeders = $1, leechers = $2, swarm_at = $3 WHERE info_hash = $4',
      [Math.max(0, Math.floor(seeders)), Math.max(0, Math.floor(leechers)), Math.floor(Date.now() / 1000), Buffer.from(infoHash, 'hex')])
  }

  async count(): Promise<number> {
    const r = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM bt_torrents')
    return Number(r.rows[0].n)
  }

  async get(infoHash: string): Promise<StoredTorrent | undefined> {
    if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) return undefined
    const r = await this.pool.query<Row & { id: string; list: Buffer | null }>(
      `SELECT t.id, ${COLUMNS}, f.list FROM bt_torrents t LEFT JOIN bt_files f ON f.torrent = t.id WHERE t.info_hash = $1`,
      [Buffer.from(infoHash, 'hex')])
    const row = r.rows[0]
    if (!row) return undefined
    const t = rowToTorrent(row)
    t.files = row.list ? decodeFiles(t.name, row.list) : []
    const s = await this.pool.query<{ name: string; seen: string }>(
      'SELECT s.name, ts.seen FROM bt_torrent_sources ts JOIN bt_sources s ON s.id = ts.source WHERE ts.torrent = $1 ORDER BY ts.seen DESC', [row.id])
    t.sources = s.rows.map((x) => ({ source: x.name, seenAt: Number(x.seen) * 1000 }))
    return t
  }

  private where(query: Query): { where: string; params: unknown[]; text: boolean; rank: string } {
    const b = new Params('pg')
    const { include, exclude } = tsQueryExpression(query.terms)
    const conds: string[] = []
    let rank = ''
    if (include) {
      const q = b.p(exclude ? `(${include}) & !(${exclude})` : include)
      conds.push(`t.tsv @@ ${q}::tsquery`)
      rank = `ts_rank(t.tsv, ${q}::tsquery)`
    } else if (exclude) {
      conds.push(`NOT (t.tsv @@ ${b.p(exclude)}::tsquery)`)
    }
    conds.push(...filterConditions(b, query.filters, (r: Range, out: string[]) => {
      if (r.min !== undefined) out.push(`t.published >= ${b.p(Math.ceil(r.min / 1000))}`)
      if (r.max !== undefined) out.push(`t.published <= ${b.p(Math.floor(r.max / 1000))}`)
    }))
    return { where: conds.length ? conds.join(' AND ') : 'true', params: b.values, text: Boolean(include), rank }
  }

  async search(query: Query, options: SearchOptions = {}): Promise<SearchResult> {
    const { limit, offset, sort } = pageOf(query, options)
    const w = this.where(query)
    const order = {
      relevance: w.text ? `${w.rank} DESC, t.published DESC, t.id DESC` : 't.published DESC, t.id DESC',
      date: 't.published DESC, t.id DESC',
      size: 't.size DESC, t.published DESC, t.id DESC',
      seeders: 't.seeders DESC NULLS LAST, t.published DESC, t.id DESC',
      name: 'lower(t.name), t.published DESC, t.id DESC',
    }[sort]
    const r = limit === 0 ? { rows: [] } : await this.pool.query<Row>(`SELECT ${COLUMNS} FROM bt_torrents t WHERE ${w.where} ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`, w.params)
    const result: SearchResult = { items: r.rows.map(rowToTorrent) }
    const cap = Number.isInteger(options.countLimit) && options.countLimit! > 0 ? options.countLimit! : undefined
    if (options.facets) {
      // One pass: the matches grouped by every facet column at once; their sum is the count. With a cap, the first
      // `cap` matches; only when they fill it, a second walk (not grouped) says whether there are more.
      const sql = `SELECT *, count(*) AS n FROM (SELECT ${FACET_COLUMNS('t')} FROM bt_torrents t WHERE ${w.where}${cap ? ` LIMIT ${cap}` : ''}) s GROUP BY ${FACET_GROUP}`
      const { facets, total } = facetsFrom((await this.pool.query<FacetRow>(sql, w.params)).rows)
      result.facets = facets
      result.total = total
      if (cap && total === cap && (await this.pool.query(`SELECT 1 FROM bt_torrents t WHERE ${w.where} LIMIT 1 OFFSET ${cap}`, w.params)).rows.length) {
        result.totalIsEstimate = true
      }
    } else if (options.count) {
      const n = Number((await this.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${cap ? `(SELECT 1 FROM bt_torrents t WHERE ${w.where} LIMIT ${cap + 1}) s` : `bt_torrents t WHERE ${w.where}`}`, w.params)).rows[0].n)
      result.total = cap && n > cap ? cap : n
      if (cap && n > cap) result.totalIsEstimate = true
    }
    return result
  }

  /** Bytes the index tables take (with their indexes and TOAST), for the bench. */
  async sizeOnDisk(): Promise<number> {
    const r = await this.pool.query<{ n: string }>(
      `SELECT sum(pg_total_relation_size(c.oid)) AS n FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'bt\\_%'`)
    return Number(r.rows[0].n)
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

async function migrate(c: pg.PoolClient, url: string): Promise<void> {
  await c.query('BEGIN')
  try {
    // Several machines starting at once: one migrates, the others wait here and then find nothing to do.
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await c.query('CREATE TABLE IF NOT EXISTS bt_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
    const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM bt_migrations')
    const version = r.rows[0].v ?? 0
    if (version > MIGRATIONS.length) {
      throw new BtError(`PostgreSQL at ${redactUrl(url)}: made by a newer bt (index schema ${version}, this bt knows ${MIGRATIONS.length})`, ExitCode.io)
    }
    for (let i = version; i < MIGRATIONS.length; i++) {
      const m = MIGRATIONS[i]
      if (typeof m === 'string') await c.query(m)
      else await m(c)
      await c.query('INSERT INTO bt_migrations (version) VALUES ($1)', [i + 1])
    }
    await c.query('COMMIT')
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {})
    throw err
  }
}
