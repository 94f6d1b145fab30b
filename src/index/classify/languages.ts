// Languages a release name states: scene words (FRENCH, iTALiAN, German DL, MULTi, VOSTFR, TRUEFRENCH, Latino),
// short codes (ENG, RUS, ITA, PT-BR, en-US) and phrases (English Dub, Dual Audio). Subtitle lists are not audio
// languages ([Multiple Subtitle][ENG][SPA], Eng-Subs, ESub) and are skipped. ISO 639-1 codes; `mul` (ISO 639-2)
// for MULTi/Multilingual, where the name does not say which languages.

export interface LangHit {
  code: string
  pos: number
  /** Written as a tag (FRENCH, iTALiAN, in brackets): counts even inside the title area. */
  tag: boolean
}

const WORDS: Record<string, string> = {}
function words(code: string, list: string): void {
  for (const w of list.split(' ')) WORDS[w] = code
}
words('en', 'english eng en-us en-gb')
words('fr', 'french truefrench vff vfq vf2 vfi vostfr subfrench fre francais français')
words('de', 'german ger deutsch')
words('it', 'italian ita')
words('es', 'spanish castellano latino esp spa espanol español')
words('pt', 'portuguese pt-br por portugues')
words('ru', 'russian rus')
words('hi', 'hindi')
words('ta', 'tamil')
words('te', 'telugu')
words('ml', 'malayalam')
words('kn', 'kannada')
words('bn', 'bengali')
words('ko', 'korean kor')
words('ja', 'japanese jpn jap')
words('zh', 'chinese mandarin cantonese chi')
words('da', 'danish')
words('sv', 'swedish swe')
words('no', 'norwegian')
words('fi', 'finnish fin')
words('pl', 'polish pol')
words('nl', 'dutch flemish')
words('fa', 'persian farsi')
words('tr', 'turkish tur')
words('hu', 'hungarian hun')
words('ar', 'arabic ara')
words('he', 'hebrew heb')
words('cs', 'czech cze')
words('uk', 'ukrainian ukr')
words('el', 'greek gre')
words('th', 'thai')
words('vi', 'vietnamese vie')
words('id', 'indonesian ind')
words('ro', 'romanian rum')
words('bg', 'bulgarian bul')
words('hr', 'croatian hrv')
words('sr', 'serbian srp')
words('mul', 'multi multilingual multilang')
// Two-letter codes are ordinary words too (`EN`, `DE`, `IT`): only upper case, and only after the title.
const SHORT: Record<string, string> = { EN: 'en', FR: 'fr', DE: 'de', ES: 'es', PL: 'pl', NL: 'nl', RU: 'ru', PT: 'pt', JP: 'ja', KR: 'ko' }

// One pass over the name for all language words (the index classifies millions of names: no per-word lookups).
const WORD = new RegExp(
  `(?<![a-zà-ÿ])(?:${[...Object.keys(WORDS), ...Object.keys(SHORT)]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[-+]/g, '\\$&'))
    .join('|')})(?![a-zà-ÿ])`,
  'gi',
)
const SUBS_AFTER = /^[\s-]*(?:sub|subs|subtitles?|subbed|subtitulado)(?![a-z])/i
const SUBS_LIST = /multi(?:ple)?[ -]?sub|multi[ -]?subs|subtitles?(?![a-z])|subbed/i
const DUB = /^[\s-]*dub(?:bed)?(?![a-z])/i

function isTagCase(w: string): boolean {
  // FRENCH, iTALiAN, MULTi, VOSTFR: scene case; "French" and "french" are words of a title.
  let upper = 0
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i)
    if (c >= 65 && c <= 90) upper++
  }
  return w.length >= 3 && (upper >= w.length - 2 && upper >= 2) && !(upper === 1 && w.charCodeAt(0) <= 90)
}

export function scanLanguages(s: string): LangHit[] {
  const out: LangHit[] = []
  const subs = SUBS_LIST.exec(s)
  const stop = subs ? subs.index : s.length
  WORD.lastIndex = 0
  let m: RegExpExecArray | null
  let depth = 0
  let scanned = 0
  while ((m = WORD.exec(s))) {
    if (m.index >= stop) break
    for (; scanned < m.index; scanned++) {
      const c = s[scanned]
      if (c === '[' || c === '(') depth++
      else if ((c === ']' || c === ')') && depth > 0) depth--
    }
    const w = m[0]
    const code = w.length === 2 ? SHORT[w] : WORDS[w.toLowerCase()]
    if (!code) continue
    const rest = s.slice(m.index + w.length, m.index + w.length + 12)
    if (SUBS_AFTER.test(rest)) continue
    const dub = DUB.test(rest)
    out.push({ code, pos: m.index, tag: depth > 0 || dub || (w.length > 2 && isTagCase(w)) })
  }
  return out
}

/** `German DL`: dual language, German and the original (English) soundtrack. */
export const DUAL_LANGUAGE = /(?<![a-z0-9])DL(?![a-z0-9])/
/** `Dual Audio` in anime releases: Japanese and English. */
export const DUAL_AUDIO = /(?<![a-z0-9])dual[ -]?audio(?![a-z0-9])/i
