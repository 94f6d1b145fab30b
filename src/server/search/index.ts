// The search side of bt serve, as plugins on its app (same auth layer): Torznab at /torznab/api, JSON at
// /api/v1/search, GraphQL at /graphql. The index opens on the first search and closes with the app.

import type { FastifyInstance } from 'fastify'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { defaultIndexPath, isPostgresUrl, openIndex } from '../../index/open.js'
import type { IndexStore } from '../../index/types.js'
import { ApiError } from '../errors.js'
import { AnswerCache, sqliteVersion, type IndexVersion } from './answer-cache.js'
import { lazyIndex, type IndexHandle } from './common.js'
import { graphqlPlugin } from './graphql.js'
import { jsonSearchPlugin } from './json-search.js'
import { torznabPlugin } from './torznab.js'

/** Search threads: $BT_SEARCH_THREADS (0 searches on the event loop), else one per core, at most 4. */
const SEARCH_THREADS = (() => {
  const n = Number(process.env.BT_SEARCH_THREADS)
  return process.env.BT_SEARCH_THREADS !== undefined && Number.isInteger(n) && n >= 0 ? n : Math.min(4, availableParallelism())
})()

const whereOf = (db: string | undefined) => db || process.env.BT_DB || defaultIndexPath()
const sqlitePath = (where: string) => where.replace(/^sqlite:(\/\/)?/i, '')

/** Open the index, but never create one: a GET must not leave a new file behind (`bt import` makes the index). */
async function openExisting(db: string | undefined): Promise<IndexStore> {
  const where = whereOf(db)
  if (!isPostgresUrl(where) && !existsSync(sqlitePath(where))) {
    throw new ApiError('unavailable', `no search index at ${where} yet (bt import adds torrents to it)`)
  }
  // Searches on worker threads, one per core (at most 4): the event loop only parses HTTP and writes answers.
  return openIndex(where, process.env, { searchThreads: SEARCH_THREADS })
}

export function searchPlugins(db?: string, handle: IndexHandle = lazyIndex(() => openExisting(db))): Array<(app: FastifyInstance) => Promise<void>> {
  const closer = async (app: FastifyInstance) => {
    app.addHook('onClose', async () => handle.close())
  }
  // Answers are reused until the index changes (SQLite: seen on its files) or for a few seconds (PostgreSQL).
  const where = whereOf(db)
  const version: IndexVersion = isPostgresUrl(where) ? () => '' : sqliteVersion(sqlitePath(where))
  const cache = new AnswerCache(version, isPostgresUrl(where) ? 5_000 : 30_000)
  return [closer, torznabPlugin(handle, cache), jsonSearchPlugin(handle, cache), graphqlPlugin(handle, cache)]
}
