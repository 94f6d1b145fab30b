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

export function summarizeFiles(files: readonly IndexedFile[]): FileSummary {
  const bytes = new Map<FileKind, number>()
  const biggest = new Map<FileKind, { size: number; path: string; ext: string }>()
  const audioCount = new Map<string, number>()
  let chapterFiles = 0
  let audioFiles = 0
  for (const f of files) {
    const ext = extOf(f.path)
    if (!ext) continue
    const kind = EXTENSIONS[ext] ?? 'extra'
    const size = Number.isFinite(f.size) && f.size > 0 ? f.size : 0
    bytes.set(kind, (bytes.get(kind) ?? 0) + size)
    const big = biggest.get(kind)
    if (!big || size > big.size) biggest.set(kind, { size, path: f.path, ext })
    if (kind === 'audio') {
      audioFiles++
      audioCount.set(ext, (audioCount.get(ext) ?? 0) + 1)
      if (CHAPTER.test(f.path.slice(f.path.lastIndexOf('/') + 1))) chapterFiles++
    }
  }
  let kind: FileKind | undefined
  let best = -1
  for (const [k, n] of bytes) {
    if (k === 'extra' || k === 'image') continue
    if (n > best) {
      best = n
      kind = k
    }
  }
  if (kind === undefined) kind = bytes.has('image') ? 'image' : bytes.has('extra') ? 'extra' : undefined
  const big = kind ? biggest.get(kind) : undefined
  let audioExt: string | undefined
  let most = 0
  for (const [ext, n] of audioCount) if (n > most) (most = n), (audioExt = ext)
  const name = big ? big.path.slice(big.path.lastIndexOf('/') + 1) : undefined
  return {
    kind,
    container: big?.ext,
    mainName: name,
    audioExt,
    count: files.length,
    chapters: audioFiles >= 3 && chapterFiles >= audioFiles / 2,
  }
}
