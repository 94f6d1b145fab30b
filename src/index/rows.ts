// Rows as both stores keep them and read them back (shared column names and forms), without the classifier, so a
// search never loads it.

import type { ContentType, StoredTorrent } from './types.js'

/** Stored type codes: the position in this list (0 = unknown), one byte per row. */
export const TYPE_CODES: readonly ContentType[] = ['unknown', 'movie', 'tv_show', 'music', 'ebook', 'comic', 'audiobook', 'software', 'game', 'xxx']
export const typeCode = (t: ContentType): number => Math.max(0, TYPE_CODES.indexOf(t))

/**
 * File types a torrent holds, one bit each in the `ftypes` column (bitmagnet's file types), written at import from
 * the file extensions, so that search facets can count torrents by file type without reading any file list.
 */
export const FILE_TYPES = ['video', 'audio', 'document', 'image', 'archive', 'software', 'subtitles', 'data'] as const
export type FileType = (typeof FILE_TYPES)[number]

export const FLAG_PARTIAL = 1
export const FLAG_PRIVATE = 2

const unlist = (s: string | null): string[] => (s ? s.slice(1, -1).split(',') : [])

/** The classification as both stores keep it in columns. */
export interface ClassColumns {
  type: number
  year: number | null
  res: number | null
  source: string | null
  vcodec: string | null
  acodec: string | null
  langs: string | null
  seasons: string | null
  episodes: string | null
  grp: string | null
  /** JSON of the rest of the classification, the trackers and bitmagnet's content ids; null when empty. */
  meta: string | null
  /** File types present (bits of FILE_TYPES); 0 when nothing is known. */
  ftypes: number
}

/** The row as both stores read it back (column names shared by the two schemas). */
export interface Row extends Omit<ClassColumns, 'meta' | 'ftypes'> {
  info_hash: Uint8Array
  name: string
  size: number | string
  files: number
  published: number | string
  added: number | string
  seeders: number | null
  leechers: number | null
  flags: number
  /** JSON text (SQLite) or already parsed (PostgreSQL jsonb). */
  meta: string | Record<string, unknown> | null
}

export function rowToTorrent(row: Row): StoredTorrent {
  const meta = (typeof row.meta === 'string' ? JSON.parse(row.meta) : row.meta ?? {}) as Record<string, any>
  const { trackers, ...rest } = meta
  const classification: StoredTorrent['classification'] = {
    contentType: TYPE_CODES[row.type] ?? 'unknown',
    seasons: unlist(row.seasons).map(Number),
    episodes: unlist(row.episodes).map(Number),
    languages: unlist(row.langs),
    complete: Boolean(rest.complete),
  }
  if (rest.title) classification.title = rest.title
  if (row.year !== null) classification.year = row.year
  if (rest.airDate) classification.airDate = rest.airDate
  if (row.res !== null) classification.resolution = `${row.res}p`
  if (row.source) classification.source = row.source
  if (row.vcodec) classification.videoCodec = row.vcodec
  if (row.acodec) classification.audioCodec = row.acodec
  if (rest.hdr) classification.hdr = rest.hdr
  if (rest.threeD) classification.threeD = true
  if (row.grp) classification.releaseGroup = row.grp
  if (rest.edition) classification.edition = rest.edition
  if (Number.isInteger(rest.issue)) classification.issue = rest.issue
  if (rest.container) classification.container = rest.container
  if (rest.contentSource) classification.contentSource = rest.contentSource
  if (rest.contentId) classification.contentId = rest.contentId
  const t: StoredTorrent = {
    infoHash: Buffer.from(row.info_hash).toString('hex'),
    name: row.name,
    size: Number(row.size),
    fileCount: row.files,
    publishedAt: Number(row.published) * 1000,
    addedAt: Number(row.added) * 1000,
    partial: (row.flags & FLAG_PARTIAL) !== 0,
    private: (row.flags & FLAG_PRIVATE) !== 0,
    trackers: Array.isArray(trackers) ? trackers : [],
    classification,
  }
  if (row.seeders !== null) t.seeders = row.seeders
  if (row.leechers !== null) t.leechers = row.leechers
  return t
}
