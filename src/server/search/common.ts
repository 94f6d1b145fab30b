// What the search surfaces (Torznab, JSON, GraphQL, the web UI) share: the magnet link of a stored torrent, plain
// words as a query (Torznab's q is text, not bt's grammar), and the store handle that opens the index on first use.

import { formatMagnet } from '../../metainfo/magnet.js'
import { tokenize } from '../../index/query/text.js'
import type { Query, Term } from '../../index/query/types.js'
import type { IndexStore, StoredTorrent } from '../../index/types.js'

/** At most this many trackers go into a magnet link (a hostile record must not make a megabyte URL). */
const MAX_MAGNET_TRACKERS = 20

/**
 * The same link as formatMagnet (test/server/search-units pins that), built for feeds: a 100-item Torznab answer makes
 * 100 of them, and formatMagnet's two regular-expression passes per component were a third of building the feed.
 */
export function magnetOf(t: Pick<StoredTorrent, 'infoHash' | 'name' | 'trackers'>): string {
  let link = `magnet:?xt=urn:btih:${t.infoHash}`
  if (t.name) link += `&dn=${component(t.name)}`
  const n = Math.min(t.trackers.length, MAX_MAGNET_TRACKERS)
  for (let i = 0; i < n; i++) link += `&tr=${component(t.trackers[i])}`
  return link
}

/** formatMagnet's encoding: encodeURIComponent with ':' and '/' left readable (only searched for when present). */
function component(s: string): string {
  const e = encodeURIComponent(s)
  return e.includes('%') && (e.includes('%3A') || e.includes('%2F') || e.includes('%3a') || e.includes('%2f')) ? e.replace(/%3A/gi, ':').replace(/%2F/gi, '/') : e
}


/**
 * Plain words → a query that needs all of them: each whitespace-separated word becomes a term of its tokens
 * ("Spider-Man" the phrase "spider man"), so quotes, colons, `-`, `*`, AND/NOT/NEAR carry no meaning.
 */
export function wordsQuery(text: string): Query {
  const terms: Term[] = []
  for (const w of text.split(/\s+/)) {
    const tokens = tokenize(w)
    if (tokens.length) terms.push({ kind: tokens.length > 1 ? 'phrase' : 'word', tokens, negated: false, position: 0 })
  }
  return { terms, filters: {} }
}

export interface IndexHandle {
  /** The store, opened on first use (a bt serve that nobody searches never creates an index file). */
  get(): Promise<IndexStore>
  close(): Promise<void>
}

export function lazyIndex(open: () => Promise<IndexStore>): IndexHandle {
  let p: Promise<IndexStore> | undefined
  return {
    get() {
      p ??= open().catch((err) => {
        p = undefined
        throw err
      })
      return p
    },
    async close() {
      if (p) await (await p.catch(() => undefined))?.close()
      p = undefined
    },
  }
}
