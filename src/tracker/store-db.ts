// The tracker's SQLite file (better-sqlite3, WAL): schema, loading at start, and the batched writes that the
// store worker applies. Kept apart from the worker so the loading side and tests use the same statements.

import Database from 'better-sqlite3'

export type Db = Database.Database

/** One flush: peers upserted, peers deleted, completed counts, registrations set (name) or removed (null). */
export interface StoreBatch {
  /** Parallel arrays, one entry per peer: info hash, peer id and compact address as latin1 strings. */
  ih: string[]
  id: string[]
  addr: string[]
  seeder: number[]
  /** Unix seconds of the last announce. */
  last: number[]
  /** info hash + peer id (40 latin1 chars) of peers that left. */
  removed: string[]
  swarms: Array<[ih: string, completed: number]>
  registrations: Array<[ih: string, name: string | null, source: string]>
  /** Drop peers whose last announce is older than this (Unix seconds), or 0. */
  pruneBefore: number
}

export function openDb(path: string): Db {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  // NORMAL: a power cut may lose the last commits, an application crash (kill -9) loses nothing committed.
  db.pragma('synchronous = NORMAL')
  db.exec(`
    CREATE TABLE IF NOT EXISTS peers (
      info_hash BLOB NOT NULL, peer_id BLOB NOT NULL, addr BLOB NOT NULL, seeder INTEGER NOT NULL, last INTEGER NOT NULL,
      PRIMARY KEY (info_hash, peer_id)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS swarms (info_hash BLOB PRIMARY KEY, completed INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS registrations (info_hash BLOB PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, added INTEGER NOT NULL) WITHOUT ROWID;
  `)
  return db
}

const L = (s: string) => Buffer.from(s, 'latin1')

/** Applies a batch in one transaction: deletions first, so a peer that left and came back in one window stays. */
export function makeWriter(db: Db): (b: StoreBatch) => void {
  const del = db.prepare('DELETE FROM peers WHERE info_hash = ? AND peer_id = ?')
  const up = db.prepare('INSERT INTO peers (info_hash, peer_id, addr, seeder, last) VALUES (?, ?, ?, ?, ?) ON CONFLICT (info_hash, peer_id) DO UPDATE SET addr = excluded.addr, seeder = excluded.seeder, last = excluded.last')
  const sw = db.prepare('INSERT INTO swarms (info_hash, completed) VALUES (?, ?) ON CONFLICT (info_hash) DO UPDATE SET completed = excluded.completed')
  const regSet = db.prepare('INSERT INTO registrations (info_hash, name, source, added) VALUES (?, ?, ?, ?) ON CONFLICT (info_hash) DO UPDATE SET name = excluded.name, source = excluded.source')
  const regDel = db.prepare('DELETE FROM registrations WHERE info_hash = ?')
  const prune = db.prepare('DELETE FROM peers WHERE last < ?')
  return db.transaction((b: StoreBatch) => {
    for (const k of b.removed) del.run(L(k.slice(0, 20)), L(k.slice(20)))
    for (let i = 0; i < b.ih.length; i++) up.run(L(b.ih[i]), L(b.id[i]), L(b.addr[i]), b.seeder[i], b.last[i])
    for (const [ih, completed] of b.swarms) sw.run(L(ih), completed)
    const now = Math.floor(Date.now() / 1000)
    for (const [ih, name, source] of b.registrations) {
      if (name === null) regDel.run(L(ih))
      else regSet.run(L(ih), name, source, now)
    }
    if (b.pruneBefore > 0) prune.run(b.pruneBefore)
  })
}

export interface LoadSink {
  peer(ih: string, id: string, addr: string, seeder: boolean, lastUnix: number): void
  completed(ih: string, completed: number): void
  registration(ih: string, name: string, source: string): void
}

/** Streams the saved state into `sink`: registrations, completed counts, then peers heard from since `since`. */
export function loadState(db: Db, since: number, sink: LoadSink): void {
  for (const [ih, name, source] of db.prepare('SELECT info_hash, name, source FROM registrations').raw().iterate() as Iterable<[Buffer, string, string]>) {
    sink.registration(ih.toString('latin1'), name, source)
  }
  for (const [ih, completed] of db.prepare('SELECT info_hash, completed FROM swarms').raw().iterate() as Iterable<[Buffer, number]>) {
    sink.completed(ih.toString('latin1'), completed)
  }
  // Oldest first, so each swarm's Map is rebuilt in order of last announce.
  const rows = db.prepare('SELECT info_hash, peer_id, addr, seeder, last FROM peers WHERE last >= ? ORDER BY last').raw().iterate(since) as Iterable<[Buffer, Buffer, Buffer, number, number]>
  for (const [ih, id, addr, seeder, last] of rows) sink.peer(ih.toString('latin1'), id.toString('latin1'), addr.toString('latin1'), seeder === 1, last)
}
