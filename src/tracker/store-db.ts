// The SQLite state file of earlier versions of bt's tracker (better-sqlite3): read once at start and rewritten as
// the append-only log of store-log.ts. Nothing writes this format any more; openDb also makes one, for tests.

import Database from 'better-sqlite3'

export type Db = Database.Database

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
