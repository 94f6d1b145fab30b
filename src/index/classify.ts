// The content classifier: a pure function of a torrent's name and file list to its attributes (type, title, year,
// season/episode, resolution, source, codecs, languages, group …). Used by the index on every torrent and by
// `bt classify`. Written here rather than taken from parse-torrent-title or @ctrl/video-filename-parser: both only
// know video names (no music, books, software, games), and bench/classify.js shows this one ahead on every field.
//
// Steps: split off a file extension; make a spaced copy of the name (same length: positions map back); find
// every tag with its position (quality.ts, episodes.ts, languages.ts); decide the type (kind.ts; the file list
// first); then take the title up to the first tag that ends a title of that type, and keep the fields that
// make sense for that type.

import type { Classification, ContentType, IndexedFile } from './types.js'
import { spaced, splitExtension, styleOf, EXTENSIONS, type FileKind } from './classify/text.js'
import { pick, pickHdr, scanQuality, type Hit, type Quality } from './classify/quality.js'
import { MONTH_YEAR, SPECIAL, scanAirDate, scanEpisodes } from './classify/episodes.js'
import { DUAL_AUDIO, DUAL_LANGUAGE, scanLanguages } from './classify/languages.js'
import { summarizeFiles, type FileSummary } from './classify/files.js'
import { AUDIOBOOK, EBOOK, GAME_TAGS, SOFTWARE_TAGS, SPORT, VERSION, XXX_CAPS, XXX_STUDIO, Cue, contentType, scanCues } from './classify/kind.js'
import { leadingGroup, trailingGroup } from './classify/group.js'
import { cleanTitle, findYear } from './classify/title.js'

export { normalizeTitle } from './classify/text.js'

const VIDEO_TYPES = new Set<ContentType>(['movie', 'tv_show', 'xxx', 'unknown'])

const FORMAT = /(?<![a-z0-9])(epub|pdf|mobi|azw3|azw|fb2|djvu|cbr|cbz|flac|mp3|m4b|ape|ogg|mkv|mp4|avi|webm|iso|apk|dmg|nsp|xci|pkg|wbfs|img|\d{2,3} ?kbps|320)(?![a-z0-9])/gi
const FORMATS_OF: Partial<Record<ContentType, Set<string>>> = {
  ebook: new Set(['epub', 'pdf', 'mobi', 'azw3', 'azw', 'fb2', 'djvu']),
  comic: new Set(['cbr', 'cbz', 'pdf']),
  music: new Set(['flac', 'mp3', 'ape', 'ogg']),
  audiobook: new Set(['m4b', 'mp3']),
  movie: new Set(['mkv', 'mp4', 'avi', 'webm']),
  tv_show: new Set(['mkv', 'mp4', 'avi', 'webm']),
  xxx: new Set(['mkv', 'mp4', 'avi', 'webm']),
  software: new Set(['iso', 'apk', 'dmg', 'img']),
  game: new Set(['iso', 'nsp', 'xci', 'pkg', 'wbfs', 'apk']),
}
const AUDIO_EXT_CODEC: Record<string, string> = { flac: 'flac', mp3: 'mp3', m4a: 'aac', aac: 'aac', m4b: 'aac', ogg: 'vorbis', opus: 'opus', wav: 'pcm', ape: 'ape', wma: 'wma', alac: 'alac' }
const ISSUE = /(?:#(\d{1,4})|(?<![a-z0-9.]|v |vol |vol\. )(\d{3,4}))(?=\s*(?:\(|\[|$|(?:19|20)\d\d(?!\d)|digital|of\s))/i

/** Words that end a music title (`Pink Floyd - Discography 1967-2014`, `Portishead-Dummy-CD-FLAC-1994`). */
const MUSIC_TAGS = /(?<![a-z0-9])(?:discography|vinyl|lp|sbd|\dcd|cd|24 ?bit|hi-?res)(?![a-z0-9])/i
/** A bare number segment of a dashed distribution name is its version (`linuxmint-22-cinnamon`). */
const BARE_NUMBER = /(?<=\s)\d+(?=\s|$)/
const BRACKET_EPISODE = /\[(\d{1,4})(?:v\d)?\]/

/** Where a bracket opens after `from`, or -1. */
function firstBracket(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s[i]
    if (c === '[' || c === '(' || c === '{') return i
  }
  return -1
}

// Keyed by module-level patterns only (a regex literal inside a function would be a new key on every call).
const globals = new Map<RegExp, RegExp>()

/** Index of the first match of `re` at or after `from`, or -1 (through a cached global copy of `re`). */
function firstMatch(re: RegExp, s: string, from: number): number {
  let g = globals.get(re)
  if (!g) {
    g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')
    globals.set(re, g)
  }
  g.lastIndex = from
  const m = g.exec(s)
  return m ? m.index : -1
}

function typeOfExt(ext: string | undefined): FileKind | undefined {
  return ext ? EXTENSIONS[ext] : undefined
}

function strongVideo(q: Quality): boolean {
  return (
    q.resolution.some((h) => !h.weak) ||
    q.videoCodec.length > 0 ||
    q.source.some((h) => !h.weak && h.value !== 'vinyl' && h.value !== 'cd') ||
    q.hdr.length > 0 ||
    q.threeD.length > 0
  )
}

/** Longer names are cut: real ones stay far below, and the DHT hands us whatever anyone sends. */
const MAX_NAME = 1024

export function classify(name: string, files?: readonly IndexedFile[]): Classification {
  const trimmed = (name.length > MAX_NAME ? name.slice(0, MAX_NAME) : name).trim()
  const { base, ext } = splitExtension(trimmed)
  const style = styleOf(base)
  const s = spaced(base, style)
  const summary: FileSummary | undefined = files && files.length > 0 ? summarizeFiles(files) : undefined

  // Where the title may start: after `[Group]`; `[Group][Title][Movie]…` puts the title in the next bracket.
  // `【site or sub group】` prefixes of Chinese releases are neither title nor a release group.
  let prefix = 0
  while (base[prefix] === '【' && base.indexOf('】', prefix) > 0) {
    prefix = base.indexOf('】', prefix) + 1
    while (base[prefix] === ' ' || base[prefix] === '.') prefix++
  }
  const lead = prefix === 0 ? leadingGroup(base) : undefined
  let start = lead ? lead.end : prefix
  while (start < s.length && s[start] === ' ') start++

  const q = scanQuality(s)
  const eps = scanEpisodes(s)
  // Fansub `[Group] Title [05][1080p]`: an episode number alone in brackets.
  if (lead && eps.episodes.length === 0 && eps.seasons.length === 0) {
    const b = BRACKET_EPISODE.exec(s.slice(lead.end))
    if (b && !/^(?:19|20)\d\d$/.test(b[1])) {
      eps.episodes.push(Number(b[1]))
      eps.absolute = true
      eps.pos = lead.end + b.index
    }
  }
  const xxxCaps = XXX_CAPS.test(s)
  const cues = scanCues(s)
  const date = scanAirDate(s, xxxCaps || (cues & Cue.xxx) !== 0)
  const year = findYear(s, start, date)
  const video = strongVideo(q)
  const special = lead !== undefined && SPECIAL.test(s)
  const tvCue = eps.seasons.length > 0 || eps.episodes.length > 0 || special

  const type = contentType(
    {
      s,
      base,
      files: summary?.kind,
      nameExt: typeOfExt(ext),
      strongVideo: video,
      tv: tvCue,
      date: date !== undefined && (video || q.source.length > 0),
      year: year !== undefined,
      fansub: lead !== undefined,
      xxxCaps,
      cues,
      completeWord: eps.completePos >= 0,
      completeSeries: eps.completeSeries,
    },
    summary?.chapters,
  )
  const isVideo = VIDEO_TYPES.has(type)

  // Adult scene names: `Studio.24.03.15.Performer.Title.XXX…`, `Studio - Performer - Title`.
  if (type === 'xxx') {
    const studio = XXX_STUDIO.exec(s.slice(start))
    if (studio) start += studio[0].length
    if (date && date.pos <= start + 1 && date.end > start) start = date.end
    while (start < s.length && s[start] === ' ') start++
  }
  if (s[start] === '[') {
    const close = s.indexOf(']', start)
    if (close > start) {
      const inner = s.slice(start + 1, close)
      if (!/^\s*(?:\d{3,4}p|movie|bd|web|dvd)/i.test(inner)) start += 1
    }
  }

  // What ends the title, for this type.
  let end = s.length
  const cut = (p: number) => {
    if (p > start && p < end) end = p
  }
  const qualityHits: Hit[][] = [q.resolution, q.source, q.videoCodec, q.audioCodec, q.hdr, q.threeD]
  for (const hits of qualityHits) for (const h of hits) if (!(type === 'game' || type === 'software') || !h.weak) cut(h.pos)
  const gameish = type === 'game' || type === 'software'
  for (const h of q.edition) if (!h.weak && !(gameish && h.value === 'remastered')) cut(h.pos)
  if (year) cut(year.pos)
  if (date) cut(date.pos)
  if (type === 'tv_show' && eps.pos >= 0) cut(eps.pos)
  if (eps.completePos >= 0) cut(eps.completePos)
  const bracket = firstBracket(s, start + 1)
  if (bracket >= 0) cut(bracket)
  const group = trailingGroup(base, style, type === 'comic')
  if (group) cut(group.pos)
  if (type === 'xxx') cut(firstMatch(XXX_CAPS, s, start))
  if (type === 'audiobook') cut(firstMatch(AUDIOBOOK, s, start))
  if (type === 'ebook' || type === 'comic') {
    cut(firstMatch(EBOOK, s, start))
    const my = MONTH_YEAR.exec(s)
    if (my) cut(my.index)
  }
  if (type === 'music') cut(firstMatch(MUSIC_TAGS, s, start))
  if (type === 'software' || type === 'game') {
    cut(firstMatch(VERSION, s, start))
    cut(firstMatch(type === 'game' ? GAME_TAGS : SOFTWARE_TAGS, s, start + 1))
    if (type === 'software' && style === 'dash') cut(firstMatch(BARE_NUMBER, s, start + 1))
  }
  if (type === 'tv_show') cut(firstMatch(SPORT, s, start + 1))
  let issue: number | undefined
  if (type === 'comic') {
    const m = ISSUE.exec(s.slice(start))
    if (m && m.index > 0) {
      issue = Number(m[1] ?? m[2])
      cut(start + m.index)
    }
  }
  // Languages: a tag-case word (FRENCH) anywhere after the first word; a plain word (German) only after the title.
  const langHits = scanLanguages(s)
  for (const l of langHits) if (l.tag && l.pos > start) cut(l.pos)
  const titleEnd = end
  const title = cleanTitle(s, start, end)

  // Fields are only ever assigned defined values: deleting properties would slow every later use of the object.
  const out: Classification = { contentType: type, seasons: [], episodes: [], languages: [], complete: false }
  if (title) out.title = title
  if (year) out.year = year.value
  else if (date) out.year = date.year
  if (date) out.airDate = date.date
  const set = <K extends keyof Classification>(k: K, v: Classification[K] | undefined) => {
    if (v !== undefined) out[k] = v
  }

  // Quality fields; a video's largest file may carry the tags a short torrent name lacks.
  let mainQ: Quality | undefined
  if (isVideo && summary?.kind === 'video' && summary.mainName) {
    const mb = splitExtension(summary.mainName).base
    // Most releases name their video file after the torrent (`Name/Name.mkv`, or the single file itself): the
    // same text says the same, and scanning it twice was a tenth of classifying such a torrent.
    mainQ = mb === base ? undefined : scanQuality(spaced(mb, styleOf(mb)))
  }
  const field = (get: (x: Quality) => Hit[], accept?: (h: Hit) => boolean) => pick(get(q), accept) ?? (mainQ ? pick(get(mainQ), accept) : undefined)
  if (isVideo) {
    set('resolution', field((x) => x.resolution)?.value)
    const src = field((x) => x.source, (h) => h.value !== 'vinyl' && h.value !== 'cd')
    if (src) out.source = src.value === 'web' ? 'web-dl' : src.value
    set('videoCodec', field((x) => x.videoCodec)?.value)
    set('audioCodec', field((x) => x.audioCodec, (h) => !h.weak)?.value)
    set('hdr', pickHdr(q.hdr)?.value ?? (mainQ ? pickHdr(mainQ.hdr)?.value : undefined))
    if (q.threeD.length > 0) out.threeD = true
  } else if (type === 'music' || type === 'audiobook') {
    if (type === 'music') {
      const src = pick(q.source, (h) => h.value === 'vinyl' || h.value === 'cd' || h.value === 'web' || h.value === 'web-dl' || h.value === 'webrip')
      if (src) out.source = src.value === 'vinyl' || src.value === 'cd' ? src.value : 'web'
    }
    set('audioCodec', pick(q.audioCodec)?.value ?? (summary?.audioExt ? AUDIO_EXT_CODEC[summary.audioExt] : undefined))
  }
  const ed = pick(q.edition, (h) => (!h.weak || h.pos >= titleEnd) && !(gameish && h.value === 'remastered'))
  if (ed) out.edition = ed.value

  // Languages.
  const langs = new Set<string>()
  for (const l of langHits) if (l.tag ? l.pos > start : l.pos >= titleEnd) langs.add(l.code)
  if (langs.has('de') && DUAL_LANGUAGE.test(s)) langs.add('en')
  if (DUAL_AUDIO.test(s) && (lead !== undefined || eps.absolute)) {
    langs.add('ja')
    langs.add('en')
  }
  out.languages = [...langs].sort()

  // A fansub's leading [Group] wins over anything at the end (a trailing [SubsPlease] or -x265 is not one).
  if (lead && type !== 'comic') out.releaseGroup = lead.name
  else if (group) out.releaseGroup = group.name

  // Container: the file extension of the name, a format the name states, or the largest file's extension.
  let container = ext
  let bitrate: string | undefined // `320kbps` implies MP3 only when the files do not say otherwise
  if (!container) {
    const allowed = FORMATS_OF[type]
    FORMAT.lastIndex = 0
    let m: RegExpExecArray | null
    while (allowed && (m = FORMAT.exec(s))) {
      const f = m[1].toLowerCase()
      if (/kbps|320/.test(f)) {
        if (allowed.has('mp3')) bitrate ??= 'mp3'
      } else if (allowed.has(f)) {
        container = f
        break
      }
    }
  }
  container ??= summary?.container ?? bitrate
  if (container) out.container = container
  if (type === 'audiobook' && !out.audioCodec && container === 'm4b') out.audioCodec = 'aac'
  if (type === 'music' && !out.audioCodec && container && AUDIO_EXT_CODEC[container]) out.audioCodec = AUDIO_EXT_CODEC[container]

  if (type === 'tv_show') {
    out.seasons = eps.seasons.sort((a, b) => a - b)
    out.episodes = eps.episodes.sort((a, b) => a - b)
    const pack = out.episodes.length === 0 && !out.airDate && (out.seasons.length > 0 || eps.completePos >= 0 || eps.completeSeries || (lead !== undefined && !special))
    out.complete = pack || eps.batch
  }
  if (issue !== undefined) out.issue = issue
  return out
}
