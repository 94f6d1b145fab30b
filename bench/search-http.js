#!/usr/bin/env node
// Search over HTTP under load: an index of synthetic torrents (TV episodes and packs, movies, music, software) made
// with `bt import`, served by `bt serve --db`, hit by 50 concurrent autocannon clients on Torznab (Sonarr's RSS
// sync: tvsearch with no q; an episode search: q+season+ep) and on the JSON API (words + filter, with and without
// facets). Prints requests/s and latency p50/p99 per case; the peer figure is the same query run in process on the
// store (what HTTP, XML/JSON and the event loop under 50 clients add). Target: p99 < 100 ms.
// Each case runs twice: with repeated URLs (what *arr RSS syncs and web UIs send: bt serve answers them from its answer
// cache until the index changes) and with every URL new (a throwaway `_=n` parameter: each request is a miss, so the
// figure is the full cost of a search, XML/JSON included).
// bt serve searches on worker threads (one per core, at most 4); `--threads 0` runs them on its event loop, as before.
// `--db PATH` keeps the index there, and a later run with the same PATH skips making it (a 1 M import takes minutes).
//   node bench/search-http.js [--count 300000] [--duration 10] [--connections 50] [--loader wrk|autocannon] [--threads N]
//                             [--db PATH] [--cases tvsearch,json…] [--fresh (new URLs only)] [--keep]
import { spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { BT, ROOT, ensureBuilt, have, parseArgs, timed, seededRandom } from './lib.js'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const { flags } = parseArgs(process.argv.slice(2), ['keep', 'fresh'])
const COUNT = Number(flags.count ?? 300_000)
const DURATION = Number(flags.duration ?? 10)
const CONNECTIONS = Number(flags.connections ?? 50)
// wrk (C, two threads) when installed: autocannon runs in this process and, with 100 KiB feeds, measures itself.
const LOADER = String(flags.loader ?? (have('wrk') ? 'wrk' : 'autocannon'))
ensureBuilt()

const work = mkdtempSync(join(tmpdir(), 'bt-bench-search-http-'))
let serve
process.on('exit', () => {
  serve?.kill('SIGKILL')
  if (!flags.keep) rmSync(work, { recursive: true, force: true })
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

// ---- synthetic data (deterministic) ----
const { rnd, int, pick } = seededRandom(0x2545f491)
const SYL = ['ka', 'ri', 'mo', 'to', 'sa', 'ne', 'lu', 'vi', 'dor', 'an', 'el', 'tra', 'gon', 'mi', 'sha', 'ber', 'qu', 'ix', 'ol', 'zen']
const VOCAB = Array.from({ length: 5000 }, () => {
  let w = ''
  for (let i = int(2, 3); i > 0; i--) w += pick(SYL)
  return w[0].toUpperCase() + w.slice(1)
})
const word = () => VOCAB[Math.floor(VOCAB.length * rnd() ** 2.2)]
const SHOWS = Array.from({ length: 3000 }, () => `${word()} ${word()}`)
const RES = ['720p', '1080p', '1080p', '2160p', '480p']
const SRC = ['BluRay', 'WEB-DL', 'WEBRip', 'HDTV']
const pad = (n) => String(n).padStart(2, '0')
const hex = (i) => (i.toString(16).padStart(8, '0') + 'b7e151628aed2a6abf7158809cf4f3c762e7160f').slice(0, 40)

function record(i) {
  const r = rnd()
  let name
  if (r < 0.5) {
    const show = SHOWS[Math.floor(SHOWS.length * rnd() ** 1.5)].replace(/ /g, '.')
    name = rnd() < 0.05 ? `${show}.S${pad(int(1, 8))}.${pick(RES)}.${pick(SRC)}.x264-GRP` : `${show}.S${pad(int(1, 8))}E${pad(int(1, 22))}.${pick(RES)}.${pick(SRC)}.x264-GRP`
  } else if (r < 0.8) name = `${word()}.${word()}.${int(1970, 2025)}.${pick(RES)}.${pick(SRC)}.x265-${pick(SYL).toUpperCase()}`
  else if (r < 0.92) name = `${word()} - ${word()} ${word()} (${int(1970, 2025)}) [FLAC]`
  else name = `${word()} ${word()} ${int(1, 20)}.${int(0, 9)} x64 setup`
  return { infoHash: hex(i), name, size: int(1e6, 2e10), publishedAt: 1.6e9 + i * 60, seeders: int(0, 500), leechers: int(0, 50) }
}

const db = flags.db ? String(flags.db) : join(work, 'index.db')
const { existsSync } = await import('node:fs')
const reuse = flags.db && existsSync(db)
const ndjson = join(work, 'index.ndjson')
if (!reuse) await new Promise((resolve, reject) => {
  const out = createWriteStream(ndjson)
  out.on('error', reject)
  let i = 0
  const write = () => {
    while (i < COUNT) {
      const line = JSON.stringify(record(i++)) + '\n'
      if (!out.write(line)) return out.once('drain', write)
    }
    out.end(resolve)
  }
  write()
})
if (reuse) {
  // The same generator made it; the query words are drawn from the same vocabulary.
  for (let i = 0; i < COUNT; i++) record(i)
  console.log(`index: ${db} (made by an earlier run)`)
} else {
  process.stderr.write(`importing ${COUNT} torrents…\n`)
  const imp = await timed(process.execPath, [BT, 'import', '--db', db, '--quiet', ndjson], { timeoutMs: 1_800_000 })
  if (imp.code !== 0) throw new Error(`bt import failed: ${imp.output}`)
  console.log(`index: ${COUNT} torrents imported in ${imp.wall.toFixed(1)} s (peak RSS ${Math.round(imp.rssKiB / 1024)} MiB)`)
  rmSync(ndjson, { force: true })
}

// ---- bt serve ----
serve = spawn(process.execPath, [BT, 'serve', '--port', '0', '--peer-port', '0', '--no-dht', '--db', db, '--download-dir', join(work, 'dl')], {
  env: { ...process.env, XDG_DATA_HOME: join(work, 'data'), BT_DHT_BOOTSTRAP: 'none', ...(flags.threads !== undefined ? { BT_SEARCH_THREADS: String(flags.threads) } : {}) }, stdio: ['ignore', 'pipe', 'inherit'],
})
const url = await new Promise((resolve, reject) => {
  createInterface({ input: serve.stdout }).once('line', (l) => resolve(l.trim()))
  serve.once('exit', (c) => reject(new Error(`bt serve exited ${c}`)))
})

// ---- in-process peer figure: the same queries straight on the store ----
const { SqliteIndex } = await import(join(ROOT, 'dist/src/index/sqlite.js'))
const { wordsQuery } = await import(join(ROOT, 'dist/src/server/search/common.js'))
const { parseQuery } = await import(join(ROOT, 'dist/src/index/query/index.js'))
const store = SqliteIndex.open(db)
const shows = Array.from({ length: 40 }, (_, i) => SHOWS[i * 7])
const words = Array.from({ length: 40 }, () => word().toLowerCase())

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
async function inProcess(make, opts) {
  const t = []
  for (let i = 0; i < 200; i++) {
    const q = make(i)
    const t0 = performance.now()
    await store.search(q, opts)
    t.push(performance.now() - t0)
  }
  return { p50: pct(t, 50), p99: pct(t, 99) }
}

const allCases = [
  {
    name: 'torznab tvsearch, no q (RSS sync)',
    paths: ['/torznab/api?t=tvsearch&cat=5030,5040&limit=100'],
    peer: () => inProcess(() => ({ terms: [], filters: { types: { any: ['tv_show'] } } }), { limit: 100, sort: 'date' }),
  },
  {
    name: 'torznab tvsearch q+season+ep',
    paths: shows.map((s, i) => `/torznab/api?t=tvsearch&cat=5030,5040&q=${encodeURIComponent(s)}&season=${1 + (i % 8)}&ep=${1 + (i % 22)}`),
    peer: () => inProcess((i) => ({ ...wordsQuery(shows[i % 40]), filters: { types: { any: ['tv_show'] }, seasons: [1 + (i % 8)], episodes: [1 + (i % 22)] } }), { limit: 100, sort: 'relevance' }),
  },
  {
    name: 'json search word + type, no facets',
    paths: words.map((w) => `/api/v1/search?q=${w}%20type:movie&facets=0`),
    peer: () => inProcess((i) => parseQuery(`${words[i % 40]} type:movie`), { limit: 50, count: true }),
  },
  {
    name: 'json search word + type, facets',
    paths: words.map((w) => `/api/v1/search?q=${w}%20type:movie`),
    peer: () => inProcess((i) => parseQuery(`${words[i % 40]} type:movie`), { limit: 50, count: true, facets: true }),
  },
]

const only = flags.cases ? String(flags.cases).split(',') : undefined
const cases = only ? allCases.filter((c) => only.some((o) => c.name.includes(o))) : allCases
const fresh = flags.fresh === undefined ? [false, true] : [true]
console.log(`bt serve search over HTTP: ${COUNT} torrents, ${CONNECTIONS} clients (${LOADER}), ${DURATION} s per case, search threads: ${flags.threads ?? 'default (one per core, at most 4)'}`)
// CPU time bt serve spends per request, from /proc: on a shared, overloaded machine latency mostly measures the
// wait for a core; this is the figure that says what one core can serve (1000 / ms = requests per second).
const { readFileSync } = await import('node:fs')
const cpuMs = () => {
  const f = readFileSync(`/proc/${serve.pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100 // utime + stime, in clock ticks of 10 ms
}
console.log(`load average before: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (${(await import('node:os')).cpus().length} cores)`)
// "1-core floor": with CONNECTIONS clients each waiting for its answer before asking again, a server that gets one
// whole core answers in CONNECTIONS × (CPU ms per request) on average (Little's law): when that is over 100 ms the
// target cannot be met by any scheduling, only by less work per request (or more cores).
console.log('case'.padEnd(46), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'CPU ms/req'.padStart(11), '1-core floor ms'.padStart(16), '| in-process p50/p99 ms', ' p99 ratio', ' p99/target', ' load')
for (const c of cases.flatMap((c) => fresh.map((f) => ({ ...c, fresh: f })))) {
  const cpu0 = cpuMs()
  const res = LOADER === 'wrk' ? wrkLoad(c.paths, c.fresh) : await autocannonLoad(c.paths, c.fresh)
  const cpuPerReq = (cpuMs() - cpu0) / Math.max(1, res.requests.total)
  const peer = await c.peer()
  const bad = res.bad
  console.log(
    `${c.name}${c.fresh ? ', new URLs' : ', same URLs'}`.padEnd(46), String(Math.round(res.requests.average)).padStart(8), String(res.latency.p50).padStart(8), String(res.latency.p99).padStart(8), cpuPerReq.toFixed(2).padStart(11), (CONNECTIONS * cpuPerReq).toFixed(0).padStart(16),
    `| ${peer.p50.toFixed(2)}/${peer.p99.toFixed(2)}`.padEnd(24), `${(res.latency.p99 / Math.max(peer.p99, 0.01)).toFixed(1)}x`,
    `${(res.latency.p99 / 100).toFixed(2)}`.padStart(10), readFileSync('/proc/loadavg', 'utf8').split(' ')[0].padStart(6),
    bad ? ` (${bad} failed)` : '', res.latency.p99 < 100 ? '' : '  ← over the 100 ms target',
  )
}
await store.close()

async function autocannonLoad(paths, fresh) {
  // autocannon walks the `requests` list in step on every connection (50 clients send the same URL at once); for new
  // URLs one shared counter gives every request, on any connection, its own throwaway parameter.
  let n = 0
  const requests = fresh
    ? [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${paths[n % paths.length]}&_=${n++}` }) }]
    : paths.map((path) => ({ method: 'GET', path }))
  const res = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, requests })
  return { ...res, bad: res.non2xx + res.errors + res.timeouts }
}

/** The same load from wrk: each thread walks the paths from its own start; new URLs get a per-thread counter. */
function wrkLoad(paths, fresh) {
  const script = join(work, 'wrk.lua')
  writeFileSync(script, `local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }
local fresh = ${fresh}
local threads = 0
local i = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
request = function()
  i = i + 1
  local p = paths[((i + (tid or 0) * 7) % #paths) + 1]
  if fresh then p = p .. "&_=" .. (tid or 0) .. "-" .. i end
  return wrk.format("GET", p)
end
`)
  // A long --timeout: a slow answer is latency to report, not an error to drop from the figures.
  const r = spawnSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--timeout', '60s', '--latency', '-s', script, url], { encoding: 'utf8', timeout: (DURATION + 120) * 1000 })
  if (r.status !== 0) throw new Error(`wrk: ${r.stderr}`)
  const ms = (q) => {
    const m = r.stdout.match(new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s|m)\\b`))
    if (!m) throw new Error(`wrk output without ${q}%: ${r.stdout}`)
    return Math.round(Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]])
  }
  const errs = r.stdout.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/)
  const non2xx = r.stdout.match(/Non-2xx or 3xx responses: (\d+)/)
  return {
    requests: { average: Number((r.stdout.match(/Requests\/sec:\s+([\d.]+)/) ?? [])[1]), total: Number((r.stdout.match(/(\d+) requests in/) ?? [])[1]) },
    latency: { p50: ms(50), p99: ms(99) },
    bad: (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
  }
}
serve.kill('SIGTERM')
