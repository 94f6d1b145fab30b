#!/usr/bin/env node
// The search index at scale: synthetic but realistic torrents (names in scene, P2P, anime, music, book, software and
// game styles; 1–50 files each) imported with `bt import` into SQLite and into a local PostgreSQL, then searched.
// Prints import rate and peak RSS (whole process), search latency in process (p50/p99: two words + a type filter,
// newest first) and as a whole `bt search` process, and bytes per torrent with and without file lists beside the raw
// NDJSON. PostgreSQL is the peer: the same import and queries, figures side by side with ratios.
//   node bench/index.js [--count 1000000] [--queries 300] [--no-postgres] [--keep]
import { spawnSync } from 'node:child_process'
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, chownSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BT, ROOT, ensureBuilt, parseArgs, timed, freePort, seededRandom } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['no-postgres', 'keep'])
const COUNT = Number(flags.count ?? 1_000_000)
const QUERIES = Number(flags.queries ?? 300)
ensureBuilt()
const { SqliteIndex } = await import(join(ROOT, 'dist/src/index/sqlite.js'))
const { PostgresIndex } = await import(join(ROOT, 'dist/src/index/postgres.js'))
const { parseQuery } = await import(join(ROOT, 'dist/src/index/query/index.js'))

const work = mkdtempSync(join(tmpdir(), 'bt-bench-index-'))
spawnSync('chmod', ['755', work]) // PostgreSQL runs as its own user and must reach its data dir inside
let pgStop = () => {}
process.on('exit', () => {
  pgStop()
  if (!flags.keep) rmSync(work, { recursive: true, force: true })
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

// ---- synthetic data ----
const { rnd, int, pick, reseed } = seededRandom(0x9e3779b9)
const SYL = ['ka', 'ri', 'mo', 'to', 'sa', 'ne', 'lu', 'vi', 'dor', 'an', 'el', 'tra', 'gon', 'mi', 'sha', 'ber', 'qu', 'ix', 'ol', 'zen', 'far', 'pel', 'ru', 'ste', 'wy']
const VOCAB = Array.from({ length: 6000 }, () => {
  let w = ''
  for (let i = int(2, 3); i > 0; i--) w += pick(SYL)
  return w[0].toUpperCase() + w.slice(1)
})
// Zipf-like: a few words are common, most are rare.
const word = () => VOCAB[Math.floor(VOCAB.length * rnd() ** 2.2)]
const title = () => Array.from({ length: int(1, 4) }, word).join(' ')
const RES = ['720p', '1080p', '1080p', '2160p', '480p']
const SRC = ['BluRay', 'WEB-DL', 'WEBRip', 'HDTV', 'DVDRip']
const CODEC = ['x264', 'x265', 'H.264', 'HEVC', 'AV1']
const GRP = Array.from({ length: 300 }, () => pick(SYL).toUpperCase() + pick(SYL).toUpperCase())
const pad = (n) => String(n).padStart(2, '0')
const dotted = (s) => s.replace(/ /g, '.')
const GB = 1024 ** 3

function makeRecord(i) {
  const r = rnd()
  let name
  let files
  let type
  const res = pick(RES)
  if (r < 0.3) {
    type = 'movie'
    name = `${dotted(title())}.${int(1960, 2025)}.${res}.${pick(SRC)}.${pick(CODEC)}-${pick(GRP)}`
    files = [{ path: `${name}/${name}.mkv`, size: int(1, 12) * GB }]
    if (rnd() < 0.5) files.push({ path: `${name}/${name}.nfo`, size: int(1000, 9000) })
    if (rnd() < 0.3) files.push({ path: `${name}/Sample/${name}-sample.mkv`, size: int(10, 90) * 1e6 })
    for (let k = int(0, 2); k > 0; k--) files.push({ path: `${name}/Subs/${pick(['English', 'French', 'Spanish', 'German'])}.srt`, size: int(20000, 90000) })
  } else if (r < 0.55) {
    type = 'tv_show'
    const show = title()
    name = `${dotted(show)}.S${pad(int(1, 12))}E${pad(int(1, 24))}.${res}.${pick(SRC)}.${pick(CODEC)}-${pick(GRP)}`
    files = [{ path: `${name}.mkv`, size: int(200, 4000) * 1e6 }]
  } else if (r < 0.65) {
    type = 'tv_show'
    const show = dotted(title())
    const s = pad(int(1, 9))
    const tail = `${res}.${pick(SRC)}.${pick(CODEC)}-${pick(GRP)}`
    name = `${show}.S${s}.${tail}`
    files = Array.from({ length: int(6, 24) }, (_, e) => ({ path: `${name}/${show}.S${s}E${pad(e + 1)}.${tail}.mkv`, size: int(300, 3000) * 1e6 }))
  } else if (r < 0.73) {
    type = 'tv_show'
    const show = title()
    const grp = pick(GRP)
    if (rnd() < 0.7) {
      name = `[${grp}] ${show} - ${pad(int(1, 26))} [${res}][${int(0, 0xffffffff).toString(16).toUpperCase().padStart(8, '0')}].mkv`
      files = [{ path: name, size: int(200, 1500) * 1e6 }]
    } else {
      name = `[${grp}] ${show} (01-${int(12, 26)}) [${res}] [Batch]`
      files = Array.from({ length: int(12, 26) }, (_, e) => ({ path: `${name}/[${grp}] ${show} - ${pad(e + 1)} [${res}].mkv`, size: int(200, 1500) * 1e6 }))
    }
  } else if (r < 0.85) {
    type = 'music'
    const artist = title()
    const album = title()
    name = `${artist} - ${album} (${int(1960, 2025)}) [${pick(['FLAC', 'MP3 320', 'FLAC 24bit'])}]`
    const ext = name.includes('MP3') ? 'mp3' : 'flac'
    files = Array.from({ length: int(8, 20) }, (_, t) => ({ path: `${name}/${pad(t + 1)} - ${title()}.${ext}`, size: int(5, 60) * 1e6 }))
    files.push({ path: `${name}/cover.jpg`, size: int(100, 900) * 1000 })
  } else if (r < 0.9) {
    type = 'software'
    name = `${title()} ${int(1, 30)}.${int(0, 9)}.${int(0, 99)} ${pick(['x64', 'x86', 'amd64', 'Multilingual', 'macOS'])}`
    files = Array.from({ length: int(1, 5) }, (_, k) => ({ path: `${name}/${k === 0 ? 'setup.exe' : `file${k}.dll`}`, size: int(1, 900) * 1e6 }))
  } else if (r < 0.95) {
    type = 'ebook'
    name = `${title()} - ${pick(['Collection', 'Books', 'Complete Works', 'Library'])} (${int(1, 50)} books)`
    files = Array.from({ length: int(1, 50) }, () => {
      const book = title()
      return { path: `${name}/${book}/${book}.${pick(['epub', 'pdf', 'mobi'])}`, size: int(200, 20000) * 1000 }
    })
  } else {
    type = 'game'
    name = `${title()}-${pick(['CODEX', 'PLAZA', 'FitGirl Repack', 'GOG', 'RUNE'])}`
    files = [{ path: `${name}/${dotted(name)}.iso`, size: int(2, 60) * GB }]
    for (let k = int(0, 49); k > 0; k--) files.push({ path: `${name}/${dotted(name)}.r${pad(k)}`, size: 1e9 })
    files = files.slice(0, 50)
  }
  const size = files.reduce((a, f) => a + f.size, 0)
  // Published over the last five years, in rough export order.
  const publishedAt = Date.UTC(2021, 0, 1) + Math.floor((i / COUNT) * 5 * 365 * 86400e3) + int(0, 3600e3)
  return { infoHash: (i + 1).toString(16).padStart(8, '0') + int(0, 0xffffffff).toString(16).padStart(8, '0') + '0'.repeat(24), name, size, publishedAt: new Date(publishedAt).toISOString(), source: 'bench', contentType: type, files, _type: type }
}

async function writeNdjson(path, withFiles) {
  reseed(0x9e3779b9)
  const out = createWriteStream(path)
  const sample = []
  let buf = ''
  for (let i = 0; i < COUNT; i++) {
    const rec = makeRecord(i)
    if (rnd() < QUERIES * 4 / COUNT && sample.length < QUERIES * 4) sample.push({ name: rec.name, type: rec._type })
    delete rec._type
    if (!withFiles) delete rec.files
    buf += JSON.stringify(rec) + '\n'
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r))
      buf = ''
    }
  }
  out.write(buf)
  await new Promise((r) => out.end(r))
  return sample
}

// ---- PostgreSQL (Debian's, run as the postgres user in a temp dir) ----
async function startPostgres() {
  const BIN = '/usr/lib/postgresql/15/bin'
  const dir = join(work, 'pg')
  mkdirSync(dir)
  const asRoot = process.getuid() === 0
  if (asRoot) {
    const id = (f) => Number(spawnSync('id', [f, 'postgres'], { encoding: 'utf8' }).stdout)
    chownSync(dir, id('-u'), id('-g'))
  }
  const run = (cmd, args) => {
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args], { encoding: 'utf8' }) : spawnSync(join(BIN, cmd), args, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`)
  }
  run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'bt', '-E', 'UTF8', '--locale=C'])
  const port = await freePort()
  run('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1`, 'start'])
  pgStop = () => {
    pgStop = () => {}
    run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'fast', 'stop'])
  }
  return `postgres://bt@127.0.0.1:${port}/postgres`
}

// ---- measurements ----
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const ms = (x) => `${x.toFixed(1)} ms`

/**
 * CPU seconds of each thread of the process whose command line holds `marker`, sampled from /proc until `done`
 * settles: the main thread (the one SQLite writer) apart from the workers that parse and classify, which says which
 * side bounds the import rate (a thread's figure is its last sample, ≤ 200 ms short).
 */
async function threadCpu(marker, done) {
  const last = new Map()
  let pid
  let finished = false
  done.finally(() => { finished = true })
  while (!finished) {
    try {
      if (pid === undefined) {
        for (const d of readdirSync('/proc')) {
          if (!/^\d+$/.test(d)) continue
          try {
            const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
            if (cmd.includes(marker) && cmd.includes('import') && !cmd.startsWith('/usr/bin/time')) pid = Number(d)
          } catch {}
        }
      }
      if (pid !== undefined) {
        for (const t of readdirSync(`/proc/${pid}/task`)) {
          try {
            const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ')
            last.set(Number(t), (Number(f[11]) + Number(f[12])) / 100)
          } catch {}
        }
      }
    } catch {}
    await new Promise((r) => setTimeout(r, 200))
  }
  const main = last.get(pid) ?? 0
  const others = [...last].filter(([t]) => t !== pid).map(([, c]) => c).sort((a, b) => b - a)
  return { main, busiest: others[0] ?? 0, rest: others.slice(1).reduce((a, b) => a + b, 0) }
}

async function importWith(db, file) {
  const run = timed(process.execPath, [BT, 'import', file, '--db', db, '--json', '-q'], { timeoutMs: 3_600_000 })
  const threads = await threadCpu(db, run)
  const r = await run
  if (r.code !== 0) throw new Error(`bt import failed: ${r.output}`)
  const summary = JSON.parse(r.output.trim().split('\n').pop())
  return { rate: summary.added / summary.seconds, seconds: summary.seconds, wall: r.wall, cpu: r.cpu, rssMiB: r.rssKiB / 1024, added: summary.added, threads }
}

/** Queries as users type them: two words of a title that exists, that torrent's type, newest first. */
function queriesFrom(sample) {
  const qs = []
  for (const s of sample) {
    const words = s.name.split(/[^A-Za-z]+/).filter((w) => w.length > 3 && /^[A-Z][a-z]+$/.test(w))
    if (words.length < 2) continue
    qs.push(`${words[0]} ${words[1]} type:${s.type}`)
    if (qs.length >= QUERIES) break
  }
  return qs
}

async function searchLatency(store, queries) {
  const times = []
  let hits = 0
  for (const q of queries.slice(0, 20)) await store.search(parseQuery(q), { sort: 'date', limit: 50 }) // warm up
  // CPU time beside wall time: on a shared machine the wall time of a query is mostly waiting for a core.
  const cpus = []
  for (const q of queries) {
    const t = performance.now()
    const c = process.cpuUsage()
    const r = await store.search(parseQuery(q), { sort: 'date', limit: 50 })
    const u = process.cpuUsage(c)
    times.push(performance.now() - t)
    cpus.push((u.user + u.system) / 1000)
    hits += r.items.length
  }
  times.sort((a, b) => a - b)
  cpus.sort((a, b) => a - b)
  return { p50: pct(times, 50), p99: pct(times, 99), cpuP50: pct(cpus, 50), cpuP99: pct(cpus, 99), hitsAvg: hits / queries.length }
}

async function processLatency(db, queries) {
  const walls = []
  const cpus = []
  for (const q of queries.slice(0, 10)) {
    const r = await timed(process.execPath, [BT, 'search', q, '--db', db, '--sort', 'date', '--limit', '20'])
    if (r.code !== 0) throw new Error(`bt search failed: ${r.output}`)
    walls.push(r.wall * 1000)
    cpus.push(r.cpu * 1000)
  }
  walls.sort((a, b) => a - b)
  cpus.sort((a, b) => a - b)
  // The same for `bt --help`: what the CLI costs before a command runs at all.
  const help = await timed(process.execPath, [BT, '--help'])
  return { p50: pct(walls, 50), max: walls[walls.length - 1], cpuP50: pct(cpus, 50), helpWall: help.wall * 1000, helpCpu: help.cpu * 1000 }
}

console.log(`bench/index.js: ${COUNT} torrents, ${QUERIES} queries, work dir ${work}`)
let t = Date.now()
const withFiles = join(work, 'with-files.ndjson')
const noFiles = join(work, 'no-files.ndjson')
const sample = await writeNdjson(withFiles, true)
await writeNdjson(noFiles, false)
const ndjsonWith = statSync(withFiles).size
const ndjsonWithout = statSync(noFiles).size
console.log(`generated NDJSON in ${((Date.now() - t) / 1000).toFixed(0)} s: ${(ndjsonWith / COUNT).toFixed(0)} B/torrent with files, ${(ndjsonWithout / COUNT).toFixed(0)} without`)
const queries = queriesFrom(sample)

const results = {}
async function runBackend(name, dbWith, dbWithout, open, size) {
  const imp = await importWith(dbWith, withFiles)
  console.log(`${name}: import ${imp.added} with files: ${Math.round(imp.rate)}/s (${imp.seconds.toFixed(1)} s; ${Math.round(imp.added / imp.cpu)} per CPU second of bt, ${(imp.cpu / imp.added * 1e6).toFixed(0)} CPU ms per 1000; peak RSS ${imp.rssMiB.toFixed(0)} MiB)`)
  const us = (sec) => ((sec / imp.added) * 1e6).toFixed(0)
  // The import rate can be no higher than what its busiest thread allows (1e6 / µs per torrent), whatever the cores.
  console.log(`${name}: CPU µs per torrent by thread: main (writes) ${us(imp.threads.main)}, busiest worker ${us(imp.threads.busiest)}, others ${us(imp.threads.rest)}; bound by one thread: ${Math.round(imp.added / Math.max(imp.threads.main, imp.threads.busiest, 1e-9))}/s`)
  const imp2 = await importWith(dbWithout, noFiles)
  console.log(`${name}: import without files: ${Math.round(imp2.rate)}/s (${Math.round(imp2.added / imp2.cpu)} per CPU second of bt; peak RSS ${imp2.rssMiB.toFixed(0)} MiB)`)
  const store = await open(dbWith)
  const lat = await searchLatency(store, queries)
  // The worst case: the two most common title words, so many rows match.
  const common = await searchLatency(store, [`${VOCAB[0]} ${VOCAB[1]} type:movie`, `${VOCAB[2]} ${VOCAB[0]} type:tv`])
  const bytesWith = await size(store, dbWith)
  await store.close()
  const store2 = await open(dbWithout)
  const bytesWithout = await size(store2, dbWithout)
  await store2.close()
  const proc = await processLatency(dbWith, queries)
  console.log(`${name}: search in process p50 ${ms(lat.p50)} p99 ${ms(lat.p99)} (CPU p50 ${ms(lat.cpuP50)} p99 ${ms(lat.cpuP99)}; ${lat.hitsAvg.toFixed(1)} results/query); common words ${ms(common.p99)} (CPU ${ms(common.cpuP99)}); bt search process p50 ${ms(proc.p50)} (CPU ${ms(proc.cpuP50)}) max ${ms(proc.max)}; bt --help alone ${ms(proc.helpWall)} (CPU ${ms(proc.helpCpu)})`)
  console.log(`${name}: ${(bytesWith / COUNT).toFixed(0)} B/torrent with file lists, ${(bytesWithout / COUNT).toFixed(0)} without`)
  results[name] = { imp, imp2, lat, common, proc, bytesWith, bytesWithout }
}

const sqliteSize = async (_store, path) => statSync(path).size + (() => { try { return statSync(path + '-wal').size } catch { return 0 } })()
await runBackend('sqlite', join(work, 'with.db'), join(work, 'without.db'), async (p) => SqliteIndex.open(p), sqliteSize)
if (!flags['no-postgres']) {
  const url = await startPostgres()
  const base = url.replace(/\/postgres$/, '')
  const c = await PostgresIndex.open(url)
  await c.close()
  const { default: pg } = await import('pg')
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query('CREATE DATABASE nofiles')
  await admin.end()
  await runBackend('postgres', url, `${base}/nofiles`, (u) => PostgresIndex.open(u), (store) => store.sizeOnDisk())
}

const s = results.sqlite
console.log('\nsummary (targets: import ≥ 50000/s, RSS < 200 MiB, p50 < 20 ms, p99 < 100 ms, bt search < 300 ms)')
console.log(`  raw NDJSON: ${(ndjsonWith / COUNT).toFixed(0)} B/torrent with files, ${(ndjsonWithout / COUNT).toFixed(0)} without`)
const row = (label, f, unit = '') => {
  const p = results.postgres
  const a = f(s)
  const b = p ? f(p) : undefined
  console.log(`  ${label.padEnd(28)} sqlite ${a.toFixed(1)}${unit}${b !== undefined ? `   postgres ${b.toFixed(1)}${unit}   postgres/sqlite ${(b / a).toFixed(2)}` : ''}`)
}
row('import/s (with files)', (r) => r.imp.rate)
row('import/s (no files)', (r) => r.imp2.rate)
row('import per bt CPU s (files)', (r) => r.imp.added / r.imp.cpu)
row('CPU per 1000 (files)', (r) => (r.imp.cpu / r.imp.added) * 1e6, ' ms')
row('CPU per 1000 (no files)', (r) => (r.imp2.cpu / r.imp2.added) * 1e6, ' ms')
row('import peak RSS', (r) => r.imp.rssMiB, ' MiB')
row('search p50', (r) => r.lat.p50, ' ms')
row('search p99', (r) => r.lat.p99, ' ms')
row('search CPU p50', (r) => r.lat.cpuP50, ' ms')
row('search CPU p99', (r) => r.lat.cpuP99, ' ms')
row('search common words', (r) => r.common.p99, ' ms')
row('bt search process p50', (r) => r.proc.p50, ' ms')
row('bt search process CPU p50', (r) => r.proc.cpuP50, ' ms')
row('bytes/torrent with files', (r) => r.bytesWith / COUNT)
row('bytes/torrent no files', (r) => r.bytesWithout / COUNT)
