// Shared types of the search index: what a stored torrent is, what the classifier says about it, and the store
// interface that the SQLite and PostgreSQL backends implement. The importer, the crawler and the HTTP search API
// all talk to an IndexStore; none of them knows which backend is behind it.

export type ContentType =
  | 'movie'
  | 'tv_show'
  | 'music'
  | 'ebook'
  | 'comic'
  | 'audiobook'
  | 'software'
  | 'game'
  | 'xxx'
  | 'unknown'

/** What the classifier makes of a torrent's name (and file list). Field names are those of `bt classify --json`. */
export interface Classification {
  contentType: ContentType
  title?: string
  year?: number
  seasons: number[]
  episodes: number[]
  /** Daily shows: YYYY-MM-DD. */
  airDate?: string
  /** '480p' | '576p' | '720p' | '1080p' | '1440p' | '2160p' … */
  resolution?: string
  /** 'bluray' | 'web-dl' | 'webrip' | 'hdtv' | 'dvd' | 'cam' | 'telesync' | 'telecine' | 'screener' | 'vhs'; music: 'cd' | 'vinyl' | 'web' */
  source?: string
  /** 'x264' (also H.264/AVC) | 'x265' (also HEVC/H.265) | 'xvid' | 'divx' | 'av1' | 'vp9' | 'mpeg2' | 'vc1' */
  videoCodec?: string
  /** 'aac' | 'ac3' (DD) | 'eac3' (DDP) | 'dts' | 'dts-hd' | 'dts-x' | 'truehd' | 'flac' | 'mp3' | 'opus' | 'pcm' | 'alac' | 'ape' | 'vorbis' | 'wma' */
  audioCodec?: string
  /** 'dv' (Dolby Vision, with or without HDR10) | 'hdr10+' | 'hdr10' | 'hdr' | 'hlg' */
  hdr?: string
  threeD?: boolean
  /** ISO 639-1 codes, e.g. ['en', 'fr']; 'mul' (ISO 639-2) for MULTi/Multilingual without named languages. */
  languages: string[]
  releaseGroup?: string
  edition?: string
  container?: string
  /** A season pack or complete series. */
  complete: boolean
  /** Comics: the issue number (`Batman 125`, `#35`). */
  issue?: number
}

export interface IndexedFile {
  /** Path inside the torrent, '/'-separated, as `bt metainfo X files` prints it. */
  path: string
  size: number
}

/** One torrent as an importer or the crawler hands it to the store. */
export interface TorrentRecord {
  /** 40 lower-case hex characters (v1 info hash). */
  infoHash: string
  name: string
  /** Total bytes; the sum of `files` when they are given. */
  size?: number
  files?: IndexedFile[]
  /** When the source first published or saw it (ms since the epoch). */
  publishedAt?: number
  /** Which importer or crawler saw it: 'import', 'dht', 'torrent-file', 'magnet', a bitmagnet `source` … */
  source: string
  seeders?: number
  leechers?: number
  private?: boolean
  trackers?: string[]
  /** True when only a magnet link was seen: name and files are to be completed later from the metadata. */
  partial?: boolean
  /** What the classifier makes of name and files, when the caller has already run it (bt import does, in worker threads). */
  classified?: Classification
  /**
   * The finished row, when bt import's workers made it (internal: the stores trust it, it was validated there). Its
   * `files` is [] when the record has a file list, and its `hash` is made from `infoHash` by the store.
   */
  prepared?: import('./record.js').PreparedRecord
  /** Attributes an importer already knows (bitmagnet's contentType, title, releaseYear …); they win over the classifier. */
  known?: Partial<Classification> & { contentSource?: string; contentId?: string }
}

export interface UpsertResult {
  added: number
  updated: number
  /** Records that were not stored (bad info hash, no name …): their index in the batch and why. The rest are stored. */
  rejected?: { index: number; reason: string }[]
}

/**
 * The store behind `bt import`, `bt search`, `bt crawl` and bt serve's search APIs. Both backends implement it.
 * Search and query types live beside the query parser (src/index/query); this is the part every writer needs.
 */
export interface IndexWriter {
  /** Insert or update in one transaction; classifies each record (files included) unless `known` says otherwise. */
  upsert(records: readonly TorrentRecord[]): Promise<UpsertResult>
  /** Which of these info hashes are already stored (the crawler skips them). */
  has(infoHashes: readonly string[]): Promise<Set<string>>
  /** Swarm counts from a scrape or the DHT. */
  updateSwarm(infoHash: string, seeders: number, leechers: number): Promise<void>
  count(): Promise<number>
  /**
   * Bulk writing (bt import): let consecutive upserts share one transaction of up to `rows` records, committed by
   * `flush()` (and by close). Fewer, larger commits cost the full-text index much less; what is committed is still
   * never lost. Stores without it commit every upsert.
   */
  bulk?(rows: number): void
  flush?(): Promise<void>
  close(): Promise<void>
}

// ---- The search side (added with the stores; the IndexWriter above is what writers code against). ----

import type { Query } from './query/types.js'
import type { FileType } from './rows.js'

export type SortKey = 'relevance' | 'size' | 'date' | 'seeders' | 'name'
export const SORT_KEYS: readonly SortKey[] = ['relevance', 'size', 'date', 'seeders', 'name']

export interface SearchOptions {
  /** Default 'relevance' when the query has words, else 'date' (newest first). size/seeders/date: largest/newest first; name: A→Z. */
  sort?: SortKey
  /** Default 50, at most 1000. */
  limit?: number
  offset?: number
  /** Also count every match (the `total` of the result). */
  count?: boolean
  /** Also count matches by type, year, resolution, language, source and file type (implies `count`). */
  facets?: boolean
  /**
   * Count (and facet) at most this many matches: past it `total` is this number with `totalIsEstimate`, and facets
   * describe a sample of that many matches. Bounds the cost of a common word on a large index (the HTTP APIs).
   */
  countLimit?: number
}

export interface FacetCount<T = string | number> {
  value: T
  count: number
}

export interface Facets {
  type: FacetCount<ContentType>[]
  year: FacetCount<number>[]
  resolution: FacetCount<string>[]
  language: FacetCount<string>[]
  source: FacetCount<string>[]
  /** Torrents holding each file type (bitmagnet's: video, audio, document, image, archive, software, subtitles, data). */
  fileType: FacetCount<FileType>[]
}

/** A torrent as the store gives it back. */
export interface StoredTorrent {
  infoHash: string
  name: string
  size: number
  fileCount: number
  /** When published or first seen (ms since the epoch, whole seconds): what `--sort date` and `added:` use. */
  publishedAt: number
  /** When this index first stored it (ms). */
  addedAt: number
  seeders?: number
  leechers?: number
  partial: boolean
  private: boolean
  trackers: string[]
  classification: Classification & { contentSource?: string; contentId?: string }
  /** Only from `get()`. */
  files?: IndexedFile[]
  /** Only from `get()`: which importer or crawler saw it, and when last (ms). */
  sources?: { source: string; seenAt: number }[]
}

export interface SearchResult {
  items: StoredTorrent[]
  /** With `count` or `facets`. */
  total?: number
  /** True when `countLimit` cut the count: there are at least `total` matches. */
  totalIsEstimate?: boolean
  facets?: Facets
}

export interface IndexStore extends IndexWriter {
  readonly backend: 'sqlite' | 'postgres'
  /** The file path, or the PostgreSQL URL without its password. */
  readonly location: string
  search(query: Query, options?: SearchOptions): Promise<SearchResult>
  get(infoHash: string): Promise<StoredTorrent | undefined>
}
