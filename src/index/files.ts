// Compact storage of a torrent's file list: one blob per torrent instead of a row per file (a row per file costs
// ~40 bytes of row and index overhead each, and bitmagnet's per-file rows are much of its database size).
// Each path is stored against the one before it (shared prefix and suffix lengths, then the part in between), which
// shrinks episode and track lists ("Show.S01E01.1080p.mkv", "Show.S01E02.1080p.mkv" → "2") about as well as deflate
// at a fraction of its per-call cost (zlib spends ~20 µs setting up each stream, too slow for 50 000 torrents/s).
// Long lists are deflated on top, where that cost is spread over many files.

import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { tokenize } from './query/text.js'
import type { IndexedFile } from './types.js'

const CODED = 1
const CODED_DEFLATED = 2
const DEFLATE_OVER = 4096

/** Paths that all begin with `name/` (a multi-file torrent as bt lists it) are stored without it. */
function commonPrefix(name: string, files: readonly IndexedFile[]): string {
  const prefix = name + '/'
  return files.length > 0 && files.every((f) => f.path.startsWith(prefix)) ? prefix : ''
}

/**
 * The words of the paths for the full-text index: each word once, words of the name left out (the name column has
 * them). A set of words rather than the paths keeps the index small and fast to build for 50-episode packs; phrases
 * still match names, and any word of any path still finds the torrent.
 */
export function filesText(name: string, files: readonly IndexedFile[], maxWords = 2000): string {
  // One pass over all paths (name prefix cut), not one tokenizer call per file: this is the hot part of an import.
  const cut = commonPrefix(name, files).length
  let text = ''
  for (const f of files) {
    text += (cut ? f.path.slice(cut) : f.path) + '\n'
    if (text.length > 65536) break
  }
  const seen = new Set(tokenize(name))
  const out: string[] = []
  for (const tok of tokenize(text)) {
    if (seen.has(tok)) continue
    seen.add(tok)
    out.push(tok)
    if (out.length >= maxWords) break
  }
  return out.join(' ')
}

export function encodeFiles(name: string, files: readonly IndexedFile[]): Buffer {
  const prefix = commonPrefix(name, files)
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
    text += `${f.size}\t${p}\t${s}\t${cur.slice(p, cur.length - s)}\n`
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
    const cur = prev.slice(0, Number(p)) + middle + prev.slice(prev.length - Number(s))
    out.push({ path: prefix + cur, size: Number(size) })
    prev = cur
  }
  return out
}
