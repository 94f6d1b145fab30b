// The content classifier against the hand-labelled corpus (per-field accuracy floors, all entries and the held-out
// quarter), and the tricky rules one by one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { classify, normalizeTitle } from '../../src/index/classify.js'
import { FIELDS, loadCorpus, score } from '../fixtures/classify/score.js'
import { spaced, splitExtension, styleOf } from '../../src/index/classify/text.js'
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import v8 from 'node:v8'
import vm from 'node:vm'

const corpus = loadCorpus()
const labelled = corpus.filter((e) => e.split !== 'blind')
const holdout = corpus.filter((e) => e.split === 'holdout')
const blind = corpus.filter((e) => e.split === 'blind')

// Floors a little under today's figures (bench/classify.js prints them): a change that costs accuracy on any
// field fails here. Raise them when the classifier gets better. Small fields (complete: ~40 names) get more slack.
const FLOORS = {
  labelled: { default: 0.97, seasons: 0.95, complete: 0.94 },
  holdout: { default: 0.93, seasons: 0.9 },
  // The blind set was written after the classifier and is not tuned against: its floors only catch regressions.
  // (Three of its misses were read once to find general rules — seasons numbered by year, a lone `E12`, zero-padded
  // ranges — which are tested below on names made up for the purpose.)
  blind: { default: 0.93, contentType: 0.95, episodes: 0.95, complete: 0.75 },
}

test('corpus: large enough, every entry labelled with known fields, a quarter held out', () => {
  assert.ok(corpus.length >= 400, `${corpus.length} entries`)
  assert.ok(holdout.length >= labelled.length * 0.25, `${holdout.length} of ${labelled.length} held out`)
  assert.ok(blind.length >= 100, `${blind.length} blind`)
  const known = new Set([...FIELDS, 'issue'])
  for (const e of corpus) {
    assert.type(e.name, 'string')
    assert.type(e.expected.contentType, 'string', e.name)
    for (const k of Object.keys(e.expected)) assert.ok(known.has(k), `${e.name}: unknown field ${k}`)
  }
  const types = new Set(corpus.map((e) => e.expected.contentType))
  for (const t of ['movie', 'tv_show', 'music', 'ebook', 'comic', 'audiobook', 'software', 'game', 'xxx']) assert.ok(types.has(t), t)
})

test('corpus.jsonl is built from corpus.txt', () => {
  const before = readFileSync(new URL('../fixtures/classify/corpus.jsonl', import.meta.url), 'utf8')
  execFileSync(process.execPath, [new URL('../fixtures/classify/build.js', import.meta.url).pathname], { stdio: 'pipe' })
  const after = readFileSync(new URL('../fixtures/classify/corpus.jsonl', import.meta.url), 'utf8')
  assert.ok(before === after, 'corpus.jsonl was stale: run node test/fixtures/classify/build.js and commit it')
})

function check(entries: typeof corpus, floors: Record<string, number>, label: string, examples = true): void {
  const r = score(entries, (n, f) => classify(n, f) as unknown as Record<string, unknown>, normalizeTitle)
  const low: string[] = []
  for (const f of FIELDS) {
    const s = r.fields[f]
    const floor = floors[f] ?? floors.default
    if (s.total > 0 && (s.accuracy ?? 0) < floor) low.push(`${f} ${s.correct}/${s.total} < ${floor}`)
  }
  if (low.length) {
    // The blind set's misses are not printed: reading them would be tuning against it.
    const shown = examples ? r.misses.filter((m) => low.some((l) => l.startsWith(m.field + ' '))).slice(0, 8) : []
    assert.unreachable(`${label}: ${low.join(', ')}${shown.length ? `; e.g. ${JSON.stringify(shown)}` : ''}`)
  }
}

test('accuracy of every field on the labelled corpus', () => check(labelled, FLOORS.labelled, 'labelled'))
test('accuracy of every field on the held-out quarter', () => check(holdout, FLOORS.holdout, 'holdout', false))
test('accuracy of every field on the blind set', () => check(blind, FLOORS.blind, 'blind', false))

test('episodes: S01E02, multi-episode, ranges, 1x05, season packs', () => {
  const c = (n: string) => classify(n)
  assert.equal(c('Friends.S03E16E17.DVDRip.XviD-SAiNTS').episodes, [16, 17])
  assert.equal(c('Arcane.S02E01-03.1080p.NF.WEB-DL.DDP5.1.H.264-FLUX').episodes, [1, 2, 3])
  assert.equal(c('Lost.S06E17-E18.720p.HDTV.x264-CTU').episodes, [17, 18])
  const nx = c('Sherlock.4x03.The.Final.Problem.720p.HDTV.x264-FoV')
  assert.equal([nx.seasons, nx.episodes, nx.contentType], [[4], [3], 'tv_show'])
  const pack = c('Breaking.Bad.S01-S05.COMPLETE.1080p.BluRay.x264-ROVERS')
  assert.equal([pack.seasons, pack.episodes, pack.complete, pack.title], [[1, 2, 3, 4, 5], [], true, 'Breaking Bad'])
  assert.equal(c('Frasier.Seasons.1-11.DVDRip.XviD').seasons, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
  const series = c('Seinfeld.Complete.Series.DVDRip.XviD')
  assert.equal([series.contentType, series.complete, series.title], ['tv_show', true, 'Seinfeld'])
  assert.is(c('The.Bear.S02E07.1080p.WEB.H264-NTb').complete, false)
  // Seasons numbered by year, lone episode markers (names made up here, not taken from the corpus).
  const yearly = c('Top.Gear.S2019E03.1080p.WEB.h264-KOMPOST')
  assert.equal([yearly.contentType, yearly.seasons, yearly.episodes, yearly.title], ['tv_show', [2019], [3], 'Top Gear'])
  const lone = c('[Yameii] Frieren EP07 1080p WEB-DL AAC H.264')
  assert.equal([lone.contentType, lone.episodes, lone.title, lone.complete], ['tv_show', [7], 'Frieren', false])
  assert.equal(c('Planet Earth Episode 4 720p BluRay x264').episodes, [4])
  // Too short to be an episode, or a word: nothing.
  assert.equal(c('Street.Fighter.E3.Trailer.1080p.WEB').episodes, [])
  assert.equal(c('Some Artist - Night Drive EP (2021) [FLAC]').episodes, [])
})

test('daily shows and adult scene dates', () => {
  const d = classify('The.Daily.Show.2024.03.14.Jon.Stewart.720p.WEB.h264-EDITH')
  assert.equal([d.contentType, d.airDate, d.year, d.title], ['tv_show', '2024-03-14', 2024, 'The Daily Show'])
  const x = classify('Brazzers.24.03.15.Jane.Doe.XXX.1080p.MP4-P2P')
  assert.equal([x.contentType, x.airDate, x.title], ['xxx', '2024-03-15', 'Jane Doe'])
})

test('anime fansubs: absolute episodes, batches, leading group', () => {
  const a = classify('[SubsPlease] Jujutsu Kaisen - 41 (1080p) [6C1E9B52].mkv')
  assert.equal([a.contentType, a.title, a.episodes, a.seasons, a.releaseGroup, a.container, a.resolution], ['tv_show', 'Jujutsu Kaisen', [41], [], 'SubsPlease', 'mkv', '1080p'])
  const b = classify('[Commie] Hyouka - 01-22 [BD 720p AAC]')
  assert.equal([b.episodes.length, b.complete, b.source], [22, true, 'bluray'])
  const s2 = classify('[Erai-raws] Oshi no Ko 2nd Season - 13 [1080p][HEVC][Multiple Subtitle][ENG][SPA].mkv')
  assert.equal([s2.seasons, s2.episodes, s2.title, s2.languages], [[2], [13], 'Oshi no Ko', []])
  assert.equal(classify('[Judas] Kimetsu no Yaiba (Season 1) [BD 1080p][HEVC x265 10bit][Dual-Audio][Eng-Subs]').languages, ['en', 'ja'])
  // A bare zero-padded range is a batch; a decade or a span of years is not.
  const batch = classify('[Frieza] One Piece 0001-0100 (DVD 480p)')
  assert.equal([batch.episodes.length, batch.episodes[99], batch.complete, batch.title], [100, 100, true, 'One Piece'])
  assert.equal(classify('Hits of the 70-80s (2010) [MP3 320]').episodes, [])
  assert.equal(classify('Pink Floyd - Discography 1967-2014 [FLAC]').episodes, [])
})

test('years inside titles stay in the title', () => {
  const br = classify('Blade.Runner.2049.2017.1080p.BluRay.x264-SPARKS')
  assert.equal([br.title, br.year], ['Blade Runner 2049', 2017])
  const so = classify('2001.A.Space.Odyssey.1968.1080p.BluRay.x264.AC3-ETRG')
  assert.equal([so.title, so.year], ['2001 A Space Odyssey', 1968])
  const ww = classify('1917.2019.1080p.BluRay.x264-FGT')
  assert.equal([ww.title, ww.year], ['1917', 2019])
  const orwell = classify('George Orwell - 1984 (epub)')
  assert.equal([orwell.contentType, orwell.title, orwell.year], ['ebook', 'George Orwell - 1984', undefined])
  assert.is(classify('Kill.Bill.Vol.1.2003.1080p.BluRay.DTS.x264-CtrlHD').title, 'Kill Bill Vol 1')
})

test('languages: scene tags count, title words do not, subtitles are not audio', () => {
  assert.equal(classify('Le.Comte.de.Monte-Cristo.2024.FRENCH.1080p.WEB.H264-FiDELiO').languages, ['fr'])
  assert.equal(classify('Im.Westen.nichts.Neues.2022.German.DL.1080p.WEB.x264-WvF').languages, ['de', 'en'])
  assert.equal(classify('Anatomie.d.une.chute.2023.MULTi.VFF.2160p.WEB-DL.x265-SUPPLY').languages, ['fr', 'mul'])
  assert.equal(classify('The.French.Dispatch.2021.1080p.BluRay.x264-GRP').languages, [])
  assert.is(classify('The.French.Dispatch.2021.1080p.BluRay.x264-GRP').title, 'The French Dispatch')
  assert.equal(classify('Leo.2023.Tamil.1080p.WEB-DL.AVC.DD5.1.ESub-MOVCR').languages, ['ta'])
})

test('the file list decides the type', () => {
  const flac = Array.from({ length: 12 }, (_, i) => ({ path: `Album/${String(i + 1).padStart(2, '0')} - Song.flac`, size: 30e6 }))
  const m = classify('Coldplay - Moon Music', flac)
  assert.equal([m.contentType, m.audioCodec, m.container], ['music', 'flac', 'flac'])
  assert.is(classify('Some Collection', [{ path: 'a/book.epub', size: 4e5 }]).contentType, 'ebook')
  assert.is(classify('Some Collection', [{ path: 'a/issue.cbz', size: 4e7 }]).contentType, 'comic')
  assert.is(classify('Some Thing 2024', [{ path: 'thing.iso', size: 4e9 }]).contentType, 'software')
  assert.is(classify('Some.Thing-CODEX', [{ path: 'codex-some.thing.iso', size: 4e9 }]).contentType, 'game')
  const ch = Array.from({ length: 20 }, (_, i) => ({ path: `Book/Chapter ${i + 1}.mp3`, size: 2e7 }))
  assert.is(classify('Andy Weir - The Martian', ch).contentType, 'audiobook')
  assert.is(classify('Holly', [{ path: 'Holly.m4b', size: 6e8 }]).contentType, 'audiobook')
  const ep = classify('Show Name', [{ path: 'Show.Name.S01E01.720p.HDTV.x264-GRP.mkv', size: 7e8 }])
  assert.equal([ep.contentType, ep.container, ep.resolution], ['movie', 'mkv', '720p'])
  const tv = classify('Show.Name.S01E01', [{ path: 'Show.Name.S01E01.mkv', size: 7e8 }, { path: 'sample.mkv', size: 1e7 }])
  assert.equal([tv.contentType, tv.container], ['tv_show', 'mkv'])
  assert.is(classify('Holiday 2023', [{ path: 'IMG_1.jpg', size: 3e6 }]).contentType, 'unknown')
})

test('release groups', () => {
  const g = (n: string) => classify(n).releaseGroup
  assert.is(g('Succession.S04E10.1080p.AMZN.WEB-DL.DDP5.1.H.264-NTb[TGx]'), 'NTb')
  assert.is(g('Fast.X.2023.720p.WEBRip.x264.AAC-[YTS.MX]'), 'YTS.MX')
  assert.is(g('The Godfather (1972) 1080p BrRip x264 - YIFY'), 'YIFY')
  assert.is(g('Stardew Valley v1.6.8 [DODI Repack]'), 'DODI')
  assert.is(g('Hollow Knight v1.5.78.11833 [GOG] [Linux]'), 'GOG')
  assert.is(g('Metallica-72_Seasons-WEB-2023-ENRiCH'), 'ENRiCH')
  assert.is(g('debian-live-12.6.0-amd64-kde.iso'), undefined)
  assert.is(g('Demon Slayer - Kimetsu no Yaiba - S04E08 - Multi-Audio 1080p WEB-DL'), undefined)
  assert.is(g('UFC.300.Pereira.vs.Hill.PPV.1080p.WEB-DL.H264.Fight-BB'), 'Fight-BB')
})

test('quality: canonical values', () => {
  const q = classify('Dune.Part.Two.2024.2160p.UHD.BluRay.REMUX.DV.HDR10.HEVC.TrueHD.7.1.Atmos-FGT')
  assert.equal([q.resolution, q.source, q.videoCodec, q.audioCodec, q.hdr], ['2160p', 'bluray', 'x265', 'truehd', 'dv'])
  const w = classify('Show.S01E01.1080p.WEB.H264-GRP')
  assert.equal([w.source, w.videoCodec], ['web-dl', 'x264'])
  const t = classify('Avatar.2009.3D.1080p.BluRay.Half-SBS.x264.DTS-HD.MA.5.1-FGT')
  assert.equal([t.threeD, t.audioCodec], [true, 'dts-hd'])
  assert.is(classify('Metallica-72_Seasons-WEB-2023-ENRiCH').source, 'web')
  assert.is(classify('Alien.1979.Directors.Cut.1080p.BluRay.DTS.x264-CtrlHD').edition, 'directors-cut')
  assert.is(classify('Disco Elysium - The Final Cut [GOG]').edition, undefined)
})

test('the spaced copy keeps every position (titles and groups are cut from it by index); styles', () => {
  const extra = ['a_b.c-d', '1.2.3', 'x.264-GRP', '-', '', '....', 'S01E01-E02', 'debian-12.5.0-amd64', 'Dr. Dre - 2001']
  for (const name of [...corpus.map((e) => e.name), ...extra]) {
    const { base } = splitExtension(name)
    for (const style of ['space', 'dot', 'dash'] as const) assert.is(spaced(base, style).length, base.length, name)
  }
  assert.is(styleOf('The.Bear.S02E07.1080p.WEB.H264-NTb'), 'dot')
  assert.is(styleOf('Fight Club (1999) 1080p BluRay'), 'space')
  assert.is(styleOf('Daft_Punk-Discovery-2CD-2001-iHF'), 'dash')
  assert.is(styleOf('Half-Life.2-SKIDROW'), 'dot')
  assert.is(spaced('Kontakt.7.v7.10.5', 'dot'), 'Kontakt 7 v7 10 5')
  assert.is(spaced('WinRAR 7.01 Final', 'space'), 'WinRAR 7.01 Final')
  assert.equal(splitExtension('backup-2024-01-15.tar.gz'), { base: 'backup-2024-01-15', ext: 'gz' })
  assert.equal(splitExtension('Show.S01E01.720p.HDTV.x264-LOL'), { base: 'Show.S01E01.720p.HDTV.x264-LOL' })
})

test('normalizeTitle folds case, accents, apostrophes and punctuation', () => {
  assert.is(normalizeTitle("Sigur Rós - Ágætis byrjun"), 'sigur ros agaetis byrjun')
  assert.is(normalizeTitle("Grey's.Anatomy"), 'greys anatomy')
  assert.is(normalizeTitle('AC/DC'), 'ac dc')
})

test('odd input: empty, whitespace, symbols, very long, never throws and stays fast', () => {
  for (const n of ['', '   ', '-', '[]', '()', '....', '[a]', '-[', 'S01E', '\u0000\uffff', 'é'.repeat(300)]) {
    const c = classify(n)
    assert.type(c.contentType, 'string')
    assert.ok(Array.isArray(c.languages) && Array.isArray(c.seasons) && Array.isArray(c.episodes))
  }
  const t0 = performance.now()
  for (const n of ['a.'.repeat(5000), '[x] - '.repeat(2000), 'S01E01-'.repeat(2000), '1'.repeat(10000), '(((('.repeat(3000), ' - 01'.repeat(3000)]) classify(n)
  assert.ok(performance.now() - t0 < 3000, `long names took ${Math.round(performance.now() - t0)} ms`)
  assert.not.throws(() => classify('x', [{ path: '', size: -1 }, { path: 'a/', size: NaN }, { path: '.mkv', size: 1 }]))
})

test('no memory kept between calls (the index classifies millions of names in one process)', () => {
  v8.setFlagsFromString('--expose_gc')
  const gc = vm.runInNewContext('gc') as () => void
  const n = 40 * corpus.length
  const run = () => {
    for (let i = 0; i < n; i++) classify(corpus[i % corpus.length].name, corpus[i % corpus.length].files)
  }
  run()
  // A leak grows the heap every round (a pattern cached per call kept ~100 bytes a name: +330 KiB a round);
  // garbage-collector noise does not, so the smallest of three rounds is what counts.
  let least = Infinity
  for (let round = 0; round < 3; round++) {
    gc()
    const before = process.memoryUsage().heapUsed
    run()
    gc()
    least = Math.min(least, process.memoryUsage().heapUsed - before)
  }
  assert.ok(least < 160 * 1024, `heap grew at least ${Math.round(least / 1024)} KiB a round of ${n} names`)
})

test.run()
