// Where a release sits in a series: seasons and episodes (S01E02, S01E02E03, S02E01-03, 1x05, S01-S03, Season 2,
// 2nd Season), anime absolute numbering (`Title - 05`, `- 01-22`, `(001-500)`), air dates of daily shows
// (2024.03.14, 24.03.14 in adult scene names, 03-13-2024, 16-March-2024, March 16, 2024), and pack markers.

export interface Episodes {
  seasons: number[]
  episodes: number[]
  /** Where the first season/episode marker starts (the title ends there), or -1. */
  pos: number
  /** Episodes numbered from the start of the series (anime), with no season. */
  absolute: boolean
  /** An absolute range (`01-22`): a batch of a whole season. */
  batch: boolean
  /** `Complete`, `Complete Series`, `COMPLETE`: position, or -1. */
  completePos: number
  /** `Complete Series`/`Complete Season`: a pack whatever the type cues say. */
  completeSeries: boolean
}

export interface AirDate {
  date: string
  year: number
  pos: number
  end: number
}

function range(a: number, b: number): number[] {
  if (b < a || b - a > 2000) return [a]
  const out: number[] = []
  for (let i = a; i <= b; i++) out.push(i)
  return out
}

function add(list: number[], values: number[]): void {
  for (const v of values) if (!list.includes(v)) list.push(v)
}

const SXE = /(?<![a-z0-9])s(\d{1,3}|(?:19|20)\d\d)[ .]?e(\d{1,4})((?:[ .]?-[ .]?e?\d{1,4}(?![0-9p])|[ .]?e\d{1,4})*)(?![0-9])/gi
const TAIL = /(-)?[ .]?e?(\d{1,4})/gi
const NXN = /(?<![a-z0-9])(\d{1,2})x(\d{2,3})(?:-(\d{2,3}))?(?![a-z0-9])/gi
const SPACK = /(?<![a-z0-9])s(\d{1,2})(?:[ .]?-[ .]?s?(\d{1,2}))?(?![a-z0-9])/gi
const SEASON_WORD = /(?<![a-z0-9])seasons?[ .]?(\d{1,2})(?:[ .]?(?:-|to)[ .]?(\d{1,2}))?(?![a-z0-9])/gi
const SEASON_ORD = /(?<![a-z0-9])(\d{1,2})(?:st|nd|rd|th)[ .]season(?![a-z0-9])/gi
// `Title - 05`, `Title - 01-22`, `Title - 1089 [1080p]`; years are not episodes.
const ANIME = /\s-\s(\d{1,4})(?:v\d)?(?:\s?-\s?(\d{1,4}))?(?=$|[\s[(.])/g
const ANIME_PAREN = /\((\d{2,4})\s?-\s?(\d{2,4})\)/g
// `Naruto 001-220`: a bare range written zero-padded, as batches are (`70-80s`, `1967-2014` are not ranges of episodes).
const ZERO_RANGE = /(?<![a-z0-9.])(0\d{1,3})\s?-\s?(\d{2,4})(?![a-z0-9])/g
// A lone episode marker with no season: `E12`, `EP05`, `Ep.7`, `Episode 12` (`E3` is too short to be one).
const LONE_EPISODE = /(?<![a-z0-9])(?:e(\d{2,3})|ep[ .]?(\d{1,3})|episode[ .]?(\d{1,4}))(?:v\d)?(?![a-z0-9])/gi
// `Complete` ends a title only where it is a tag: before a pack word, a bracket, a quality tag or the end.
const COMPLETE = /(?<![a-z0-9])(?:the[ .])?complete(?=$|[ .]?(?:series|seasons?|collection|edition|pack)(?![a-z])|[\s.]*[[(+\-)\]]|[ .](?:\d{3,4}p|dvd|blu|web|hdtv|bd|[xh]26|hevc|xvid)|\s*$)/gi
const COMPLETE_CAPS = /(?<![A-Za-z0-9])COMPLETE(?![A-Za-z0-9])/g
const SERIES = /(?<![a-z0-9])complete[ .](?:series|seasons?)(?![a-z])|(?<![a-z0-9])seasons?[ .]?\d{1,2}[ .]?(?:-|to)[ .]?\d{1,2}/i
/** `[SP]`, `Specials`, `OVA`: specials rather than a pack (asked only of fansub names and shows). */
export const SPECIAL = /[[(]\s*sp\s*[\])]|(?<![a-z0-9])(?:specials?|ova|oad)(?![a-z0-9])/i

// Cheap substring guards skip most of the patterns for most names (this runs on every torrent the index stores).
export function scanEpisodes(s: string): Episodes {
  const lower = s.toLowerCase()
  const season = lower.includes('season')
  const complete = lower.includes('complete')
  const e: Episodes = { seasons: [], episodes: [], pos: -1, absolute: false, batch: false, completePos: -1, completeSeries: false }
  const at = (p: number) => {
    if (e.pos < 0 || p < e.pos) e.pos = p
  }
  let m: RegExpExecArray | null
  SXE.lastIndex = 0
  while ((m = SXE.exec(s))) {
    add(e.seasons, [Number(m[1])])
    let last = Number(m[2])
    const eps = [last]
    TAIL.lastIndex = 0
    let t: RegExpExecArray | null
    while (m[3] && (t = TAIL.exec(m[3]))) {
      const n = Number(t[2])
      if (t[1]) eps.push(...range(last + 1, n))
      else eps.push(n)
      last = n
    }
    add(e.episodes, eps)
    at(m.index)
  }
  NXN.lastIndex = 0
  while (lower.includes('x') && (m = NXN.exec(s))) {
    add(e.seasons, [Number(m[1])])
    add(e.episodes, m[3] ? range(Number(m[2]), Number(m[3])) : [Number(m[2])])
    at(m.index)
  }
  for (const re of season ? [SPACK, SEASON_WORD] : [SPACK]) {
    re.lastIndex = 0
    while ((m = re.exec(s))) {
      add(e.seasons, m[2] ? range(Number(m[1]), Number(m[2])) : [Number(m[1])])
      at(m.index)
    }
  }
  SEASON_ORD.lastIndex = 0
  while (season && (m = SEASON_ORD.exec(s))) {
    add(e.seasons, [Number(m[1])])
    at(m.index)
  }
  if (e.episodes.length === 0) {
    ANIME.lastIndex = 0
    while (s.includes(' - ') && (m = ANIME.exec(s))) {
      const a = Number(m[1])
      if (!m[2] && m[1].length === 4 && a >= 1900 && a <= 2099) continue
      add(e.episodes, m[2] ? range(a, Number(m[2])) : [a])
      e.absolute = true
      e.batch = Boolean(m[2])
      at(m.index)
      break
    }
    ANIME_PAREN.lastIndex = 0
    if (!e.absolute && s.includes('(') && (m = ANIME_PAREN.exec(s)) && !/^(?:19|20)\d\d$/.test(m[1])) {
      add(e.episodes, range(Number(m[1]), Number(m[2])))
      e.absolute = true
      e.batch = true
      at(m.index)
    }
    ZERO_RANGE.lastIndex = 0
    if (!e.absolute && e.seasons.length === 0 && (m = ZERO_RANGE.exec(s)) && Number(m[2]) > Number(m[1])) {
      add(e.episodes, range(Number(m[1]), Number(m[2])))
      e.absolute = true
      e.batch = true
      at(m.index)
    }
    LONE_EPISODE.lastIndex = 0
    if (!e.absolute && e.episodes.length === 0 && (m = LONE_EPISODE.exec(s))) {
      add(e.episodes, [Number(m[1] ?? m[2] ?? m[3])])
      at(m.index)
    }
  }
  if (complete) {
    COMPLETE.lastIndex = 0
    if ((m = COMPLETE.exec(s))) e.completePos = m.index
    COMPLETE_CAPS.lastIndex = 0
    if ((m = COMPLETE_CAPS.exec(s)) && (e.completePos < 0 || m.index < e.completePos)) e.completePos = m.index
  }
  e.completeSeries = (complete || season) && SERIES.test(s)
  return e
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 }
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*'
const YMD = /(?<![0-9])((?:19|20)\d\d)[ .-](0[1-9]|1[0-2])[ .-](0[1-9]|[12]\d|3[01])(?![0-9])/g
const MDY = /(?<![0-9])(0[1-9]|1[0-2])[ .-](0[1-9]|[12]\d|3[01])[ .-]((?:19|20)\d\d)(?![0-9])/g
const DMONY = new RegExp(`(?<![0-9])(\\d{1,2})[ -]${MONTH}[ ,-]+((?:19|20)\\d\\d)(?![0-9])`, 'gi')
const MONDY = new RegExp(`(?<![a-z])${MONTH}[ .](\\d{1,2}),?[ .]((?:19|20)\\d\\d)(?![0-9])`, 'gi')
/** `Studio.24.03.15.` right after a first word: adult scene dates, two-digit years. */
const SHORT = /^[a-z][a-z0-9]*(?: [a-z][a-z0-9]*)? (\d\d) (0[1-9]|1[0-2]) (0[1-9]|[12]\d|3[01])(?![0-9])/i
/** A month right before a year (`April 2024`): magazine issues; the title ends at the month. */
export const MONTH_YEAR = new RegExp(`(?<![a-z])${MONTH}[ .,-]+(?:19|20)\\d\\d(?![0-9])`, 'i')

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

function date(y: number, mo: number, d: number, pos: number, end: number): AirDate {
  return { date: `${y}-${pad(mo)}-${pad(d)}`, year: y, pos, end }
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

export function scanAirDate(s: string, shortDates: boolean): AirDate | undefined {
  let m: RegExpExecArray | null
  YMD.lastIndex = 0
  if ((m = YMD.exec(s))) return date(Number(m[1]), Number(m[2]), Number(m[3]), m.index, m.index + m[0].length)
  MDY.lastIndex = 0
  if ((m = MDY.exec(s))) return date(Number(m[3]), Number(m[1]), Number(m[2]), m.index, m.index + m[0].length)
  const lower = s.toLowerCase()
  const month = MONTH_NAMES.some((mo) => lower.includes(mo))
  DMONY.lastIndex = 0
  if (month && (m = DMONY.exec(s))) return date(Number(m[3]), MONTHS[m[2].toLowerCase()], Number(m[1]), m.index, m.index + m[0].length)
  MONDY.lastIndex = 0
  if (month && (m = MONDY.exec(s))) return date(Number(m[3]), MONTHS[m[1].toLowerCase()], Number(m[2]), m.index, m.index + m[0].length)
  if (shortDates && (m = SHORT.exec(s))) {
    const pos = m[0].length - 8
    return date(2000 + Number(m[1]), Number(m[2]), Number(m[3]), pos, m[0].length)
  }
  return undefined
}
