// The content classifier: a pure function of a torrent's name and file list to its attributes (type, title, year,
// season/episode, resolution, source, codecs, languages, group …). Used by the index on every torrent and by
// `bt classify`. (Placeholder: the real classifier replaces this body.)

import type { Classification, IndexedFile } from './types.js'

export function classify(name: string, files?: readonly IndexedFile[]): Classification {
  void name
  void files
  return { contentType: 'unknown', seasons: [], episodes: [], languages: [], complete: false }
}
