// Finished search answers (Torznab XML, JSON) kept for a few seconds, keyed by the request, and dropped as soon as
// the index changes. Sonarr, Radarr and Prowlarr poll the same RSS-sync URL every few minutes each, a web UI asks the
// same first page again and again, and 50 clients asking the same thing at once should cost one search: identical
// requests in flight share one computation too. The index is written by other processes (bt import, bt crawl), so
// "changed" is read from the database files themselves (SQLite: the main file and its WAL, whose size or mtime move
// with every commit); for PostgreSQL only the short TTL bounds how stale an answer can be.

import { statSync } from 'node:fs'

export interface CachedAnswer {
  /** Encoded once: a hit is written as is. */
  body: Buffer
  type: string
}

/** Something cheap that changes whenever the index does (compared with ===). */
export type IndexVersion = () => string

/** The version of an SQLite index at `path`: sizes and mtimes of the database and its WAL. */
export function sqliteVersion(path: string): IndexVersion {
  const stamp = (p: string) => {
    try {
      const st = statSync(p, { bigint: true })
      return `${st.size}:${st.mtimeNs}`
    } catch {
      return '-'
    }
  }
  return () => `${stamp(path)}|${stamp(`${path}-wal`)}`
}

export class AnswerCache {
  private entries = new Map<string, { at: number; version: string; answer: CachedAnswer }>()
  private inFlight = new Map<string, Promise<CachedAnswer>>()
  hits = 0
  misses = 0

  constructor(
    private readonly version: IndexVersion,
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 500,
  ) {}

  /** The answer for `key`: a fresh cached one, the one being computed, or `compute()`'s (cached unless it throws). */
  async get(key: string, compute: () => Promise<CachedAnswer>): Promise<CachedAnswer> {
    const now = Date.now()
    const version = this.version()
    const hit = this.entries.get(key)
    if (hit && hit.version === version && now - hit.at < this.ttlMs) {
      this.hits++
      return hit.answer
    }
    const pending = this.inFlight.get(key)
    if (pending) {
      this.hits++
      return pending
    }
    this.misses++
    const p = compute()
    this.inFlight.set(key, p)
    try {
      const answer = await p
      if (hit) this.entries.delete(key)
      // Oldest first out: a Map iterates in insertion order.
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
      this.entries.set(key, { at: now, version, answer })
      return answer
    } finally {
      this.inFlight.delete(key)
    }
  }

  clear(): void {
    this.entries.clear()
  }
}
