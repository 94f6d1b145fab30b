// The search side of bt serve, as plugins on its app (same auth layer): Torznab at /torznab/api, JSON at
// /api/v1/search, GraphQL at /graphql. The index opens on the first search and closes with the app.

import type { FastifyInstance } from 'fastify'
import { openIndex } from '../../index/open.js'
import { lazyIndex, type IndexHandle } from './common.js'
import { graphqlPlugin } from './graphql.js'
import { jsonSearchPlugin } from './json-search.js'
import { torznabPlugin } from './torznab.js'

export function searchPlugins(db?: string, handle: IndexHandle = lazyIndex(() => openIndex(db))): Array<(app: FastifyInstance) => Promise<void>> {
  const closer = async (app: FastifyInstance) => {
    app.addHook('onClose', async () => handle.close())
  }
  return [closer, torznabPlugin(handle), jsonSearchPlugin(handle), graphqlPlugin(handle)]
}
