// What a torrent's file list says: which kind of file carries most of the bytes (video, audio, ebook …), the
// largest file (its extension is the container; a video's name may hold tags the torrent name lacks) and hints
// such as chapter-numbered audio (an audiobook).

import type { IndexedFile } from '../types.js'
import { EXTENSIONS, type FileKind } from './text.js'

export interface FileSummary {
  /** The kind holding most bytes, ignoring extras (nfo, sfv, subtitles, cover art) unless nothing else is there. */
  kind?: FileKind
  /** Extension of the largest file of that kind. */
  container?: string
  /** Base name of the largest file of that kind. */
  mainName?: string
  /** Most frequent extension among audio files (decides the audio codec of an album). */
  audioExt?: string
  count: number
  /** Audio files named Chapter/Part/Track NN with a book-like layout. */
  chapters: boolean
}

function extOf(path: string): string | undefined {
  const slash = path.lastIndexOf('/')
  const dot = path.lastIndexOf('.')
  if (dot <= slash + 1) return undefined
  return path.slice(dot + 1).toLowerCase()
}

const CHAPTER = /(?:chapter|chap|kapitel|chapitre|capitulo|part|book)[ _.-]?\d/i

const KINDS: readonly FileKind[] = ['video', 'audio', 'audiobook', 'ebook', 'comic', 'program', 'rom', 'archive', 'image', 'extra']
const KIND_INDEX = new Map<FileKind, number>(KINDS.map((k, i) => [k, i]))
const EXTRA = KIND_INDEX.get('extra')!
const IMAGE = KIND_INDEX.get('image')!
const AUDIO = KIND_INDEX.get('audio')!

// Fixed arrays by kind rather than Maps: this runs on every torrent the index stores, on every one of its files.
export function summarizeFiles(files: readonly IndexedFile[]): FileSummary {
  const bytes = new Array<number>(KINDS.length).fill(-1)
  const bigSize = new Array<number>(KINDS.length).fill(-1)
  const bigPath = new Array<string>(KINDS.length)
  const bigExt = new Array<string>(KINDS.length)
  const seen: number[] = []
  let audioCount: Map<string, number> | undefined
  let chapterFiles = 0
  let audioFiles = 0
  for (const f of files) {
    const ext = extOf(f.path)
    if (!ext) continue
    const kind = KIND_INDEX.get(EXTENSIONS[ext]) ?? EXTRA
    const size = Number.isFinite(f.size) && f.size > 0 ? f.size : 0
    if (bytes[kind] < 0) {
      bytes[kind] = 0
      seen.push(kind) // ties go to the kind seen first
    }
    bytes[kind] += size
    if (size > bigSize[kind]) {
      bigSize[kind] = size
      bigPath[kind] = f.path
      bigExt[kind] = ext
    }
    if (kind === AUDIO) {
      audioFiles++
      audioCount ??= new Map()
      audioCount.set(ext, (audioCount.get(ext) ?? 0) + 1)
      if (CHAPTER.test(f.path.slice(f.path.lastIndexOf('/') + 1))) chapterFiles++
    }
  }
  let k = -1
  let best = -1
  for (const i of seen) {
    if (i === EXTRA || i === IMAGE) continue
    if (bytes[i] > best) {
      best = bytes[i]
      k = i
    }
  }
  if (k < 0) k = bytes[IMAGE] >= 0 ? IMAGE : bytes[EXTRA] >= 0 ? EXTRA : -1
  let audioExt: string | undefined
  let most = 0
  if (audioCount) for (const [ext, n] of audioCount) if (n > most) (most = n), (audioExt = ext)
  const path = k >= 0 ? bigPath[k] : undefined
  return {
    kind: k >= 0 ? KINDS[k] : undefined,
    container: k >= 0 ? bigExt[k] : undefined,
    mainName: path !== undefined ? path.slice(path.lastIndexOf('/') + 1) : undefined,
    audioExt,
    count: files.length,
    chapters: audioFiles >= 3 && chapterFiles >= audioFiles / 2,
  }
}
