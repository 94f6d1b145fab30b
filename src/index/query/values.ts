// Values of inline filters (`type:movie`, `year:2019..2021`, `size:>1G`, `added:<7d` …): parsing, aliases and ranges.
// Each parser returns a value or throws a FilterValueError whose message the grammar turns into a positioned error.

import type { ContentType } from '../types.js'
import type { Range } from './types.js'

export class FilterValueError extends Error {}

function bad(msg: string): never {
  throw new FilterValueError(msg)
}

const TYPE_ALIASES: Record<string, ContentType> = {
  movie: 'movie', movies: 'movie', film: 'movie', films: 'movie',
  tv: 'tv_show', tv_show: 'tv_show', tvshow: 'tv_show', show: 'tv_show', shows: 'tv_show', series: 'tv_show', episode: 'tv_show',
  music: 'music', audio: 'music', album: 'music',
  ebook: 'ebook', ebooks: 'ebook', book: 'ebook', books: 'ebook',
  comic: 'comic', comics: 'comic',
  audiobook: 'audiobook', audiobooks: 'audiobook',
  software: 'software', app: 'software', apps: 'software', application: 'software',
  game: 'game', games: 'game',
  xxx: 'xxx', porn: 'xxx', adult: 'xxx',
  unknown: 'unknown',
}

export const CONTENT_TYPES: readonly ContentType[] = ['movie', 'tv_show', 'music', 'ebook', 'comic', 'audiobook', 'software', 'game', 'xxx', 'unknown']

export function parseType(v: string): ContentType {
  const t = TYPE_ALIASES[v.toLowerCase().replace(/-/g, '_')]
  if (!t) bad(`unknown type "${v}" (one of ${CONTENT_TYPES.join(', ')})`)
  return t
}

/** Vertical resolutions the classifier reports, smallest first (ranges expand over these). */
export const RESOLUTIONS = [240, 360, 480, 576, 720, 1080, 1440, 2160, 4320] as const
const RES_ALIASES: Record<string, number> = { sd: 480, hd: 720, fhd: 1080, '2k': 1440, qhd: 1440, '4k': 2160, uhd: 2160, '8k': 4320 }

/** '1080p' | '1080' | '4k' → 1080 | 1080 | 2160; also what the store makes of the classifier's resolution. */
export function resolutionNumber(v: string): number | undefined {
  const s = v.toLowerCase()
  if (RES_ALIASES[s]) return RES_ALIASES[s]
  const m = /^(\d{3,4})[pi]?$/.exec(s)
  return m ? Number(m[1]) : undefined
}

export function parseResolutions(v: string): number[] {
  const cmp = /^(>=|<=|>|<)(.+)$/.exec(v)
  const range = /^(.*)\.\.(.*)$/.exec(v)
  const num = (s: string): number => resolutionNumber(s) ?? bad(`bad resolution "${s}" (e.g. 720p, 1080p, 4k)`)
  let lo = -Infinity
  let hi = Infinity
  if (cmp) {
    const n = num(cmp[2])
    if (cmp[1] === '>') lo = n + 1
    else if (cmp[1] === '>=') lo = n
    else if (cmp[1] === '<') hi = n - 1
    else hi = n
  } else if (range) {
    if (range[1]) lo = num(range[1])
    if (range[2]) hi = num(range[2])
  } else {
    return [num(v)]
  }
  const out = RESOLUTIONS.filter((r) => r >= lo && r <= hi)
  if (out.length === 0) bad(`no resolution in "${v}"`)
  return [...out]
}

const SOURCE_ALIASES: Record<string, string> = {
  bluray: 'bluray', 'blu-ray': 'bluray', bdrip: 'bluray', brrip: 'bluray', bd: 'bluray', bdremux: 'bluray', remux: 'bluray',
  'web-dl': 'web-dl', webdl: 'web-dl', web: 'web-dl',
  webrip: 'webrip', 'web-rip': 'webrip',
  hdtv: 'hdtv', tv: 'hdtv', pdtv: 'hdtv', sdtv: 'hdtv',
  dvd: 'dvd', dvdrip: 'dvd', dvdr: 'dvd', dvd5: 'dvd', dvd9: 'dvd',
  cam: 'cam', camrip: 'cam', hdcam: 'cam', ts: 'telesync', telesync: 'telesync', hdts: 'telesync', tc: 'telecine', telecine: 'telecine',
  screener: 'screener', scr: 'screener', dvdscr: 'screener', vhs: 'vhs', hdrip: 'hdrip', ppv: 'ppv', vod: 'web-dl',
}

/** One spelling per source, for the query and for what the store keeps from the classifier. */
export function normalizeSource(v: string): string {
  const s = v.toLowerCase()
  return SOURCE_ALIASES[s] ?? SOURCE_ALIASES[s.replace(/[^a-z0-9]/g, '')] ?? s
}

const CODEC_ALIASES: Record<string, string> = {
  x264: 'x264', h264: 'x264', 'h.264': 'x264', avc: 'x264',
  x265: 'x265', h265: 'x265', 'h.265': 'x265', hevc: 'x265',
  av1: 'av1', vp9: 'vp9', vp8: 'vp8', xvid: 'xvid', divx: 'divx', mpeg2: 'mpeg2', 'mpeg-2': 'mpeg2', vc1: 'vc1', 'vc-1': 'vc1',
  aac: 'aac', ac3: 'ac3', 'dd': 'ac3', 'dd5.1': 'ac3', eac3: 'eac3', 'ddp': 'eac3', 'dd+': 'eac3', dts: 'dts', 'dts-hd': 'dts-hd',
  truehd: 'truehd', atmos: 'atmos', flac: 'flac', mp3: 'mp3', opus: 'opus', vorbis: 'vorbis', alac: 'alac', pcm: 'pcm', lpcm: 'pcm',
}

export function normalizeCodec(v: string): string {
  const s = v.toLowerCase()
  return CODEC_ALIASES[s] ?? CODEC_ALIASES[s.replace(/[^a-z0-9.+-]/g, '')] ?? CODEC_ALIASES[s.replace(/[^a-z0-9]/g, '')] ?? s
}

const LANGUAGE_NAMES: Record<string, string> = {
  english: 'en', eng: 'en', french: 'fr', fre: 'fr', fra: 'fr', francais: 'fr', german: 'de', ger: 'de', deu: 'de', deutsch: 'de',
  spanish: 'es', spa: 'es', espanol: 'es', italian: 'it', ita: 'it', portuguese: 'pt', por: 'pt', russian: 'ru', rus: 'ru',
  japanese: 'ja', jpn: 'ja', jap: 'ja', chinese: 'zh', chi: 'zh', zho: 'zh', korean: 'ko', kor: 'ko', dutch: 'nl', nld: 'nl',
  swedish: 'sv', swe: 'sv', norwegian: 'no', nor: 'no', danish: 'da', dan: 'da', finnish: 'fi', fin: 'fi', polish: 'pl', pol: 'pl',
  turkish: 'tr', tur: 'tr', arabic: 'ar', ara: 'ar', hindi: 'hi', hin: 'hi', czech: 'cs', cze: 'cs', hungarian: 'hu', hun: 'hu',
  greek: 'el', gre: 'el', hebrew: 'he', heb: 'he', ukrainian: 'uk', ukr: 'uk', vietnamese: 'vi', vie: 'vi', thai: 'th', tha: 'th',
  romanian: 'ro', rum: 'ro', ron: 'ro', indonesian: 'id', ind: 'id',
}

export function parseLanguage(v: string): string {
  const s = v.toLowerCase()
  if (/^[a-z]{2}$/.test(s)) return s
  const code = LANGUAGE_NAMES[s]
  if (!code) bad(`unknown language "${v}" (a two-letter code such as en, fr, de)`)
  return code
}

/** A plain value (source, codec, group): letters, digits and a few separators, at most 64 characters. */
export function parseName(v: string, what: string): string {
  if (v.length === 0 || v.length > 64) bad(`bad ${what} "${v}"`)
  return v
}

function parseNumber(s: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(s)) bad(`bad ${what} "${s}"`)
  const n = Number(s)
  if (n < min || n > max) bad(`${what} ${s} out of range ${min}..${max}`)
  return n
}

/**
 * A numeric range: `N`, `A..B`, `A..`, `..B`, `>N`, `>=N`, `<N`, `<=N`. `unit` turns one bound's text into a number;
 * `strict` is the step that `>`/`<` add or remove (1 for integers).
 */
function parseRange(v: string, unit: (s: string) => number, exactIsRange?: (s: string) => Range): Range {
  const cmp = /^(>=|<=|>|<)(.+)$/.exec(v)
  if (cmp) {
    const n = unit(cmp[2])
    switch (cmp[1]) {
      case '>': return { min: n + 1 }
      case '>=': return { min: n }
      case '<': return { max: n - 1 }
      default: return { max: n }
    }
  }
  const range = /^(.*?)\.\.(.*)$/.exec(v)
  if (range) {
    if (!range[1] && !range[2]) bad(`empty range "${v}"`)
    const r: Range = {}
    if (range[1]) r.min = unit(range[1])
    if (range[2]) r.max = unit(range[2])
    if (r.min !== undefined && r.max !== undefined && r.min > r.max) bad(`empty range "${v}"`)
    return r
  }
  if (exactIsRange) return exactIsRange(v)
  const n = unit(v)
  return { min: n, max: n }
}

export function parseYearRange(v: string): Range {
  return parseRange(v, (s) => parseNumber(s, 'year', 1800, 2200))
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }

/** `700M`, `1.5G`, `4GiB`, `2gb`, `123456` → bytes (binary multiples). */
export function parseSizeValue(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgtp]?)(?:i?b)?$/i.exec(s)
  if (!m) bad(`bad size "${s}" (e.g. 700M, 1.5G)`)
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()])
}

export function parseSizeRange(v: string): Range {
  // A bare size means "at least": size:1G finds what is 1 GiB or more (an exact byte count is never what one wants).
  return parseRange(v, parseSizeValue, (s) => ({ min: parseSizeValue(s) }))
}

/** Small integer lists and ranges: `2`, `1,3`, `1..4` (at most 200 values). */
export function parseIntList(v: string, what: string): number[] {
  const out: number[] = []
  for (const part of v.split(',')) {
    const r = /^(\d+)\.\.(\d+)$/.exec(part)
    if (r) {
      const a = parseNumber(r[1], what, 0, 9999)
      const b = parseNumber(r[2], what, 0, 9999)
      if (b < a || b - a > 200) bad(`bad ${what} range "${part}"`)
      for (let i = a; i <= b; i++) out.push(i)
    } else {
      out.push(parseNumber(part, what, 0, 9999))
    }
  }
  return [...new Set(out)]
}

const DAY = 86_400_000
const AGE_UNITS: Record<string, number> = { h: 3_600_000, d: DAY, w: 7 * DAY, m: 30 * DAY, mo: 30 * DAY, y: 365 * DAY }

/** `7d` → an age in ms; undefined if it is not an age. */
function parseAge(s: string): number | undefined {
  const m = /^(\d+)(h|d|w|mo|m|y)$/i.exec(s)
  return m ? Number(m[1]) * AGE_UNITS[m[2].toLowerCase()] : undefined
}

/** `2024`, `2024-03`, `2024-03-05` (UTC) → [start, end) in ms. */
function parseDate(s: string): [number, number] {
  const m = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$/.exec(s)
  if (!m) bad(`bad date "${s}" (YYYY, YYYY-MM, YYYY-MM-DD, or an age such as 7d, 12h, 2w, 3mo, 1y)`)
  const y = Number(m[1])
  const mo = m[2] ? Number(m[2]) : undefined
  const d = m[3] ? Number(m[3]) : undefined
  if (mo !== undefined && (mo < 1 || mo > 12)) bad(`bad date "${s}"`)
  if (d !== undefined && (d < 1 || d > 31)) bad(`bad date "${s}"`)
  const start = Date.UTC(y, (mo ?? 1) - 1, d ?? 1)
  const end = d !== undefined ? Date.UTC(y, mo! - 1, d + 1) : mo !== undefined ? Date.UTC(y, mo, 1) : Date.UTC(y + 1, 0, 1)
  return [start, end]
}

/**
 * `added:` values. Ages count back from `now`: `<7d` (newer than 7 days), `>1y` (older than a year), `7d` (same as
 * `<7d`), `7d..30d`. Dates are UTC: `2024-03-05` (that day), `>=2024-03`, `2024-01-01..2024-06-30` (both days included).
 */
export function parseAddedRange(v: string, now: number): Range {
  const cmp = /^(>=|<=|>|<)(.+)$/.exec(v)
  if (cmp) {
    const age = parseAge(cmp[2])
    if (age !== undefined) return cmp[1].startsWith('<') ? { min: now - age } : { max: now - age }
    const [start, end] = parseDate(cmp[2])
    switch (cmp[1]) {
      case '>': return { min: end }
      case '>=': return { min: start }
      case '<': return { max: start - 1 }
      default: return { max: end - 1 }
    }
  }
  const range = /^(.*?)\.\.(.*)$/.exec(v)
  if (range) {
    if (!range[1] && !range[2]) bad(`empty range "${v}"`)
    const a = range[1] ? parseAge(range[1]) : undefined
    const b = range[2] ? parseAge(range[2]) : undefined
    const r: Range = {}
    if (a !== undefined || b !== undefined) {
      // Ages: 7d..30d is between 30 and 7 days ago, whichever way round it is written.
      if ((range[1] && a === undefined) || (range[2] && b === undefined)) bad(`do not mix ages and dates in "${v}"`)
      const ages = [a, b].filter((x): x is number => x !== undefined)
      if (ages.length === 2) return { min: now - Math.max(...ages), max: now - Math.min(...ages) }
      return a !== undefined ? { max: now - a } : { min: now - b! }
    }
    if (range[1]) r.min = parseDate(range[1])[0]
    if (range[2]) r.max = parseDate(range[2])[1] - 1
    if (r.min !== undefined && r.max !== undefined && r.min > r.max) bad(`empty range "${v}"`)
    return r
  }
  const age = parseAge(v)
  if (age !== undefined) return { min: now - age }
  const [start, end] = parseDate(v)
  return { min: start, max: end - 1 }
}
