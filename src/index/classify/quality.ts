// Quality tags of a release name: resolution, source, video and audio codecs, HDR, 3D and edition. Each rule is
// a regular expression over the spaced name (see text.ts) and a canonical value; every match is kept with its
// position, because the first tag after the title is where the title ends.

export interface Hit {
  value: string
  pos: number
  end: number
  /** Weak tags (`WEB`, `DVD`, `4K`, `320kbps`) lose to a strong tag of the same field wherever it is. */
  weak?: boolean
}

type Field = 'resolution' | 'source' | 'videoCodec' | 'audioCodec' | 'hdr' | 'threeD' | 'edition'

interface Rule {
  field: Field
  src: string
  value: string | ((text: string) => string)
  weak?: boolean
}

// Boundaries: a tag is never glued to a letter or digit on either side (`HDR` is not in `HDRip`, `DV` not in `DVD`).
const L = '(?<![a-z0-9])'
const R = '(?![a-z0-9])'

const RULES: Rule[] = []
function rules(field: Field, list: Array<[string, Rule['value'], boolean?]>): void {
  for (const [src, value, weak] of list) RULES.push({ field, src, value, weak })
}

const HEIGHT = /(2160|1440|1080|720|576|480|360)[pi]?$/i

// Order matters where two rules could match at the same place: the more specific comes first (DTS-HD before DTS).
rules('source', [
  [`${L}(?:blu[ -]?ray|bd[ -]?rip|br[ -]?rip|bd[ -]?remux|bdmux|remux|bd(?=[ -]?\\d{3,4}p)|bd(?= )|bd25|bd50)${R}`, 'bluray'],
  [`${L}web[ -]?dl${R}`, 'web-dl'],
  [`${L}web[ -]?rip${R}`, 'webrip'],
  // Bare WEB: an untouched web download in video scene rules, a web shop in music ones (the caller decides).
  [`${L}web(?![a-z0-9-])`, 'web', true],
  [`${L}(?:hdtv(?:rip)?|pdtv|sdtv|dsr|tv[ -]?rip)${R}`, 'hdtv'],
  [`${L}(?:dvd[ -]?scr|scr|screener)${R}`, 'screener'],
  [`${L}(?:dvd[ -]?rip|dvd[59]|dvd[ -]?r|dvd[ -]?full)${R}`, 'dvd'],
  [`${L}dvd${R}`, 'dvd', true],
  [`${L}(?:hd[ -]?cam|cam[ -]?rip|cam)${R}`, 'cam'],
  [`${L}(?:hd[ -]?ts|telesync|ts)${R}`, 'telesync'],
  [`${L}(?:hd[ -]?tc|telecine|tc)${R}`, 'telecine'],
  [`${L}vhs(?:[ -]?rip)?${R}`, 'vhs'],
  [`${L}(?:vinyl|lp)${R}`, 'vinyl'],
  [`${L}(?:cd[ -]?rip|\\d?cd)${R}`, 'cd'],
])
rules('resolution', [
  // `BD1080p` is also a Blu-ray source (see scanQuality).
  [`${L}(?:bd|hd)?(?:2160|1440|1080|720|576|480|360)[pi]${R}`, (t) => HEIGHT.exec(t)![1] + 'p'],
  [`${L}\\d{3,4}x(?:2160|1440|1080|720|576|480|360)${R}`, (t) => HEIGHT.exec(t)![1] + 'p'],
  [`${L}(?:4k|uhd)${R}`, '2160p', true],
])
rules('videoCodec', [
  [`${L}(?:[xh][ .]?265|hevc)${R}`, 'x265'],
  [`${L}(?:[xh][ .]?264|avc)${R}`, 'x264'],
  [`${L}xvid${R}`, 'xvid'],
  [`${L}divx${R}`, 'divx'],
  [`${L}av1${R}`, 'av1'],
  [`${L}vp9${R}`, 'vp9'],
  [`${L}mpeg[ -]?2${R}`, 'mpeg2'],
  [`${L}vc[ -]?1${R}`, 'vc1'],
])
rules('audioCodec', [
  [`${L}true[ -]?hd`, 'truehd'],
  [`${L}dts[ -:]?x${R}`, 'dts-x'],
  [`${L}(?:dts[ -]?hd|dts[ -]?ma)`, 'dts-hd'],
  [`${L}dts(?![a-z])`, 'dts'],
  [`${L}(?:ddp|dd\\+|e-?ac-?3|dolby digital plus)(?![a-z])`, 'eac3'],
  [`${L}(?:ac-?3|dd(?=[ ]?\\d)|dd${R}|dolby digital)(?![a-z])`, 'ac3'],
  [`${L}aac(?![a-z])`, 'aac'],
  [`${L}flac${R}`, 'flac'],
  [`${L}mp3${R}`, 'mp3'],
  [`${L}opus${R}`, 'opus'],
  [`${L}l?pcm${R}`, 'pcm'],
  [`${L}alac${R}`, 'alac'],
  [`${L}(?:ogg|vorbis)${R}`, 'vorbis'],
  [`${L}wma${R}`, 'wma'],
  // Bit rates mean MP3 and high-resolution markers FLAC, unless a codec is named.
  [`${L}(?:\\d{2,3} ?kbps|kbps|320|v0)${R}`, 'mp3', true],
  [`${L}(?:24 ?bit|hi-?res|24-(?:44|48|88|96|176|192)(?:[.,]\\d)?)`, 'flac', true],
])
rules('hdr', [
  [`${L}(?:dv|dovi|dolby[ .]?vision)${R}`, 'dv'],
  [`${L}hdr10(?:\\+|plus|p${R})`, 'hdr10+'],
  [`${L}hdr10(?![a-z0-9+])`, 'hdr10'],
  [`${L}hdr${R}`, 'hdr'],
  [`${L}hlg${R}`, 'hlg'],
])
rules('threeD', [[`${L}(?:3d|h-?sbs|sbs|half[ -]?(?:sbs|ou)|full[ -]?sbs|h-?ou)${R}`, 'true']])
/** Editions. `final cut` and `theatrical` are weak: they count only after the title has ended ("Disco Elysium - The Final Cut"). */
rules('edition', [
  [`${L}extended(?:[ .](?:cut|edition|version))?${R}`, 'extended'],
  [`${L}director'?s?[ .]?cut${R}`, 'directors-cut'],
  [`${L}unrated${R}`, 'unrated'],
  [`${L}uncut${R}`, 'uncut'],
  [`${L}(?:remaster(?:ed)?|restored(?:[ .]version)?)${R}`, 'remastered'],
  [`${L}imax${R}`, 'imax'],
  [`${L}criterion(?:[ .]collection)?${R}`, 'criterion'],
  [`${L}theatrical(?:[ .]cut)?${R}`, 'theatrical', true],
  [`${L}(?:the[ .])?final[ .]cut${R}`, 'final-cut', true],
  [`${L}special[ .]edition${R}`, 'special-edition'],
  [`${L}(?:\\d+(?:st|nd|rd|th)[ .])?anniversary(?:[ .]edition)?${R}`, 'anniversary'],
  [`${L}ultimate[ .](?:edition|cut)${R}`, 'ultimate'],
  [`${L}deluxe[ .](?:edition|version)${R}`, 'deluxe'],
  [`[(\\[]deluxe(?: edition)?[)\\]]`, 'deluxe'],
  [`${L}collector'?s[ .]edition${R}`, 'collectors'],
])

// All rules in one alternation, one capture group each: a single pass over the name instead of seventy (the
// index classifies millions of names). Tags do not overlap, so leftmost-first matching loses nothing.
// The left boundary is hoisted out of the alternation so that the alternatives are tried at word starts only.
const ALL = new RegExp(`${L}(?:${RULES.map((r) => `(${r.src.startsWith(L) ? r.src.slice(L.length) : r.src})`).join('|')})`, 'gi')
const APE = /(?<![A-Za-z0-9])APE(?![A-Za-z0-9])/g

export const HDR_RANK = ['dv', 'hdr10+', 'hdr10', 'hdr', 'hlg']

export interface Quality {
  resolution: Hit[]
  source: Hit[]
  videoCodec: Hit[]
  audioCodec: Hit[]
  hdr: Hit[]
  threeD: Hit[]
  edition: Hit[]
}

export function scanQuality(s: string): Quality {
  const q: Quality = { resolution: [], source: [], videoCodec: [], audioCodec: [], hdr: [], threeD: [], edition: [] }
  ALL.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = ALL.exec(s))) {
    let i = 1
    while (m[i] === undefined) i++
    const r = RULES[i - 1]
    const text = m[0]
    q[r.field].push({ value: typeof r.value === 'string' ? r.value : r.value(text), pos: m.index, end: m.index + text.length, weak: r.weak })
    if (r.field === 'resolution' && (text[0] === 'b' || text[0] === 'B')) q.source.push({ value: 'bluray', pos: m.index, end: m.index + 2 })
    if (text.length === 0) ALL.lastIndex++
  }
  APE.lastIndex = 0
  while ((m = APE.exec(s))) q.audioCodec.push({ value: 'ape', pos: m.index, end: m.index + 3 })
  return q
}

/** The value of a field: the first strong hit, else the first weak one (first in the name, ties by rule order). */
export function pick(hits: readonly Hit[], accept: (h: Hit) => boolean = () => true): Hit | undefined {
  let best: Hit | undefined
  for (const h of hits) {
    if (!accept(h)) continue
    if (!best || (best.weak && !h.weak) || (Boolean(best.weak) === Boolean(h.weak) && h.pos < best.pos)) best = h
  }
  return best
}

export function pickHdr(hits: readonly Hit[]): Hit | undefined {
  let best: Hit | undefined
  for (const h of hits) if (!best || HDR_RANK.indexOf(h.value) < HDR_RANK.indexOf(best.value)) best = h
  return best
}
