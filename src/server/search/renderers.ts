// How a page of search results becomes the text of an answer, by name, so that bt serve's search workers (see
// src/index/search-pool.ts) can render it where the search ran and send back a string: a structured clone of 100
// result objects and the XML built from them cost the event loop more than the search did. The same functions
// render on the main thread when the store has no workers (PostgreSQL, or no compiled worker).

import type { IndexStore, SearchOptions, StoredTorrent } from '../../index/types.js'
import type { Query } from '../../index/query/types.js'
import type { RenderedPage } from '../../index/search-pool.js'
import { itemJson } from './json-search.js'
import { rssXml } from './torznab.js'

export const renderers = {
  /** A whole Torznab RSS feed: args [self URL, offset]. */
  torznab: (items: StoredTorrent[], self: string, offset: number) => rssXml(items, self, offset),
  /** The JSON array of a JSON search answer's items. */
  jsonItems: (items: StoredTorrent[]) => JSON.stringify(items.map(itemJson)),
}
export type RendererName = keyof typeof renderers

const MODULE = import.meta.url

/** Search and render one page: in the store's worker when it has them, else here. */
export async function renderedSearch<K extends RendererName>(store: IndexStore, query: Query, options: SearchOptions, name: K,
  ...args: Parameters<(typeof renderers)[K]> extends [StoredTorrent[], ...infer R] ? R : never): Promise<RenderedPage> {
  const pooled = store as IndexStore & { searchRendered?: (q: Query, o: SearchOptions, r: { module: string; name: string; args: unknown[] }) => Promise<RenderedPage> }
  if (typeof pooled.searchRendered === 'function') return pooled.searchRendered(query, options, { module: MODULE, name, args })
  const items = (await store.search(query, options)).items
  return { text: (renderers[name] as (items: StoredTorrent[], ...a: unknown[]) => string)(items, ...args), count: items.length }
}
