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

/** Open (creating and migrating as needed) the index at `url`, or the default one. */
export async function openIndex(url?: string, env: NodeJS.ProcessEnv = process.env): Promise<IndexStore> {
  const where = url || env.BT_DB || defaultIndexPath(env)
  if (isPostgresUrl(where)) {
    const { PostgresIndex } = await import('./postgres.js')
    return PostgresIndex.open(where)
  }
  const { SqliteIndex } = await import('./sqlite.js')
  return SqliteIndex.open(where.replace(/^sqlite:(\/\/)?/i, ''))
}
