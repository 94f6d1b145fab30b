#!/usr/bin/env node
// bt's content classifier beside parse-torrent-title and @ctrl/video-filename-parser on the same hand-labelled
// names (test/fixtures/classify/corpus.jsonl): accuracy per field for all entries, the held-out quarter, and the
// video entries only (movies, episodes, adult: what the two peers are written for), then names per second.
//
//   npm run build && node bench/classify.js [--misses] [--runs N]
//
// Scoring (test/fixtures/classify/score.js): a field counts where the label or the answer has a value; titles
// compare without case, accents or punctuation. The peers' answers are mapped to our vocabulary (their `h264`
// is our `x264`, `dd` is `ac3`, `BLURAY` is `bluray` …); a field a peer has no notion of is "n/s" (not supported)
// rather than a zero. bt also gets the file lists of the entries that have one; the peers cannot take them.
import ptt from 'parse-torrent-title'
import { filenameParse } from '@ctrl/video-filename-parser'
import { FIELDS, loadCorpus, score } from '../test/fixtures/classify/score.js'

const { classify, normalizeTitle } = await import('../dist/src/index/classify.js').catch(() => {
  console.error('bench/classify.js: run `npm run build` first (it loads dist/src/index/classify.js)')
  process.exit(2)
})

const argv = process.argv.slice(2)
const showMisses = argv.includes('--misses')
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 3

// ---- parse-torrent-title -> our fields ----
const PTT_SOURCE = { bluray: 'bluray', bdrip: 'bluray', brrip: 'bluray', bdmux: 'bluray', brmux: 'bluray', 'web-dl': 'web-dl', webrip: 'webrip', webmux: 'web-dl', hdtv: 'hdtv', tvrip: 'hdtv', 'hd-tvrip': 'hdtv', dvd: 'dvd', dvdrip: 'dvd', cam: 'cam', 'hd-cam': 'cam', hdcam: 'cam', telesync: 'telesync', tc: 'telecine', dvdscr: 'screener' }
const PTT_CODEC = { h264: 'x264', x264: 'x264', avc: 'x264', h265: 'x265', x265: 'x265', hevc: 'x265', xvid: 'xvid', divx: 'divx', mpeg2: 'mpeg2' }
const PTT_AUDIO = { dd: 'ac3', ddp: 'eac3', 'dd-ex': 'ac3', dts: 'dts', 'dts-hd': 'dts-hd', 'dts-hd-ma': 'dts-hd', truehd: 'truehd', aac: 'aac', flac: 'flac', mp3: 'mp3', 'dts-es': 'dts' }
const PTT_LANG = { eng: 'en', english: 'en', ita: 'it', french: 'fr', fr: 'fr', truefrench: 'fr', vff: 'fr', vfi: 'fr', vostfr: 'fr', vost: 'fr', subfrench: 'fr', german: 'de', rus: 'ru', ukr: 'uk', jpn: 'ja', nl: 'nl', flemish: 'nl', multi: 'mul', romanian: 'ro', vietnam: 'vi' }
const EDITION_ORDER = ['extended', 'directors-cut', 'unrated', 'uncut', 'remastered', 'imax', 'criterion', 'theatrical']

function viaPtt(name) {
  const r = ptt.parse(name)
  const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])
  const editions = { extended: r.extended, unrated: r.unrated, uncut: r.uncut, remastered: r.remastered, criterion: r.criterion, theatrical: r.theatrical, imax: r.source === 'imax' }
  const langs = [...new Set(list(r.language).map((l) => PTT_LANG[String(l).toLowerCase()]).filter(Boolean))]
  return {
    title: r.title,
    year: r.year,
    seasons: list(r.season),
    episodes: list(r.episode),
    resolution: r.resolution === '4k' ? '2160p' : r.resolution,
    source: PTT_SOURCE[r.source] ?? r.source,
    videoCodec: PTT_CODEC[String(r.codec).toLowerCase()] ?? r.codec,
    audioCodec: r.audio === 'atmos' ? undefined : (PTT_AUDIO[r.audio] ?? r.audio),
    hdr: r.color === 'DV' ? 'dv' : r.color === 'HDR' ? 'hdr' : undefined,
    languages: langs,
    releaseGroup: r.group,
    edition: EDITION_ORDER.find((e) => editions[e]),
    container: r.container,
  }
}
const PTT_UNSUPPORTED = new Set(['contentType', 'airDate', 'threeD', 'complete'])

// ---- @ctrl/video-filename-parser -> our fields ----
const VFP_SOURCE = { BLURAY: 'bluray', WEBDL: 'web-dl', WEBRIP: 'webrip', TV: 'hdtv', DVD: 'dvd', CAM: 'cam', TELESYNC: 'telesync', TELECINE: 'telecine', SCREENER: 'screener', PPV: 'ppv', WORKPRINT: 'workprint' }
const VFP_CODEC = { x264: 'x264', h264: 'x264', x265: 'x265', h265: 'x265', xvid: 'xvid', WMV: 'wmv', dvdr: 'dvdr' }
const VFP_AUDIO = { MP3: 'mp3', MP2: 'mp2', 'Dolby Digital': 'ac3', 'Dolby Digital Plus': 'eac3', AAC: 'aac', FLAC: 'flac', DTS: 'dts', 'DTS-HD': 'dts-hd', 'Dolby TrueHD': 'truehd', Opus: 'opus', Vorbis: 'vorbis', PCM: 'pcm', LPCM: 'pcm' }
const VFP_LANG = { English: 'en', French: 'fr', Spanish: 'es', German: 'de', Italian: 'it', Danish: 'da', Dutch: 'nl', Japanese: 'ja', Cantonese: 'zh', Mandarin: 'zh', Russian: 'ru', Polish: 'pl', Vietnamese: 'vi', Swedish: 'sv', Norwegian: 'no', Finnish: 'fi', Turkish: 'tr', Portuguese: 'pt', Flemish: 'nl', Greek: 'el', Korean: 'ko', Hungarian: 'hu', Persian: 'fa', Bengali: 'bn', Bulgarian: 'bg', Brazilian: 'pt', Hebrew: 'he', Czech: 'cs', Ukrainian: 'uk', Catalan: 'ca', Chinese: 'zh', Thai: 'th', Hindi: 'hi', Tamil: 'ta', Arabic: 'ar', Estonian: 'et', Icelandic: 'is', Latvian: 'lv', Lithuanian: 'lt', Romanian: 'ro', Slovak: 'sk', Serbian: 'sr' }

function pad2(n) {
  return String(n).padStart(2, '0')
}

// The parser must be told whether a name is a movie or a show (Radarr and Sonarr know): we tell it the truth from
// the label, so its other fields are not spoilt by a wrong guess, and count contentType as not supported.
const isShow = new Map()

function viaVfp(name) {
  const isTv = isShow.get(name) ?? false
  const tv = isTv ? filenameParse(name, true) : undefined
  const r = tv ?? filenameParse(name, false)
  const e = r.edition ?? {}
  // Without a language in the name it answers ["English"]: read a lone English as no answer.
  let langs = (r.languages ?? []).map((l) => VFP_LANG[l]).filter(Boolean)
  if (langs.length === 1 && langs[0] === 'en') langs = []
  if (r.multi) langs.push('mul')
  const editions = { extended: e.extended, 'directors-cut': e.directors, unrated: e.unrated, remastered: e.remastered, imax: e.imax, theatrical: e.theatrical }
  const d = tv?.airDate instanceof Date && !Number.isNaN(tv.airDate.getTime()) ? tv.airDate : undefined
  return {
    title: r.title,
    year: r.year ? Number(r.year) : undefined,
    seasons: tv?.seasons ?? [],
    episodes: tv?.episodeNumbers ?? [],
    airDate: d ? `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` : undefined,
    resolution: r.resolution ? String(r.resolution).toLowerCase() : undefined,
    source: r.sources?.length ? VFP_SOURCE[r.sources[0]] : undefined,
    videoCodec: r.videoCodec ? VFP_CODEC[r.videoCodec] : undefined,
    audioCodec: r.audioCodec ? VFP_AUDIO[r.audioCodec] : undefined,
    hdr: e.dolbyVision ? 'dv' : e.hdr ? 'hdr' : undefined,
    threeD: Boolean(e.threeD || e.hsbs || e.sbs || e.hou),
    languages: langs,
    releaseGroup: r.group ?? undefined,
    edition: EDITION_ORDER.find((k) => editions[k]),
    complete: Boolean(tv && (tv.fullSeason || tv.isMultiSeason)) || Boolean(r.complete),
  }
}
const VFP_UNSUPPORTED = new Set(['contentType', 'container'])

const PARSERS = [
  { name: 'bt', run: (n, files) => classify(n, files), unsupported: new Set() },
  { name: 'ptt', run: (n) => viaPtt(n), unsupported: PTT_UNSUPPORTED },
  { name: 'vfp', run: (n) => viaVfp(n), unsupported: VFP_UNSUPPORTED },
]

function fmt(x) {
  return x === null || x === undefined ? '  n/s' : x.toFixed(3)
}
function ratio(a, b) {
  if (a === null || a === undefined) return '    -'
  if (b === null || b === undefined) return '  n/s'
  if (b === 0) return a > 0 ? '  inf' : '    -'
  return (a / b).toFixed(2).padStart(5)
}

function table(label, entries) {
  const results = PARSERS.map((p) => score(entries, p.run, normalizeTitle, p.unsupported))
  console.log(`\n${label} (${entries.length} names)`)
  console.log(`${'field'.padEnd(13)} ${'n'.padStart(4)}  ${'bt'.padStart(5)}  ${'ptt'.padStart(5)}  ${'vfp'.padStart(5)}  bt/ptt  bt/vfp`)
  let behind = 0
  for (const f of FIELDS) {
    const [b, p, v] = results.map((r) => (r.fields[f].supported ? r.fields[f].accuracy : null))
    const n = results[0].fields[f].total
    if (n === 0 && p === null && v === null) continue
    const worse = (b ?? 0) < 0.9 || (p !== null && p > (b ?? 0)) || (v !== null && v > (b ?? 0))
    if (worse) behind++
    console.log(`${f.padEnd(13)} ${String(n).padStart(4)}  ${fmt(b)}  ${fmt(p)}  ${fmt(v)}  ${ratio(b, p)}   ${ratio(b, v)}${worse ? '  <' : ''}`)
  }
  console.log(behind === 0 ? 'every field >= 0.9 and ahead of (or level with) both peers' : `${behind} field(s) under 0.9 or behind a peer (marked <)`)
  if (showMisses) for (const m of results[0].misses) console.log(`  miss ${m.field}: expected ${JSON.stringify(m.expected)} got ${JSON.stringify(m.actual)}  ${m.name}`)
}

function rate(fn, names) {
  for (let i = 0; i < Math.min(2000, names.length * 3); i++) fn(names[i % names.length].name, names[i % names.length].files)
  let best = 0
  let bestCpu = 0
  for (let r = 0; r < runs; r++) {
    const n = Math.max(20000, names.length * 20)
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < n; i++) fn(names[i % names.length].name, names[i % names.length].files)
    const ms = performance.now() - t0
    const cu = process.cpuUsage(c0)
    best = Math.max(best, n / (ms / 1000))
    bestCpu = Math.max(bestCpu, n / ((cu.user + cu.system) / 1e6))
  }
  return { wall: best, cpu: bestCpu }
}

const corpus = loadCorpus()
for (const e of corpus) isShow.set(e.name, e.expected.contentType === 'tv_show')
console.log(`bench/classify.js: ${corpus.length} labelled names, bt vs parse-torrent-title (ptt) and @ctrl/video-filename-parser (vfp)`)
table('all entries', corpus)
table('held-out quarter (labelled before the classifier was written, never tuned against)', corpus.filter((e) => e.split === 'holdout'))
const blind = corpus.filter((e) => e.split === 'blind')
if (blind.length) table('blind set (written after the classifier, never tuned against)', blind)
table('video entries only (movie, tv_show, xxx: what the peers are for)', corpus.filter((e) => ['movie', 'tv_show', 'xxx'].includes(e.expected.contentType)))

console.log(`\nnames per second (best of ${runs}; wall clock, and per CPU second as other load on the machine skews wall time)`)
const namesOnly = corpus.map((e) => ({ name: e.name }))
const rates = {
  'bt (names only)': rate((n) => classify(n), namesOnly),
  'bt (with file lists)': rate((n, f) => classify(n, f), corpus),
  ptt: rate((n) => ptt.parse(n), namesOnly),
  vfp: rate((n) => viaVfp(n), namesOnly),
}
for (const [k, v] of Object.entries(rates)) console.log(`${k.padEnd(22)} ${String(Math.round(v.wall)).padStart(8)} names/s  ${String(Math.round(v.cpu)).padStart(8)} per CPU s`)
const btr = rates['bt (names only)']
console.log(`bt/ptt ${(btr.cpu / rates.ptt.cpu).toFixed(2)}  bt/vfp ${(btr.cpu / rates.vfp.cpu).toFixed(2)} (per CPU s)`)
