// What `bt import` reads, as TorrentRecords: bitmagnet's NDJSON export records, magnet links, and .torrent files.

import { parseMagnet } from '../../metainfo/magnet.js'
import { parseTorrent } from '../../metainfo/metainfo.js'
import { RecordError } from '../record.js'
import type { Classification, ContentType, TorrentRecord } from '../types.js'

const CONTENT_TYPES = new Set(['movie', 'tv_show', 'music', 'ebook', 'comic', 'audiobook', 'software', 'game', 'xxx', 'unknown'])

/** Dates as bitmagnet writes them (RFC 3339 strings), or numbers (seconds or ms since the epoch). */
function date(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v < 1e11 ? v * 1000 : v
  if (typeof v === 'string' && v) {
    const t = Date.parse(v)
    if (Number.isFinite(t) && t >= 0) return t
    throw new RecordError('publishedAt is not a date')
  }
  return undefined
}

function count(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new RecordError(`${what} is not a number`)
  return n
}

/**
 * bitmagnet's `episodes`: a list of episode numbers, a map of season → episode numbers, or a list of
 * {season, episode} objects. Anything else is ignored (the classifier still reads the name).
 */
function episodes(v: unknown): Pick<Classification, 'seasons' | 'episodes'> | undefined {
  const ints = (xs: unknown) => (Array.isArray(xs) ? xs.filter((x): x is number => Number.isInteger(x) && x >= 0) : [])
  if (Array.isArray(v)) {
    if (v.every((x) => Number.isInteger(x))) return { seasons: [], episodes: ints(v) }
    const seasons = new Set<number>()
    const eps = new Set<number>()
    for (const x of v) {
      if (x && typeof x === 'object') {
        if (Number.isInteger(x.season)) seasons.add(x.season)
        if (Number.isInteger(x.episode)) eps.add(x.episode)
      }
    }
    return { seasons: [...seasons], episodes: [...eps] }
  }
  if (v && typeof v === 'object') {
    const seasons = Object.keys(v).filter((k) => /^\d+$/.test(k)).map(Number)
    const eps = Object.values(v as Record<string, unknown>).flatMap(ints)
    return { seasons, episodes: [...new Set(eps)] }
  }
  return undefined
}

/** One bitmagnet NDJSON record (other fields are ignored). */
export function recordFromJson(o: unknown, defaultSource: string): TorrentRecord {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new RecordError('not a JSON object')
  const j = o as Record<string, any>
  if (typeof j.infoHash !== 'string') throw new RecordError('infoHash is missing')
  if (typeof j.name !== 'string' || j.name.trim() === '') throw new RecordError('name is missing')
  const known: NonNullable<TorrentRecord['known']> = {}
  if (typeof j.contentType === 'string' && CONTENT_TYPES.has(j.contentType)) known.contentType = j.contentType as ContentType
  if (typeof j.title === 'string' && j.title) known.title = j.title
  const year = count(j.releaseYear, 'releaseYear')
  if (year) known.year = year
  const ep = episodes(j.episodes)
  if (ep && (ep.seasons.length || ep.episodes.length)) Object.assign(known, ep)
  if (typeof j.contentSource === 'string' && j.contentSource) known.contentSource = j.contentSource
  if ((typeof j.contentId === 'string' && j.contentId) || typeof j.contentId === 'number') known.contentId = String(j.contentId)
  let files: TorrentRecord['files']
  if (j.files !== undefined && j.files !== null) {
    if (!Array.isArray(j.files)) throw new RecordError('files is not a list')
    files = j.files.map((f: any, i: number) => {
      if (!f || typeof f.path !== 'string') throw new RecordError(`file ${i + 1} has no path`)
      return { path: f.path, size: count(f.size, `size of file ${i + 1}`) ?? 0 }
    })
  }
  const rec: TorrentRecord = {
    infoHash: j.infoHash,
    name: j.name,
    size: count(j.size, 'size'),
    files,
    publishedAt: date(j.publishedAt),
    source: typeof j.source === 'string' && j.source ? j.source : defaultSource,
    seeders: count(j.seeders, 'seeders'),
    leechers: count(j.leechers, 'leechers'),
  }
  if (Object.keys(known).length) rec.known = known
  return rec
}

/** One line of a text input: a JSON record, a magnet link, or a bare info hash; undefined for blanks and comments. */
export function recordOfLine(text: string): TorrentRecord | undefined {
  const line = text.trim()
  if (line === '' || line.startsWith('#')) return undefined
  if (line.startsWith('{')) {
    let o: unknown
    try {
      o = JSON.parse(line)
    } catch {
      throw new RecordError('not valid JSON')
    }
    return recordFromJson(o, 'import')
  }
  if (line.startsWith('magnet:')) return recordFromMagnet(line)
  if (/^[0-9a-fA-F]{40}$/.test(line)) return { infoHash: line, name: line.toLowerCase(), source: 'magnet', partial: true }
  throw new RecordError('neither a JSON record nor a magnet link')
}

export function recordFromMagnet(line: string): TorrentRecord {
  let m
  try {
    m = parseMagnet(line)
  } catch (err) {
    throw new RecordError((err as Error).message)
  }
  return { infoHash: m.infoHash, name: m.name ?? m.infoHash, source: 'magnet', partial: true, trackers: m.trackers }
}

export function recordFromTorrent(bytes: Uint8Array, where: string): TorrentRecord {
  let m
  try {
    m = parseTorrent(bytes, where)
  } catch (err) {
    throw new RecordError((err as Error).message.replace(`${where}: `, ''))
  }
  return {
    infoHash: m.infoHash,
    name: m.name,
    size: m.length,
    files: m.files.filter((f) => !f.padding).map((f) => ({ path: f.path.join('/'), size: f.length })),
    publishedAt: m.creationDate?.getTime(),
    source: 'torrent-file',
    private: m.private,
    trackers: m.announce.flat(),
  }
}
