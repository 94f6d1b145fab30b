// Where the index lives: `--db`, else $BT_DB, else $XDG_DATA_HOME/bt/index.db. A postgres:// URL selects PostgreSQL;
// anything else is an SQLite file path.

import { homedir } from 'node:os'
import { join } from 'node:path'
import type { IndexStore } from './types.js'

export function defaultIndexPath(env: NodeJS.ProcessEnv = process.env): string {
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(data, 'bt', 'index.db')
}

export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s)
}

export interface OpenOptions {
  /**
   * SQLite: run searches on this many worker threads, each with its own connection (a server answering many
   * clients at once; see search-pool.ts). Unset or 0: searches run on the calling thread. PostgreSQL has its own
   * connection pool and ignores it.
   */
  searchThreads?: number
}

/** Open (creating and migrating as needed) the index at `url`, or the default one. */
export async function openIndex(url?: string, env: NodeJS.ProcessEnv = process.env, options: OpenOptions = {}): Promise<IndexStore> {
  const where = url || env.BT_DB || defaultIndexPath(env)
  if (isPostgresUrl(where)) {
    const { PostgresIndex } = await import('./postgres.js')
    return PostgresIndex.open(where)
  }
  if (options.searchThreads) {
    const { SearchPool } = await import('./search-pool.js')
    return SearchPool.open(where.replace(/^sqlite:(\/\/)?/i, ''), { threads: options.searchThreads })
  }
  const { SqliteIndex } = await import('./sqlite.js')
  return SqliteIndex.open(where.replace(/^sqlite:(\/\/)?/i, ''))
}
