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
  `${L}(?:cbr|cbz|cb7)${R}|\\((?:digital|webrip|digital-empire)\\)|-empire${R}|${L}(?:marvel|dc|image) week\\+?|${L}digital zone|\\(of \\d+\\)`,
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
export const MUSIC_SCENE = /^[^\s.]+(?:-[^\s.]+)+-(?:19|20)\d\d-[a-z0-9]+$/i
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
  completeWord: boolean
  completeSeries: boolean
}

function program(s: string): ContentType {
  return GAME.test(s) ? 'game' : 'software'
}

function video(sig: KindSignals): ContentType {
  if (XXX_CAPS.test(sig.s) || XXX.test(sig.s)) return 'xxx'
  if (MOVIE_WORD.test(sig.s)) return 'movie'
  if (sig.tv || sig.completeSeries || (sig.completeWord && sig.strongVideo) || SPORT.test(sig.s)) return 'tv_show'
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
      return AUDIOBOOK.test(sig.s) ? 'audiobook' : 'music'
    case 'comic':
      return 'comic'
    case 'ebook':
      return COMIC.test(sig.s) || COMIC_WEAK.test(sig.s) ? 'comic' : 'ebook'
    case 'program':
      return program(sig.s)
    case 'rom':
      return 'game'
    default:
      return undefined
  }
}

export function contentType(sig: KindSignals, chapters = false): ContentType {
  const { s } = sig
  if (sig.files === 'audio' && chapters && !MUSIC.test(s)) return 'audiobook'
  const fromFiles = byFileKind(sig.files, sig)
  if (fromFiles) return fromFiles
  if (sig.files === 'image') return XXX_CAPS.test(s) ? 'xxx' : 'unknown'
  if (XXX_CAPS.test(s) || (XXX.test(s) && (sig.strongVideo || sig.date || / - /.test(s)))) return 'xxx'
  const fromExt = byFileKind(sig.nameExt, sig)
  if (fromExt) return fromExt
  if (AUDIOBOOK.test(s)) return 'audiobook'
  if (COMIC.test(s)) return 'comic'
  if (EBOOK.test(s)) return 'ebook'
  if (COMIC_WEAK.test(s)) return 'comic'
  if (!sig.strongVideo && (MUSIC.test(s) || MUSIC_CAPS.test(s) || MUSIC_SCENE.test(sig.base))) return 'music'
  if (sig.strongVideo) return video(sig)
  if (GAME.test(s)) return 'game'
  if (sig.tv || sig.completeSeries || SPORT.test(s)) return video(sig)
  if (SOFTWARE.test(s) || VERSION.test(s)) return 'software'
  if (EBOOK_WEAK.test(s)) return 'ebook'
  if (sig.files === 'archive') return 'unknown'
  if (sig.year || sig.fansub) return video(sig)
  return 'unknown'
}
