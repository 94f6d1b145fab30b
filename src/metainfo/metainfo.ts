// Torrent files (BEP 3, with BEP 12 announce-list, BEP 19 url-list, BEP 47 pad files): parse, validate, describe.
// The info hash is the SHA-1 of the raw `info` bytes as they appear in the file, canonical or not.

import { createRequire } from 'node:module'
import { BDecodeError, bdecode, isDict, type BDict, type BValue } from './bdecode.js'
import { BtError, ExitCode } from '../errors.js'

// node:crypto by require: its ESM facade reads every export and so also loads WebCrypto, ~1.5 ms of `bt metainfo`'s
// start-up (issue 15).
const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')

export interface TorrentFile {
  /** Path components below the download directory, first component the torrent name for multi-file torrents. */
  path: string[]
  length: number
  /** Byte offset of the file within the torrent's concatenated data. */
  offset: number
  /** BEP 47 pad file: occupies piece space, never written to disk. */
  padding: boolean
}

export interface Metainfo {
  infoHash: string
  infoHashBuffer: Buffer
  /** The raw bencoded info dictionary, as served to peers over ut_metadata. */
  infoBuffer: Buffer
  name: string
  pieceLength: number
  lastPieceLength: number
  pieceCount: number
  /** Concatenated 20-byte SHA-1 piece hashes. */
  pieces: Buffer
  length: number
  files: TorrentFile[]
  /** True when the info dict has `files` (a directory torrent). */
  multiFile: boolean
  private: boolean
  /** Tracker URLs in tiers (announce-list, or [[announce]]). */
  announce: string[][]
  urlList: string[]
  creationDate?: Date
  comment?: string
  createdBy?: string
  /** The whole decoded file, for `bt metainfo json`. */
  raw: BDict
}

const MAX_PIECE_LENGTH = 512 * 1024 * 1024
// A larger total is either hostile or beyond what any disk holds; keeps every offset a safe integer.
const MAX_TOTAL_LENGTH = 2 ** 50
const MAX_FILES = 1_000_000

class Invalid extends Error {}

function invalid(msg: string): never {
  throw new Invalid(msg)
}

function text(v: BValue | undefined, what: string): string {
  if (!Buffer.isBuffer(v)) invalid(`${what} is not a string`)
  return v.toString('utf8')
}

function optText(v: BValue | undefined): string | undefined {
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined
}

function nonNegInt(v: BValue | undefined, what: string): number {
  if (typeof v !== 'number') invalid(`${what} is not an integer`)
  if (v < 0) invalid(`${what} is negative`)
  return v
}

/**
 * Check one path component from a torrent. Anything that could leave the download directory or that no file
 * system accepts is refused, so a parsed torrent is safe to write anywhere.
 */
export function checkPathComponent(c: string, where: string): string {
  if (c.length === 0) invalid(`${where} has an empty path component`)
  if (c === '.' || c === '..') invalid(`${where} has a "${c}" path component`)
  if (c.includes('/') || c.includes('\\')) invalid(`${where} has a path component with a slash`)
  if (c.includes('\0')) invalid(`${where} has a NUL byte in a path component`)
  if (Buffer.byteLength(c) > 255) invalid(`${where} has a path component longer than 255 bytes`)
  return c
}

function pathOf(entry: BDict, index: number): string[] {
  const where = `file ${index}`
  const utf8 = entry['path.utf-8']
  const list = Array.isArray(utf8) && utf8.length > 0 ? utf8 : entry['path']
  if (!Array.isArray(list)) invalid(`${where} has no path list`)
  if (list.length === 0) invalid(`${where} has an empty path`)
  return list.map((c) => checkPathComponent(text(c, `${where} path`), where))
}

function parseAnnounce(d: BDict): string[][] {
  const tiers: string[][] = []
  const seen = new Set<string>()
  const list = d['announce-list']
  if (Array.isArray(list)) {
    for (const tier of list) {
      if (!Array.isArray(tier)) continue
      const urls = tier.filter(Buffer.isBuffer).map((u) => u.toString('utf8').trim()).filter((u) => u && !seen.has(u))
      urls.forEach((u) => seen.add(u))
      if (urls.length) tiers.push(urls)
    }
  }
  const single = optText(d['announce'])?.trim()
  if (single && !seen.has(single)) tiers.unshift([single])
  return tiers
}

function parseUrlList(d: BDict): string[] {
  const v = d['url-list']
  if (Buffer.isBuffer(v)) return v.length ? [v.toString('utf8')] : []
  if (Array.isArray(v)) return v.filter(Buffer.isBuffer).map((u) => u.toString('utf8')).filter(Boolean)
  return []
}

/** Validate a decoded info dictionary; shared by torrent files and metadata fetched from peers. */
export function parseInfo(info: BDict, infoBuffer: Buffer) {
  const name = checkPathComponent(text(info['name.utf-8'] ?? info['name'], 'name'), 'name')
  const pieceLength = nonNegInt(info['piece length'], 'piece length')
  if (pieceLength === 0) invalid('piece length is zero')
  if (pieceLength > MAX_PIECE_LENGTH) invalid(`piece length ${pieceLength} is larger than 512 MiB`)
  const pieces = info['pieces']
  if (!Buffer.isBuffer(pieces)) {
    if (info['meta version'] === 2) invalid('v2-only torrents are not supported')
    invalid('pieces is missing')
  }
  if (pieces.length % 20 !== 0) invalid('pieces length is not a multiple of 20')

  const files: TorrentFile[] = []
  let length = 0
  const multiFile = info['files'] !== undefined
  if (multiFile) {
    const list = info['files']
    if (!Array.isArray(list)) invalid('files is not a list')
    if (list.length === 0) invalid('files is empty')
    if (list.length > MAX_FILES) invalid('too many files')
    const seen = new Set<string>()
    list.forEach((entry, i) => {
      if (!isDict(entry)) invalid(`file ${i} is not a dictionary`)
      const len = nonNegInt(entry['length'], `file ${i} length`)
      const path = pathOf(entry, i)
      const attr = optText(entry['attr']) ?? ''
      const key = path.join('/')
      if (seen.has(key) && !attr.includes('p')) invalid(`file ${i} repeats the path ${key}`)
      seen.add(key)
      files.push({ path: [name, ...path], length: len, offset: length, padding: attr.includes('p') })
      length += len
      if (length > MAX_TOTAL_LENGTH) invalid('total length is larger than 1 PiB')
    })
  } else {
    length = nonNegInt(info['length'], 'length')
    if (length > MAX_TOTAL_LENGTH) invalid('length is larger than 1 PiB')
    files.push({ path: [name], length, offset: 0, padding: false })
  }
  const pieceCount = Math.ceil(length / pieceLength)
  if (pieces.length / 20 !== pieceCount) {
    invalid(`has ${pieces.length / 20} piece hashes but its length needs ${pieceCount}`)
  }
  const lastPieceLength = length - (pieceCount - 1) * pieceLength
  const infoHashBuffer = createHash('sha1').update(infoBuffer).digest()
  return {
    infoHash: infoHashBuffer.toString('hex'),
    infoHashBuffer,
    infoBuffer,
    name,
    pieceLength,
    lastPieceLength: pieceCount === 0 ? 0 : lastPieceLength,
    pieceCount,
    pieces,
    length,
    files,
    multiFile,
    private: info['private'] === 1,
  }
}

/**
 * Parse a .torrent file. Throws BtError (exit 2) with `<source>: not a valid torrent: <reason>` on anything wrong.
 */
export function parseTorrent(data: Uint8Array, source = 'torrent'): Metainfo {
  try {
    const { value, spans } = bdecode(data, { spanKeys: ['info'], allowTrailing: true })
    if (!isDict(value)) invalid('top level is not a dictionary')
    const info = value['info']
    const span = spans.get('info')
    if (!isDict(info) || !span) invalid('info dictionary is missing')
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data)
    const infoBuffer = Buffer.from(buf.subarray(span[0], span[1]))
    const date = value['creation date']
    return {
      ...parseInfo(info, infoBuffer),
      announce: parseAnnounce(value),
      urlList: parseUrlList(value),
      creationDate: typeof date === 'number' && date > 0 ? new Date(date * 1000) : undefined,
      comment: optText(value['comment.utf-8'] ?? value['comment']),
      createdBy: optText(value['created by']),
      raw: value,
    }
  } catch (err) {
    if (err instanceof Invalid || err instanceof BDecodeError) {
      throw new BtError(`${source}: not a valid torrent: ${err.message}`, ExitCode.usage)
    }
    if (err instanceof RangeError) throw new BtError(`${source}: not a valid torrent: ${err.message}`, ExitCode.usage)
    throw err
  }
}

/** Build a Metainfo from an info dictionary fetched from peers (BEP 9), plus what the magnet link knew. */
export function metainfoFromInfo(infoBuffer: Buffer, extra: { announce?: string[][]; urlList?: string[] } = {}): Metainfo {
  try {
    const { value } = bdecode(infoBuffer)
    if (!isDict(value)) invalid('info is not a dictionary')
    return {
      ...parseInfo(value, Buffer.from(infoBuffer)),
      announce: extra.announce ?? [],
      urlList: extra.urlList ?? [],
      raw: { info: value },
    }
  } catch (err) {
    if (err instanceof Invalid || err instanceof BDecodeError) {
      throw new BtError(`metadata: not a valid info dictionary: ${err.message}`, ExitCode.network)
    }
    throw err
  }
}

/** Hash of piece `i`, a 20-byte view into `pieces`. */
export function pieceHash(m: Pick<Metainfo, 'pieces'>, i: number): Buffer {
  return m.pieces.subarray(i * 20, i * 20 + 20)
}

export function pieceSize(m: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'lastPieceLength'>, i: number): number {
  return i === m.pieceCount - 1 ? m.lastPieceLength : m.pieceLength
}

/**
 * A .torrent file around raw info bytes (fetched with ut_metadata): the info dict is embedded byte for byte, so the
 * info hash of the result is the one the bytes were fetched for.
 */
export function torrentFileFromInfo(infoBuffer: Buffer, extra: { announce?: string[][]; urlList?: string[]; createdBy?: string } = {}): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s)
    return Buffer.concat([Buffer.from(`${b.length}:`), b])
  }
  const list = (items: Buffer[]) => Buffer.concat([Buffer.from('l'), ...items, Buffer.from('e')])
  // Keys in sorted order, as bencode requires: announce, announce-list, created by, info, url-list.
  const parts: Buffer[] = [Buffer.from('d')]
  const tiers = (extra.announce ?? []).filter((t) => t.length)
  if (tiers.length) {
    parts.push(str('announce'), str(tiers[0][0]))
    if (tiers.length > 1 || tiers[0].length > 1) parts.push(str('announce-list'), list(tiers.map((t) => list(t.map(str)))))
  }
  parts.push(str('created by'), str(extra.createdBy ?? 'bt'))
  parts.push(str('info'), infoBuffer)
  if (extra.urlList?.length) parts.push(str('url-list'), list(extra.urlList.map(str)))
  parts.push(Buffer.from('e'))
  return Buffer.concat(parts)
}
