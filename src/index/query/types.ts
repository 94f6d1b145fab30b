// The typed form of a search query: what the grammar parses into, and what each backend compiles to SQL.
// Nothing here holds raw user text that a backend would splice into SQL: terms are lists of normalised tokens
// (letters and digits only) and filters are numbers or values from closed vocabularies (or bound as parameters).

import type { ContentType } from '../types.js'

/** word: all tokens adjacent (a one-token word, or `spider-man` → "spider man"); prefix: the last token is a prefix. */
export type TermKind = 'word' | 'phrase' | 'prefix'

export interface Term {
  kind: TermKind
  /** Normalised tokens (lower case, no diacritics, letters and digits only); never empty. */
  tokens: string[]
  /** `-word`: results must not contain it. */
  negated: boolean
  /** 1-based column of the term in the query text (0 when it came from an option). */
  position: number
}

/** Inclusive bounds; a missing bound is open. */
export interface Range {
  min?: number
  max?: number
}

/** `key:a,b` → any of a, b; `-key:a` → none of a. */
export interface SetFilter<T> {
  any?: T[]
  none?: T[]
}

export interface Filters {
  types?: SetFilter<ContentType>
  year?: Range
  /** Vertical resolutions: 480, 720, 1080, 2160 … */
  resolutions?: SetFilter<number>
  /** bluray, web-dl, webrip, hdtv, dvd, cam … */
  sources?: SetFilter<string>
  /** Video or audio codec, normalised (x264, x265, av1, aac, flac …). */
  codecs?: SetFilter<string>
  /** ISO 639-1 codes. */
  languages?: SetFilter<string>
  /** Release groups, compared case-insensitively. */
  groups?: SetFilter<string>
  /** Total bytes. */
  size?: Range
  /** Any of these seasons / episodes. */
  seasons?: number[]
  episodes?: number[]
  /** When published or first seen, ms since the epoch. */
  added?: Range
}

export type FilterKey = 'type' | 'year' | 'res' | 'source' | 'codec' | 'lang' | 'size' | 'season' | 'ep' | 'group' | 'added'

export interface Query {
  terms: Term[]
  filters: Filters
}

export interface ParseOptions {
  /** "Now" for relative dates (`added:<7d`), ms since the epoch; default Date.now(). */
  now?: number
}
