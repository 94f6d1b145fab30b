// Compact storage of a torrent's file list: one blob per torrent instead of a row per file (a row per file costs
// ~40 bytes of row and index overhead each, and bitmagnet's per-file rows are much of its database size).
// Each path is stored against the one before it (shared prefix and suffix lengths, then the part in between), which
// shrinks episode and track lists ("Show.S01E01.1080p.mkv", "Show.S01E02.1080p.mkv" → "2") about as well as deflate
// at a fraction of its per-call cost (zlib spends ~20 µs setting up each stream, too slow for 50 000 torrents/s).
// Long lists are deflated on top, where that cost is spread over many files.

import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { tokenize } from './query/text.js'
import { EXTENSIONS } from './classify/text.js'
import { FILE_TYPES, type FileType } from './rows.js'
import type { IndexedFile } from './types.js'

const CODED = 1
const CODED_DEFLATED = 2
const DEFLATE_OVER = 4096

/** Paths that all begin with `name/` (a multi-file torrent as bt lists it) are stored without it. */
function commonPrefix(name: string, files: readonly IndexedFile[]): string {
  const prefix = name + '/'
  return files.length > 0 && files.every((f) => f.path.startsWith(prefix)) ? prefix : ''
}

/** Extensions (and split-archive volumes `.r01`, `.001`): what every torrent has, so no search is helped by them. */
const NOISE_EXT = /^(?:(?=\d*[a-z])(?!\d+p$)[a-z0-9]{1,4}|r\d\d|\d{3}|part\d+)$/

/** A word worth indexing: not a bare number under four digits (track and volume numbers; years stay). */
function worthIndexing(tok: string): boolean {
  if (tok.length > 3) return true
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i)
    if (c < 48 || c > 57) return true
  }
  return false
}

/**
 * The words of the paths for the full-text index: each word once, words of the name left out (the name column has
 * them), and without the noise every torrent shares (file extensions, bare track and volume numbers): each word a
 * torrent lists is a posting the index writes and merges, and `mkv` or `01` in a million torrents finds nothing.
 * A set of words rather than the paths keeps the index small and fast to build for 50-episode packs; phrases
 * still match names, and any other word of any path still finds the torrent.
 */
export function filesText(name: string, files: readonly IndexedFile[], maxWords = 1000): string {
  return fileWords(name, files, commonPrefix(name, files).length, maxWords, false).words
}

/** What the store keeps of a file list besides the list itself: its words (filesText) and its file types (fileTypesOf). */
export function indexFiles(name: string, files: readonly IndexedFile[]): { words: string; ftypes: number; prefix: string } {
  const prefix = commonPrefix(name, files)
  const { words, ftypes } = fileWords(name, files, prefix.length, 1000, true)
  return { words, ftypes: files.length ? ftypes : typeOfPath(name), prefix }
}

// One pass over the paths for both the words and the file types: this is the hot part of an import.
function fileWords(name: string, files: readonly IndexedFile[], cut: number, maxWords: number, types: boolean): { words: string; ftypes: number } {
  // One tokenizer pass over all paths (extensions cut), not one call per file.
  let text = ''
  let ftypes = 0
  for (const f of files) {
    let path = cut ? f.path.slice(cut) : f.path
    const dot = path.lastIndexOf('.')
    if (dot > path.lastIndexOf('/') + 1 && path.length - dot <= 10) {
      const ext = path.slice(dot + 1).toLowerCase()
      if (types) ftypes |= typeOfExt(ext)
      if (NOISE_EXT.test(ext)) path = path.slice(0, dot)
    }
    // Bounded work for a torrent of 100 000 files: the first 64 KiB of paths are enough to find it.
    if (text.length < 65536) text += path + '\n'
    else if (!types) break
  }
  const seen = new Set(tokenize(name))
  let out = ''
  let words = 0
  for (const tok of tokenize(text)) {
    if (seen.has(tok)) continue
    seen.add(tok)
    if (!worthIndexing(tok)) continue
    out += words === 0 ? tok : ' ' + tok
    if (++words >= maxWords) break
  }
  return { words: out, ftypes }
}

export function encodeFiles(name: string, files: readonly IndexedFile[], prefix = commonPrefix(name, files)): Buffer {
  const cut = prefix.length
  let text = prefix ? '/' : ''
  let prev = ''
  for (const f of files) {
    const cur = f.path.slice(cut)
    const max = Math.min(prev.length, cur.length)
    let p = 0
    while (p < max && prev.charCodeAt(p) === cur.charCodeAt(p)) p++
    let s = 0
    while (s < max - p && prev.charCodeAt(prev.length - 1 - s) === cur.charCodeAt(cur.length - 1 - s)) s++
    // Numbers in base 36: a 10-digit byte count takes 6 characters.
    text += `${f.size.toString(36)}\t${p.toString(36)}\t${s.toString(36)}\t${cur.slice(p, cur.length - s)}\n`
    prev = cur
  }
  const body = Buffer.from(text, 'utf8')
  if (body.length > DEFLATE_OVER) return Buffer.concat([Buffer.of(CODED_DEFLATED), deflateRawSync(body)])
  return Buffer.concat([Buffer.of(CODED), body])
}

export function decodeFiles(name: string, blob: Uint8Array): IndexedFile[] {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
  const body = buf[0] === CODED_DEFLATED ? inflateRawSync(buf.subarray(1)) : buf.subarray(1)
  let text = body.toString('utf8')
  let prefix = ''
  if (text.startsWith('/')) {
    prefix = name + '/'
    text = text.slice(1)
  }
  const out: IndexedFile[] = []
  let prev = ''
  for (const line of text.split('\n')) {
    if (!line) continue
    const [size, p, s] = line.split('\t', 3)
    const middle = line.slice(size.length + p.length + s.length + 3)
    const pn = parseInt(p, 36)
    const sn = parseInt(s, 36)
    const cur = prev.slice(0, pn) + middle + prev.slice(prev.length - sn)
    out.push({ path: prefix + cur, size: parseInt(size, 36) })
    prev = cur
  }
  return out
}

const bit = (t: FileType) => 1 << FILE_TYPES.indexOf(t)
const SUBTITLES = new Set(['srt', 'ass', 'ssa', 'sub', 'idx', 'vtt', 'sup'])
const SUBTITLE_BIT = bit('subtitles')
/** The classifier's extension kinds as bitmagnet's file types. */
const TYPE_OF_KIND: Record<string, number> = {
  video: bit('video'), audio: bit('audio'), audiobook: bit('audio'), ebook: bit('document'), comic: bit('document'),
  program: bit('software'), rom: bit('software'), archive: bit('archive'), image: bit('image'), extra: bit('data'),
}

function typeOfExt(ext: string): number {
  if (SUBTITLES.has(ext)) return SUBTITLE_BIT
  const kind = EXTENSIONS[ext]
  return (kind && TYPE_OF_KIND[kind]) || 0
}

function typeOfPath(path: string): number {
  const dot = path.lastIndexOf('.')
  if (dot <= path.lastIndexOf('/') + 1 || path.length - dot > 10) return 0
  return typeOfExt(path.slice(dot + 1).toLowerCase())
}

/**
 * Which file types a torrent holds, as bits of FILE_TYPES: from its files, or from its name when it has no file list
 * (a single-file torrent is named after its file). Unknown extensions say nothing.
 */
export function fileTypesOf(name: string, files: readonly IndexedFile[] | undefined): number {
  if (!files || files.length === 0) return typeOfPath(name)
  let mask = 0
  for (const f of files) mask |= typeOfPath(f.path)
  return mask
}
