// The release group: `[Group] Title …` (fansubs), `…x264-GROUP` (scene, also `-GROUP[site]` and `-[YTS.MX]`),
// `… [FitGirl Repack]`/`[PMEDIA]` (a trailing bracket that is not a tag), `(Zone-Empire)` (comic scanners), and a
// few P2P encoders who sign without a dash (`… 5.1 Tigole`).

import type { Style } from './text.js'

const TAGS = new Set(
  (
    '480p 576p 720p 1080p 1080i 2160p 4k uhd hd sd hdr hdr10 dv bluray blu-ray bdrip brrip bd web web-dl webdl webrip dl rip hdtv dvd dvdrip ' +
    'hevc avc x264 x265 h264 h265 xvid divx av1 10bit 8bit hi10 hi10p aac ac3 dts flac mp3 opus eac3 ddp truehd atmos 5.1 7.1 2.0 ' +
    'epub pdf mobi azw3 azw fb2 djvu cbr cbz m4b nsp xci pkg ps2 ps3 ps4 ps5 psx psp switch nsw wii wiiu xbox xbox360 3ds nds gba ' +
    'linux windows win mac macos osx pc mkv mp4 avi iso apk dmg img audiobook audiobooks unabridged abridged ape ogg alac cdrip cd vinyl ' +
    'ntsc ntsc-u ntsc-j pal eng chs cht sp movie dual-audio multi multi-subs x64 x86 amd64 x86_64 arm64 64bit 32bit complete digital ' +
    'f c2c repack proper rerip internal limited uncut remastered remaster deluxe tgx eztv ettv sbs 3d hsbs ' +
    'dd dd5 ddp5 aac2 subs sub esub eng-subs kde gnome xfce cinnamon mate lxqt netinst desktop server live installer disc1 release ' +
    'current final stable lts portable multilingual english french german spanish italian russian japanese vostfr truefrench sbd ' +
    'hi-res mp3-320 320 mod audio dub'
  ).split(' '),
)

const HEX8 = /^[0-9a-f]{8}$/i
const NUMERIC = /^[v\d][\d._-]*$/i
const QUALITY = /^(?:\d{3,4}[pi]|[xh]\.?26[45]|\d+-?bit|\d+-\d+|\d+(?:\.\d)?khz|\d+kbps|dd[p+]?\d(?:\.\d)?|aac\d(?:\.\d)?|s\d\d(?:e\d+)?|(?:19|20)\d\d|bd\d{3,4}p?)$/i
/** P2P encoders that sign at the very end without a dash. */
const DASHLESS = new Set(['tigole', 'qxr', 'prt', 'duplex', 'sampa', 'afm72', 'silence', 'utr', 'joy', 'ghost', 'ion10', 'psa', 'megusta'])

function tagLike(w: string): boolean {
  const l = w.toLowerCase()
  if (TAGS.has(l) || NUMERIC.test(l) || HEX8.test(w) || QUALITY.test(l)) return true
  if (l.includes('+') || l.includes(',')) return l.split(/[+,]\s*/).every((p) => p === '' || TAGS.has(p))
  return false
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
}

/** The last run of letters and digits, past trailing spaces, dots and brackets (`x264` in `… x264 (`). */
function lastToken(s: string): string {
  let end = s.length
  while (end > 0 && ' .()[]\t'.includes(s[end - 1])) end--
  let start = end
  while (start > 0 && isAlnum(s.charCodeAt(start - 1))) start--
  return s.slice(start, end)
}

export interface Group {
  name: string
  /** Where it starts in the name (the title ends before it), or -1 for a leading group. */
  pos: number
}

const LEADING = /^\s*\[([^\]]+)\]/
// `-GROUP`, `-GROUP[site]`, `-[YTS.MX]`, ` - YIFY`; a group has no dots except a short site suffix (YTS.MX).
const DASH = /-\s?\[?([A-Za-z0-9][A-Za-z0-9_@&]*(?:\.[A-Za-z]{2,3})?)\]?(?:\[[^\]\s]+\])?$/
const LAST_BRACKET = /[[({]([^[\](){}]*)[\])}]\s*$/
const LAST_WORD = /[\s.(]([A-Za-z0-9]+)\)?$/

export function leadingGroup(base: string): { name: string; end: number } | undefined {
  const m = LEADING.exec(base)
  if (!m) return undefined
  const name = m[1].trim()
  if (!name || tagLike(name)) return undefined
  return { name, end: m[0].length }
}

/** Scene-style groups in a dash-separated name come after a year or a source tag: `…-WEB-2023-ENRiCH`. */
const DASH_STYLE_PREV = /^(?:(?:19|20)\d\d|web|cd|\dcd|flac|vinyl|sbd|cdm|cds|ep|lp|dvd|bd|mp3|\(?remastered\)?)$/i

export function trailingGroup(base: string, style: Style, comic: boolean): Group | undefined {
  const m = DASH.exec(base)
  if (m) {
    let name = m[1]
    let pos = m.index
    const before = base.slice(0, pos)
    const prev = lastToken(before)
    let ok = !tagLike(name)
    // Dash-separated names put the group after a year or source (`…-WEB-2023-ENRiCH`), not after `amd64`;
    // in spaced names a group is glued to a tag (`x264-ETRG`, `NSW-BigBlueBox`), so `Spider-Man` is no group.
    if (ok && style === 'dash') ok = DASH_STYLE_PREV.test(prev)
    else if (ok && style === 'space') ok = tagLike(prev) || /\d/.test(prev) || /[\])]\s*$/.test(before)
    if (ok) {
      // `Fight-BB`, `Zone-Empire`, `danke-Empire`: the part before the dash belongs to the name.
      if (name.length <= 2 || /^(?:empire|dcp)$/i.test(name)) {
        const w = /([A-Za-z0-9]+)$/.exec(before)
        if (w && !tagLike(w[1])) {
          name = `${w[1]}-${name}`
          pos -= w[1].length
        }
      }
      if (name.length > 1) return { name, pos }
    }
  }
  // Trailing brackets: skip tags ([1080p] [NSP] [Linux]) back to the first that is a name.
  let rest = base
  for (let i = 0; i < 5; i++) {
    const b = LAST_BRACKET.exec(rest)
    if (!b) break
    const open = rest[b.index]
    let inner = b[1].trim().replace(/[\s-]repack$/i, '')
    rest = rest.slice(0, b.index).trimEnd()
    if (open === '(' && !comic) continue
    if (open === '{') continue
    if (!inner || tagLike(inner) || (/\s/.test(inner) && !comic) || inner.length > 40) continue
    if (comic && /^(?:digital|webrip|f|complete|c2c|of \d+|(?:19|20)\d\d.*)$/i.test(inner)) continue
    if (/^-/.test(inner)) inner = inner.slice(1)
    return { name: inner, pos: b.index }
  }
  const tail = base.slice(-24)
  const w = LAST_WORD.exec(tail)
  if (w && DASHLESS.has(w[1].toLowerCase())) return { name: w[1], pos: base.length - tail.length + w.index + 1 }
  return undefined
}
