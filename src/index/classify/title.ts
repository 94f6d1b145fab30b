// The year and the title. A title runs from the start of the name (after a fansub group or an adult studio and
// date) to the first thing that is not title: the year, SxxEyy, a quality tag, a bracket, a version …
// Which things end it depends on the type (a " - 05" ends an anime title, not "Adele - 30").

const YEAR = /(?<![0-9a-z])((?:19|20)\d\d)(?![0-9a-z])/gi
const MAX_YEAR = new Date().getUTCFullYear() + 2

export interface Year {
  value: number
  pos: number
}

/**
 * The release year: a year in brackets wins (`Top 40 Dance Hits 2024 (2024)`), else the last one; a year that
 * starts the title (`2001 A Space Odyssey 1968`, `1917 2019`), ends a range (`1975-1979`), or is the whole second
 * part of `Author - 1984` is part of the title.
 */
export function findYear(s: string, start: number, skip?: { pos: number; end: number }): Year | undefined {
  let last: Year | undefined
  let bracketed: Year | undefined
  YEAR.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = YEAR.exec(s))) {
    const pos = m.index
    const value = Number(m[1])
    if (value > MAX_YEAR) continue
    if (skip && pos >= skip.pos && pos < skip.end) continue
    if (pos <= start || s.slice(start, pos).trim() === '') continue
    const prevCh = s[pos - 1]
    if (prevCh === '-' && /\d/.test(s[pos - 2] ?? '')) continue
    if (/^[^-]*\s-\s$/.test(s.slice(start, pos)) && /^\s*(?:$|[([])/.test(s.slice(pos + 4))) continue
    const y = { value, pos }
    if (prevCh === '(' || prevCh === '[') bracketed = y
    last = y
  }
  return bracketed ?? last
}

const TRIM = /^[\s\-–—:;,.|+~/]+|[\s\-–—:;,.|+~/]+$/g

/** The title between `start` and `end` of the spaced name, tidied. */
export function cleanTitle(s: string, start: number, end: number): string {
  return s.slice(start, end).replace(/\s+/g, ' ').replace(TRIM, '').replace(/\s+-$/, '').trim()
}
