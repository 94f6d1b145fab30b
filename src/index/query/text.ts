// Text normalisation shared by the query parser and the stores: the same rules as SQLite's FTS5 tokenizer
// `unicode61 remove_diacritics 2` (letters and digits make tokens; everything else separates them; case and
// diacritics are folded), so a query token matches what either backend indexed.

const MARKS = /\p{M}+/gu
const SEPARATORS = /[^\p{L}\p{N}]+/u
const ASCII = /^[\x00-\x7f]*$/
const ASCII_SEPARATORS = /[^a-z0-9]+/

/** Fold case and diacritics: "Café" → "cafe". */
export function foldText(s: string): string {
  return s.normalize('NFKD').replace(MARKS, '').toLowerCase()
}

/** The tokens of a text, folded: "Spider-Man.2002.1080p" → ["spider", "man", "2002", "1080p"]. */
export function tokenize(s: string): string[] {
  // Most names are ASCII: skip Unicode normalisation for them (it is most of the cost of indexing file paths).
  const parts = ASCII.test(s) ? s.toLowerCase().split(ASCII_SEPARATORS) : foldText(s).split(SEPARATORS)
  return parts.filter((t) => t.length > 0)
}
