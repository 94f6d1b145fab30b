// Text preparation for the classifier: the file extension of a name, how the name separates its words (dots,
// spaces or dashes), a same-length copy with those separators turned into spaces (so that every index found in it
// is an index into the original), and the normal form titles are compared in.

/** Extensions a torrent name may end with, by what they say about the content. */
export const EXTENSIONS: Record<string, FileKind> = {}
export type FileKind = 'video' | 'audio' | 'audiobook' | 'ebook' | 'comic' | 'program' | 'rom' | 'archive' | 'image' | 'extra'

function kinds(kind: FileKind, list: string): void {
  for (const ext of list.split(' ')) EXTENSIONS[ext] = kind
}
kinds('video', 'mkv mp4 avi m4v wmv mov webm mpg mpeg m2ts ts vob flv ogv rmvb divx 3gp')
kinds('audio', 'flac mp3 m4a aac ogg opus wav ape wv alac dsf dff wma aiff aif mka')
kinds('audiobook', 'm4b')
kinds('ebook', 'epub mobi azw azw3 fb2 djvu pdf lit')
kinds('comic', 'cbr cbz cb7 cbt')
// .bin/.cue/.pkg serve both console games and installers: the name decides between game and software.
kinds('program', 'exe msi dmg apk deb rpm appimage iso img bin nrg mdf pkg xapk')
kinds('rom', 'nsp xci nes sfc smc gba gb gbc n64 z64 v64 nds 3ds cia wbfs rvz gcm md gen sms pce chd cso psv vpk')
kinds('archive', 'zip rar 7z gz tgz xz bz2 tar zst')
kinds('image', 'jpg jpeg png gif webp bmp tif tiff heic')
kinds('extra', 'nfo txt sfv md5 sha1 srt ass ssa sub idx cue log url db m3u m3u8 accurip lnk ini html htm xml json')

/** Splits `Name.mkv` into `Name` and `mkv` when the extension is one a torrent is named after. */
export function splitExtension(name: string): { base: string; ext?: string } {
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || name.length - dot > 9) return { base: name }
  const ext = name.slice(dot + 1).toLowerCase()
  const kind = EXTENSIONS[ext]
  // `Kill.Bill.Vol.1.2003.mkv` keeps its year; `.ts`/`.md` after a dotted scene name could be a word: need a real file shape.
  if (kind === undefined || kind === 'extra') return { base: name }
  const base = name.slice(0, dot)
  // `backup.tar.gz`: the `.tar` goes too.
  if (kind === 'archive' && /\.tar$/i.test(base)) return { base: base.slice(0, -4), ext }
  return { base, ext }
}

export type Style = 'space' | 'dot' | 'dash'

/**
 * How the name separates words. Scene names use dots (`The.Bear.S02E07`), P2P and most others spaces, scene music
 * and distributions dashes with underscores for spaces (`Daft_Punk-Discovery-2CD-2001-iHF`, `debian-12.5.0-amd64`).
 */
export function styleOf(base: string): Style {
  let spaces = 0
  let dots = 0
  let wordDots = 0 // dots not between two digits: separators, not version dots
  let dashes = 0
  for (let i = 0; i < base.length; i++) {
    const c = base.charCodeAt(i)
    if (c === 32) spaces++
    else if (c === 46) {
      dots++
      if (!isDigit(base.charCodeAt(i - 1)) || !isDigit(base.charCodeAt(i + 1))) wordDots++
    } else if (c === 45) dashes++
  }
  if (spaces >= 2 || (spaces >= 1 && dots < 2)) return 'space'
  if (dashes >= 2 && wordDots === 0) return 'dash'
  if (dots >= 1) return 'dot'
  return dashes >= 1 ? 'dash' : 'space'
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/**
 * The name with its word separators made spaces, same length as `base`. Dots between two digits survive outside
 * scene style, as they are versions (`v25.5.1`) or channels (`5.1`) there; in scene style every dot is a space.
 */
export function spaced(base: string, style: Style): string {
  // Three native replaces rather than a loop of string appends: this runs on every name the index stores.
  let t = base.indexOf('_') >= 0 ? base.replace(/_/g, ' ') : base
  if (t.indexOf('.') >= 0) t = style === 'dot' ? t.replace(/\./g, ' ') : t.replace(/(?<![0-9])\.|\.(?![0-9])/g, ' ')
  if (style === 'dash') t = t.replace(/-/g, ' ')
  return t
}

const FOLD: Record<string, string> = { æ: 'ae', œ: 'oe', ø: 'o', ß: 'ss', đ: 'd', ł: 'l', þ: 'th', ð: 'd' }

/** The form titles are compared in: lower case, no accents, apostrophes dropped, other punctuation made spaces. */
export function normalizeTitle(title: string): string {
  return title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[æœøßđłþð]/g, (c) => FOLD[c] ?? c)
    .replace(/['’`´]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
}
