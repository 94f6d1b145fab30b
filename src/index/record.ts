// From a TorrentRecord to the row both stores write, and back: validation (one message per bad record), the
// classifier run on name and files (with an importer's known attributes winning), and the compact column forms
// (type as a small integer, languages and seasons as ",a,b," strings that a bound `instr` can test).

import { classify } from './classify.js'
import { encodeFiles, filesText, fileTypesOf, indexFiles } from './files.js'
import { normalizeCodec, normalizeSource, resolutionNumber } from './query/values.js'
import type { Classification, ContentType, IndexedFile, TorrentRecord, UpsertResult } from './types.js'
import { FLAG_PARTIAL, FLAG_PRIVATE, TYPE_CODES, typeCode, type ClassColumns } from './rows.js'
export { FLAG_PARTIAL, FLAG_PRIVATE, TYPE_CODES, typeCode, rowToTorrent, type Row } from './rows.js'

/** Dates are kept in whole seconds, clamped so that the SQLite key (seconds × 2^20 + n) stays a safe integer. */
export const MAX_SECONDS = 2 ** 32 - 1
export const MAX_FILES = 100_000
const MAX_NAME = 4096

export class RecordError extends Error {}

export interface PreparedRecord extends ClassColumns {
  infoHash: string
  hash: Buffer
  name: string
  size: number
  fileCount: number
  /** undefined: the record says nothing about files (keep what is stored). */
  files?: IndexedFile[]
  filesBlob?: Buffer
  /** The words of the file paths for the full-text index (filesText); '' without files. */
  filesWords: string
  /** Seconds. */
  published: number
  /** Which importer or crawler handed it over (TorrentRecord.source). */
  origin: string
  seeders: number | null
  leechers: number | null
  flags: number
}

// Paths are stored one per line, tab-separated from their size: a newline or tab inside one would break that.
const BAD_PATH_CHARS = /[\t\n\r]/
const cleanPath = (p: string) => p.replace(/[\t\n\r]/g, ' ')

const list = (xs: readonly (string | number)[]) => (xs.length ? `,${xs.join(',')},` : null)

function num(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new RecordError(`bad ${what}`)
  return Math.floor(v)
}

/** Check a record and make its row; throws RecordError with a short reason. */
export function prepareRecord(r: TorrentRecord, now = Date.now()): PreparedRecord {
  if (!r || typeof r !== 'object') throw new RecordError('not an object')
  if (typeof r.infoHash !== 'string' || !/^[0-9a-fA-F]{40}$/.test(r.infoHash)) throw new RecordError('infoHash is not 40 hex characters')
  if (typeof r.name !== 'string' || r.name.trim() === '') throw new RecordError('name is missing')
  if (r.name.length > MAX_NAME) throw new RecordError('name is too long')
  const name = r.name.replace(/[\u0000-\u001f]/g, ' ')
  let files: IndexedFile[] | undefined
  if (r.files !== undefined && r.files !== null) {
    if (!Array.isArray(r.files)) throw new RecordError('files is not a list')
    if (r.files.length > MAX_FILES) throw new RecordError(`more than ${MAX_FILES} files`)
    files = r.files.map((f, i) => {
      if (!f || typeof f.path !== 'string' || f.path === '') throw new RecordError(`file ${i + 1} has no path`)
      // Most entries are already clean (recordFromJson made them): keep the object instead of copying it.
      if (Number.isSafeInteger(f.size) && f.size >= 0 && !BAD_PATH_CHARS.test(f.path)) return f
      return { path: cleanPath(f.path), size: num(f.size, `size of file ${i + 1}`) ?? 0 }
    })
  }
  const fileSum = files?.reduce((a, f) => a + f.size, 0)
  const size = num(r.size, 'size') ?? fileSum ?? 0
  const publishedMs = num(r.publishedAt, 'publishedAt') ?? now
  const published = Math.min(MAX_SECONDS, Math.floor(publishedMs / 1000))
  const origin = typeof r.source === 'string' && r.source ? r.source.slice(0, 64) : 'import'
  const cls = classifyRecord(name, files ?? [], r)
  const idx = files && files.length ? indexFiles(name, files) : undefined
  return {
    infoHash: r.infoHash.toLowerCase(),
    hash: Buffer.from(r.infoHash, 'hex'),
    name,
    size,
    fileCount: files?.length ?? 0,
    files,
    filesBlob: idx ? encodeFiles(name, files!, idx.prefix) : undefined,
    filesWords: idx ? idx.words : '',
    published,
    origin,
    seeders: num(r.seeders, 'seeders', 2 ** 31 - 1) ?? null,
    leechers: num(r.leechers, 'leechers', 2 ** 31 - 1) ?? null,
    flags: (r.partial ? FLAG_PARTIAL : 0) | (r.private ? FLAG_PRIVATE : 0),
    ...cls,
    ftypes: idx ? idx.ftypes : fileTypesOf(name, undefined),
  }
}

/** Prepare a batch: bad records are listed in `result.rejected` (and left out), the others prepared. */
export function prepareAll(records: readonly TorrentRecord[], result: UpsertResult, now = Date.now()): (PreparedRecord | undefined)[] {
  return records.map((r, index) => {
    try {
      const p = r.prepared
      if (p) {
        p.hash = Buffer.from(p.infoHash, 'hex')
        return p
      }
      return prepareRecord(r, now)
    } catch (err) {
      if (!(err instanceof RecordError)) throw err
      ;(result.rejected ??= []).push({ index, reason: err.message })
      return undefined
    }
  })
}

/** Re-classify with a file list learned elsewhere (an update that keeps the stored files). */
export function withFiles(p: PreparedRecord, files: IndexedFile[], r: TorrentRecord): PreparedRecord {
  const idx = files.length ? indexFiles(p.name, files) : undefined
  return {
    ...p, ...classifyRecord(p.name, files, r), files, fileCount: files.length,
    filesBlob: idx ? encodeFiles(p.name, files, idx.prefix) : undefined, filesWords: idx ? idx.words : '', ftypes: idx ? idx.ftypes : fileTypesOf(p.name, undefined),
  }
}

export function fullTextOf(p: Pick<PreparedRecord, 'name' | 'filesWords'>): { name: string; files: string } {
  return { name: p.name, files: p.filesWords }
}

function classifyRecord(name: string, files: IndexedFile[], r: TorrentRecord): Omit<ClassColumns, 'ftypes'> {
  // A classification made elsewhere (bt import's workers) is only trusted for the same name and files.
  const pre = r.classified && r.name === name && (r.files?.length ?? 0) === files.length ? r.classified : undefined
  const c: Classification & { contentSource?: string; contentId?: string } = { ...(pre ?? classify(name, files)) }
  const known = r.known
  if (known && typeof known === 'object') {
    for (const [k, v] of Object.entries(known)) {
      if (v === undefined || v === null) continue
      if (k === 'contentType' && !TYPE_CODES.includes(v as ContentType)) continue
      ;(c as unknown as Record<string, unknown>)[k] = v
    }
  }
  const res = c.resolution ? resolutionNumber(c.resolution) ?? null : null
  const meta: Record<string, unknown> = {}
  if (c.title) meta.title = c.title
  if (c.airDate) meta.airDate = c.airDate
  if (c.hdr) meta.hdr = c.hdr
  if (c.threeD) meta.threeD = true
  if (c.edition) meta.edition = c.edition
  if (c.container) meta.container = c.container
  if (c.complete) meta.complete = true
  if (Number.isInteger(c.issue)) meta.issue = c.issue
  if (c.contentSource) meta.contentSource = String(c.contentSource)
  if (c.contentId) meta.contentId = String(c.contentId)
  if (r.trackers?.length) meta.trackers = r.trackers.filter((t) => typeof t === 'string').slice(0, 32)
  const ints = (xs: unknown) => (Array.isArray(xs) ? xs.filter((x) => Number.isInteger(x) && x >= 0 && x < 10000) : [])
  const year = Number.isInteger(c.year) && c.year! >= 1800 && c.year! <= 2200 ? c.year! : null
  return {
    type: typeCode(c.contentType),
    year,
    res,
    source: c.source ? normalizeSource(c.source) : null,
    vcodec: c.videoCodec ? normalizeCodec(c.videoCodec) : null,
    acodec: c.audioCodec ? normalizeCodec(c.audioCodec) : null,
    langs: list(Array.isArray(c.languages) ? c.languages.filter((l) => /^[a-z]{2,3}$/.test(l)) : []),
    seasons: list(ints(c.seasons)),
    episodes: list(ints(c.episodes)),
    grp: c.releaseGroup ? String(c.releaseGroup).slice(0, 64) : null,
    meta: Object.keys(meta).length ? JSON.stringify(meta) : null,
  }
}

