// The content type: the file list decides first (twelve .flac files are music, an .epub an ebook, .iso/.exe a
// program), then words of the name in order of how much they give away (an adult studio, "Unabridged", .cbr,
// EPUB, FLAC, a game repacker, S01E02, 1080p, x64), and a year alone makes a movie.

import type { ContentType } from '../types.js'
import type { FileKind } from './text.js'

const L = '(?<![a-z0-9])'
const R = '(?![a-z0-9])'
const re = (src: string, flags = 'i') => new RegExp(src, flags)

export const XXX = re(
  `${L}(?:brazzers(?:exxtra)?|reality ?kings|vixen|blacked(?: ?raw)?|tushy(?: ?raw)?|naughty ?america|bang ?bros|pornhub|onlyfans|evil ?angel|digital ?playground|private specials|hustler'?s?|mofos|team ?skeet|nubiles|siterip|deeper|brazzers|porn|xvideos|fakehub|bangbros|metart|x-art|playboy plus|kink)${R}`,
)
export const XXX_CAPS = /(?<![A-Za-z0-9])XXX(?![A-Za-z0-9])/
/** Studio names that open an adult title (`Vixen - Elle Stone - …`, `Brazzers.24.03.15.…`); the title follows. */
export const XXX_STUDIO = re(
  `^(?:brazzers(?:exxtra)?|reality ?kings|vixen|blacked(?: ?raw)?|tushy(?: ?raw)?|naughty ?america|bang ?bros|pornhub|onlyfans|digital ?playground|mofos|team ?skeet|nubiles|deeper|fakehub)(?:[ .]+-[ .]+|[ .]+(?=\\d\\d[ .]\\d\\d[ .]\\d\\d))`,
)
export const AUDIOBOOK = re(`${L}(?:audio ?books?|unabridged|abridged|narrated by|read by|m4b|full cast)${R}`)
export const COMIC = re(
  `${L}(?:cbr|cbz|cb7)${R}|\\((?:digital|webrip|digital-empire)\\)|(?<=-)empire${R}|${L}(?:marvel|dc|image) week\\+?|${L}digital zone|\\(of \\d+\\)`,
)
/** `#12` is an issue number, or a book's place in its series (`Iron Flame (Empyrean #2) [EPUB]`): after EPUB. */
export const COMIC_WEAK = /#\d{1,4}(?![0-9])/
export const EBOOK = re(`${L}(?:epub|mobi|azw3?|fb2|djvu|e-?books?|true pdf|pdf)${R}`)
export const EBOOK_WEAK = re(
  `${L}(?:\\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth) edition${R}|${L}(?:o'?reilly|packt|no starch|wiley|manning|apress|pragmatic|addison|cookbook|handbook|magazine)${R}`,
)
export const MUSIC = re(
  `${L}(?:flac|mp3|alac|ogg|\\d{2,3} ?kbps|kbps|discography|vinyl|lp|24 ?bit|16 ?bit|24-(?:44|48|88|96|176|192)|hi-?res|dsd(?:64|128|256)?|sbd|ost|soundtrack|album|various artists|va|\\dcd|cd|cdrip|cd[ -]?flac|web[ -]flac|\\[320\\]|mp3 ?320|320)${R}`,
)
const MUSIC_CAPS = /(?<![A-Za-z0-9])APE(?![A-Za-z0-9])/
/** Scene music: `Artist-Album-(tags)-WEB-2023-GROUP`, `Burial-Untrue-2007-FTD`. */
export const MUSIC_SCENE = /^[^\s.-]+(?:-[^\s.-]+)+-(?:19|20)\d\d-[a-z0-9]+$/i
export const GAME = re(
  `${L}(?:codex|plaza|skidrow|reloaded|rune|tenoke|flt|empress|cpy|hoodlum|prophet|doge|tinyiso|goldberg|darksiders|razor1911|razor|ali213|3dm|simplex|hi2u|insaneramzes|elamigos|el amigos|fitgirl|dodi|xatab|kaos|r\\.?g\\.? mechanics|chovka|masquerade|bigbluebox|duplex|gog|repack|romset|no-intro|nsw|nsp|xci|ps[1-5]|psx|psp|ps ?vita|wii ?u?|wbfs|xbox ?(?:360|one|series)?|3ds|nds|gba|snes|nes|n64|switch|pc game|non-steam|steam|game of the year|goty|dlc)${R}|\\((?:usa|europe|japan|world|usa, europe|europe, usa|en,[a-z,]+)\\)|\\[pc\\]`,
)
export const SOFTWARE = re(
  `${L}(?:x64|x86|amd64|x86[ _-]64|arm64|aarch64|win(?:64|32)?|windows|macos ?x?|mac ?os|osx|linux|ubuntu|debian|fedora|archlinux|linuxmint|manjaro|opensuse|freebsd|kali|tails|raspberry pi os|centos|rocky linux|portable|multilingual|pre-?activated|keygen|crack(?:ed)?|patch|activator|license|serial|retail|msdn|installer|setup|lts|sp\\d|apk|\\d\\dh\\d|64[ -]?bit|32[ -]?bit|r2r|tnt|plugin|vst3?|build \\d+|adobe|microsoft|autodesk)${R}`,
)
export const VERSION = /(?<![a-z0-9])v\d+(?:[. ]\d+)+|(?<![a-z0-9.])\d+\.\d+(?:\.\d+)*(?![a-z0-9])/i
/** Words that end a software title (not product names like Windows or Ubuntu, which are the title). */
export const SOFTWARE_TAGS = re(
  `${L}(?:x64|x86|amd64|x86[ _-]64|arm64|aarch64|win(?:64|32)?|macos ?x?|mac ?os|osx|portable|multilingual|pre-?activated|keygen|crack(?:ed)?|patch|activator|license|serial|retail|msdn|installer|setup|lts|sp\\d|apk|\\d\\dh\\d|64[ -]?bit|32[ -]?bit|plugin|vst3?|build \\d+|dvd|iso|for)${R}`,
)
/** Words that end a game title: platforms, dumps, repacks (not `Game of the Year`, which is the title). */
export const GAME_TAGS = re(
  `${L}(?:repack|romset|nsw|nsp|xci|ps[1-5]|psx|psp|ps ?vita|wii ?u?|wbfs|xbox ?(?:360|one|series)?|3ds|nds|gba|snes|n64|switch|pc game|non-steam|dlc)${R}|\\((?:usa|europe|japan|world|usa, europe|europe, usa|en,[a-z,]+)\\)|\\[pc\\]`,
)
/** Sport broadcasts are episodes of a show without numbers. */
export const SPORT = re(`${L}(?:wwe|ufc|nfl|nba|nhl|mlb|f1tv|formula ?1|ppv|round ?\\d{1,2}(?![0-9])|motogp|uefa|premier league)${R}`)
export const MOVIE_WORD = re(`[[(]movie[)\\]]|${L}the movie${R}`)

/** Which of the cue families a name contains, as bits (one pass over the name for all of them). */
export const Cue = {
  xxx: 1,
  audiobook: 2,
  comic: 4,
  ebook: 8,
  comicWeak: 16,
  music: 32,
  game: 64,
  sport: 128,
  movie: 256,
  software: 512,
  version: 1024,
  ebookWeak: 2048,
} as const
const CUE_LIST: Array<[number, RegExp]> = [
  [Cue.xxx, XXX],
  [Cue.audiobook, AUDIOBOOK],
  [Cue.comic, COMIC],
  [Cue.ebook, EBOOK],
  [Cue.comicWeak, COMIC_WEAK],
  [Cue.music, MUSIC],
  [Cue.game, GAME],
  [Cue.sport, SPORT],
  [Cue.movie, MOVIE_WORD],
  [Cue.software, SOFTWARE],
  [Cue.version, VERSION],
  [Cue.ebookWeak, EBOOK_WEAK],
]
// Each family is one capture group of one alternation. The families hold no capture groups of their own, and
// their words do not overlap, so leftmost-first matching finds every family present. Every cue starts at a word
// start, so that boundary is hoisted in front: the alternatives are tried there only.
const CUES = new RegExp(`${L}(?:${CUE_LIST.map(([, r]) => `(${r.source.startsWith(L) ? r.source.slice(L.length) : r.source})`).join('|')})`, 'gi')

export function scanCues(s: string): number {
  let bits = 0
  CUES.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = CUES.exec(s))) {
    for (let i = 1; i <= CUE_LIST.length; i++) {
      if (m[i] !== undefined) {
        bits |= CUE_LIST[i - 1][0]
        break
      }
    }
    if (m[0].length === 0) CUES.lastIndex++
  }
  return bits
}

export interface KindSignals {
  s: string
  /** Original name without extension. */
  base: string
  files?: FileKind
  nameExt?: FileKind
  strongVideo: boolean
  tv: boolean
  /** A daily date: TV when the name also carries video tags. */
  date: boolean
  year: boolean
  /** `[Group] Title …`: fansub style. */
  fansub: boolean
  /** `XXX` in capitals, and an adult studio or site named (computed once by the caller). */
  xxxCaps: boolean
  /** scanCues(s). */
  cues: number
  completeWord: boolean
  completeSeries: boolean
}

function program(cues: number): ContentType {
  return cues & Cue.game ? 'game' : 'software'
}

function video(sig: KindSignals): ContentType {
  if (sig.xxxCaps || sig.cues & Cue.xxx) return 'xxx'
  if (sig.cues & Cue.movie) return 'movie'
  if (sig.tv || sig.completeSeries || (sig.completeWord && sig.strongVideo) || sig.cues & Cue.sport) return 'tv_show'
  if (sig.date) return 'tv_show'
  // A fansub batch with no number and no year is a series more often than a film.
  if (sig.fansub && !sig.year) return 'tv_show'
  return 'movie'
}

function byFileKind(kind: FileKind | undefined, sig: KindSignals): ContentType | undefined {
  switch (kind) {
    case 'video':
      return video(sig)
    case 'audiobook':
      return 'audiobook'
    case 'audio':
      return sig.cues & Cue.audiobook ? 'audiobook' : 'music'
    case 'comic':
      return 'comic'
    case 'ebook':
      return sig.cues & (Cue.comic | Cue.comicWeak) ? 'comic' : 'ebook'
    case 'program':
      return program(sig.cues)
    case 'rom':
      return 'game'
    default:
      return undefined
  }
}

export function contentType(sig: KindSignals, chapters = false): ContentType {
  const { s, cues } = sig
  if (sig.files === 'audio' && chapters && !(cues & Cue.music)) return 'audiobook'
  const fromFiles = byFileKind(sig.files, sig)
  if (fromFiles) return fromFiles
  if (sig.files === 'image') return sig.xxxCaps ? 'xxx' : 'unknown'
  if (sig.xxxCaps || (cues & Cue.xxx && (sig.strongVideo || sig.date || s.includes(' - ')))) return 'xxx'
  const fromExt = byFileKind(sig.nameExt, sig)
  if (fromExt) return fromExt
  if (cues & Cue.audiobook) return 'audiobook'
  if (cues & Cue.comic) return 'comic'
  if (cues & Cue.ebook) return 'ebook'
  if (cues & Cue.comicWeak) return 'comic'
  if (!sig.strongVideo && (cues & Cue.music || MUSIC_CAPS.test(s) || MUSIC_SCENE.test(sig.base))) return 'music'
  if (sig.strongVideo) return video(sig)
  if (cues & Cue.game) return 'game'
  if (sig.tv || sig.completeSeries || cues & Cue.sport) return video(sig)
  if (cues & (Cue.software | Cue.version)) return 'software'
  if (cues & Cue.ebookWeak) return 'ebook'
  if (sig.files === 'archive') return 'unknown'
  if (sig.year || sig.fansub) return video(sig)
  return 'unknown'
}
