#!/usr/bin/env node
// bt serve benchmark, three jobs in one run on 127.0.0.1 (no DHT anywhere):
//
//   npm run build && node bench/serve.js [--size 1G] [--runs 3] [--jobs warm,cold,api] [--torrents 1000]
//        [--connections 100] [--duration 10] [--warmup 2] [--loader wrk|autocannon] [--dir /tmp] [--keep]
//
//   warm   the data complete on disk: `curl -o /dev/null` of the file through bt serve's /stream/ and through nginx
//          (Debian, a throwaway config on a free port, sendfile on) serving the same file; best of --runs; MiB/s
//          and bt/nginx (target ≥ 0.7).
//   cold   a python3-libtorrent seeder (high_performance_seed) has the file; a fresh bt serve is given the magnet
//          (x.pe = the seeder) and curl streams the whole file at once: time to first byte from the request (metadata
//          fetch, check and first piece included) and MiB/s; then, in another fresh bt serve, a 1 MiB Range read at
//          a random offset in the second half: time to first byte and to the last. The same two reads from
//          webtorrent-cli's HTTP server (`webtorrent download MAGNET --port P`, /webtorrent/<hash>/<path>), timed from
//          the moment its server answers (its Node start-up left out, as bt serve's is). webtorrent-cli cannot switch
//          off DHT or its public trackers, so with the cold job the whole bench re-runs itself inside a network
//          namespace that has only `lo` (root; --no-netns to skip webtorrent and run on the host); webtorrent-cli is
//          npm-installed into bench/.cache/webtorrent first (bench/lib.js ensureWebtorrent), or skipped, saying why.
//   api    --torrents magnets of random info hashes (no peers: they stay in `metadata`) loaded into bt serve, then
//          --connections clients for --duration s posting Transmission `torrent-get` for all torrents, with every
//          field (the issue's target) and with the fields Sonarr polls, each plain and with Accept-Encoding: gzip
//          (what Sonarr's HTTP client sends): requests/s and latency p50/p99 (target p99 < 50 ms). The load comes
//          from wrk (Debian) when installed: autocannon, in this process, cannot parse 400 KiB-1.7 MiB answers as
//          fast as bt serve sends them and then measures itself (`--loader autocannon` to use it anyway).
//          Beside each: nginx (one worker) sending the same bytes as a static file under the same load — the floor
//          this machine allows at that moment — and, from inside bt serve (bench/loop-monitor.js), the event loop's
//          largest delay and use, the main thread's longest stretch of CPU, and GC pauses: what the tail is made of.
//
// Needs: nginx, curl, python3-libtorrent, wrk (Debian), autocannon (npm dev dependency). Disk: the payload, plus one copy.

import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomInt } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import autocannon from 'autocannon'
import { BT, MiB, ROOT, ensureBuilt, ensureWebtorrent, fmtSize, freePort, have, makePayload, parseArgs, parseSize, reexecInNetns, startLtPeer, startServe } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help', 'no-netns'])
if (flags.help) {
  console.log('node bench/serve.js [--size 1G] [--runs 3] [--jobs warm,cold,api] [--torrents 1000] [--connections 100] [--duration 10] [--warmup 2] [--loader wrk|autocannon] [--cases all,sonarr,all-gzip,sonarr-gzip] [--node-flags "…"] [--dir /tmp] [--keep] [--no-netns]')
  process.exit(0)
}
// webtorrent-cli for the cold job: installed outside (it needs the registry), run inside a lo-only namespace.
let webtorrentSkip = process.env.BT_BENCH_WEBTORRENT_SKIP
if (String(flags.jobs ?? 'warm,cold,api').split(',').includes('cold') && !process.env.BT_BENCH_NETNS) {
  let bin
  try {
    bin = ensureWebtorrent()
  } catch (e) {
    webtorrentSkip = `not installed (${e.message})`
  }
  if (bin && !flags['no-netns']) {
    const r = await reexecInNetns(process.env.BT_BENCH_NETNS_NAME ?? 'h-serve-bench', import.meta.url, { env: { BT_BENCH_WEBTORRENT: bin } })
    if (r.code !== undefined) process.exit(r.code)
    webtorrentSkip = `${r.unavailable}; webtorrent-cli cannot switch off DHT and public trackers`
  } else if (bin) webtorrentSkip = '--no-netns: webtorrent-cli cannot switch off DHT and public trackers'
}
const webtorrentBin = process.env.BT_BENCH_NETNS ? process.env.BT_BENCH_WEBTORRENT : undefined
const size = parseSize(flags.size ?? '1G')
const runs = Number(flags.runs ?? 3)
const jobs = String(flags.jobs ?? 'warm,cold,api').split(',')
const nTorrents = Number(flags.torrents ?? 1000)
const connections = Number(flags.connections ?? 100)
const duration = Number(flags.duration ?? 10)
const warmup = Number(flags.warmup ?? 2)
const loader = String(flags.loader ?? (have('wrk') ? 'wrk' : 'autocannon'))
ensureBuilt()
for (const cmd of ['curl', ...(jobs.includes('warm') ? ['nginx'] : []), ...(jobs.includes('api') && loader === 'wrk' ? ['wrk'] : [])]) if (!have(cmd)) throw new Error(`${cmd} is not installed`)

const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-serve-'))
const children = new Set()
process.on('exit', () => {
  for (const c of children) try { c.kill('SIGKILL') } catch {}
  if (!flags.keep) rmSync(work, { recursive: true, force: true })
})

/** bt serve on a free port with its own state; resolves { url, stop }. */
async function serve(name, args = [], dl = join(work, `${name}-dl`), nodeArgs = []) {
  const { url, pid, stop } = await startServe({ state: join(work, `${name}-state`), downloadDir: dl, args, nodeArgs, children })
  return { url, dl, stop, pid }
}

/** CPU time (user + system, ms) a process has used, from /proc: what a request costs on a machine others load too. */
function cpuMsOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100
}
/** The kernel's part of it (ms): for big answers most of a request is copying bytes into a socket. */
function sysMsOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[12]) * 1000) / 100
}

async function api(url, path, body) {
  const res = await fetch(`${url}/api/v1${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {})
  const j = await res.json()
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(j)}`)
  return j
}

async function until(what, fn, ms = 600_000) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** curl to /dev/null: { code, first (s), total (s), bytes, mibps }. */
function curl(url, extra = []) {
  const r = spawnSync('curl', ['-sS', '-f', '-o', '/dev/null', '-w', '%{time_starttransfer} %{time_total} %{size_download}', ...extra, url], { encoding: 'utf8', timeout: 900_000 })
  if (r.status !== 0) throw new Error(`curl ${url}: ${r.stderr}`)
  const [first, total, bytes] = r.stdout.trim().split(' ').map(Number)
  return { first, total, bytes, mibps: bytes / MiB / total }
}

function makeTorrent(file, out) {
  const r = spawnSync(process.execPath, [BT, 'create', file, '-l', '1M', '--no-date', '-q', '-o', out], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`bt create: ${r.stderr}`)
}

/**
 * POST `body` to `url` from `connections` clients for `secs` s: { rps, p50, p99 (ms), errors }. The callers first
 * run the same load for --warmup s, not measured, for bt serve and nginx alike: a daemon that Sonarr polls is warm (its answer
 * cached, its code compiled); a cold start's first second — the JIT tiering up the request path, the first build —
 * would otherwise be most of a 10 s run's 1 % tail. --warmup 0 measures from cold.
 */
async function load(url, body, headers, secs = duration) {
  if (loader === 'autocannon') {
    const res = await autocannon({ url, method: 'POST', body, headers, connections, duration: secs })
    return { rps: res.requests.average, total: res.requests.total, p50: res.latency.p50, p99: res.latency.p99, errors: res.errors + res.non2xx + res.timeouts }
  }
  const script = join(work, 'wrk.lua')
  writeFileSync(script, `${body === undefined ? '' : `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\n`}${Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n')}\n`)
  // A long --timeout: a slow answer is latency to report, not an error to drop from the figures.
  const r = spawnSync('wrk', ['-t2', `-c${connections}`, `-d${secs}s`, '--timeout', '60s', '--latency', '-s', script, url], { encoding: 'utf8', timeout: (secs + 120) * 1000 })
  if (r.status !== 0) throw new Error(`wrk: ${r.stderr}`)
  const ms = (q) => {
    const m = r.stdout.match(new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s|m)\\b`))
    if (!m) throw new Error(`wrk output without ${q}%: ${r.stdout}`)
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]]
  }
  const errs = r.stdout.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/)
  const non2xx = r.stdout.match(/Non-2xx or 3xx responses: (\d+)/)
  return {
    rps: Number((r.stdout.match(/Requests\/sec:\s+([\d.]+)/) ?? [])[1]),
    total: Number((r.stdout.match(/(\d+) requests in/) ?? [])[1]),
    p50: ms(50),
    p99: ms(99),
    errors: (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
  }
}

const rows = []
const line = (...cols) => console.log(cols.join('  '))

console.log(`bench/serve.js: ${fmtSize(size)} payload, 1 MiB pieces, in ${work}`)
const { seedDir, file } = jobs.some((j) => j === 'warm' || j === 'cold') ? await makePayload(work, size) : {}
const torrentPath = join(work, 'payload.torrent')
if (file) makeTorrent(file, torrentPath)

if (jobs.includes('warm')) {
  // bt serve with the payload's own directory as its download dir: the check finds everything there.
  const s = await serve('warm', [], seedDir)
  const form = new FormData()
  form.set('torrent', new Blob([readFileSync(torrentPath)]), 'payload.torrent')
  const added = await (await fetch(`${s.url}/api/v1/torrents`, { method: 'POST', body: form })).json()
  await until('the warm check', async () => (await api(s.url, `/torrents/${added.infoHash}`)).state === 'seeding')
  const nginxPort = await freePort()
  const conf = join(work, 'nginx.conf')
  writeFileSync(conf, `daemon off; worker_processes 1; pid ${work}/nginx.pid; error_log ${work}/nginx-error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${work}/nginx-tmp; proxy_temp_path ${work}/nginx-tmp;
  fastcgi_temp_path ${work}/nginx-tmp; uwsgi_temp_path ${work}/nginx-tmp; scgi_temp_path ${work}/nginx-tmp;
  server { listen 127.0.0.1:${nginxPort}; root ${seedDir}; } }\n`)
  mkdirSync(join(work, 'nginx-tmp'))
  // nginx's worker runs as an unprivileged user: let it into the (0700) work directory.
  chmodSync(work, 0o755)
  const nginx = spawn('nginx', ['-c', conf, '-p', work], { stdio: 'ignore' })
  children.add(nginx)
  await until('nginx', () => fetch(`http://127.0.0.1:${nginxPort}/payload.bin`, { method: 'HEAD' }).then((r) => r.ok, () => false), 10_000)
  let bt = 0
  let ng = 0
  for (let i = 0; i < runs; i++) {
    bt = Math.max(bt, curl(`${s.url}/stream/${added.infoHash}/0`).mibps)
    ng = Math.max(ng, curl(`http://127.0.0.1:${nginxPort}/payload.bin`).mibps)
  }
  nginx.kill('SIGKILL')
  await s.stop()
  rows.push(['warm stream MiB/s (best of ' + runs + ')', bt.toFixed(0), ng.toFixed(0), `bt/nginx ${(bt / ng).toFixed(2)} (target ≥ 0.7: ${bt / ng >= 0.7 ? 'met' : 'NOT met'})`])
}

if (jobs.includes('cold')) {
  // uTP accepted too: webtorrent-cli tries uTP first and, against a TCP-only seeder, waits tens of seconds before TCP.
  const lt = await startLtPeer({ torrent: torrentPath, save: seedDir, seed: true, high_performance: true, utp: true, interval: 1 })
  const { parseTorrent } = await import(join(ROOT, 'dist', 'src', 'metainfo', 'metainfo.js'))
  const hash = parseTorrent(readFileSync(torrentPath)).infoHash
  const magnet = `magnet:?xt=urn:btih:${hash}&x.pe=127.0.0.1:${lt.port}`
  const s1 = await serve('cold1')
  const t0 = Date.now()
  await api(s1.url, '/torrents', { uri: magnet })
  const whole = curl(`${s1.url}/stream/${hash}/0`)
  const sinceAdd = (Date.now() - t0) / 1000
  await s1.stop()
  rows.push(['cold stream: first byte s', whole.first.toFixed(3), '', 'magnet added just before: metadata + check + first piece'])
  rows.push(['cold stream: MiB/s', (whole.bytes / MiB / sinceAdd).toFixed(0), '', `whole file, from the add (${sinceAdd.toFixed(1)} s)`])
  const s2 = await serve('cold2')
  await api(s2.url, '/torrents', { uri: magnet })
  await until('metadata', async () => (await api(s2.url, `/torrents/${hash}`)).state !== 'metadata', 60_000)
  const off = size / 2 + randomInt(Math.max(1, size / 2 - MiB))
  const cpu0 = cpuMsOf(s2.pid)
  const r = curl(`${s2.url}/stream/${hash}/0`, ['-r', `${off}-${off + MiB - 1}`])
  const rangeCpu = cpuMsOf(s2.pid) - cpu0
  await s2.stop()
  let wt
  if (webtorrentBin) {
    try {
      wt = await webtorrentCold(magnet, hash, off)
    } catch (e) {
      webtorrentSkip = `failed: ${e.message.split('\n')[0]}`
    }
  }
  const ratio = (a, b) => (wt ? `${(a / b).toFixed(2)}x` : `webtorrent-cli: ${webtorrentSkip ?? 'not run'}`)
  rows.splice(rows.length - 2, 2,
    ['cold stream: first byte s', whole.first.toFixed(3), wt ? wt.whole.first.toFixed(3) : '', wt ? 'metadata + check + first piece; webtorrent from its server up' : ratio()],
    ['cold stream: MiB/s', (whole.bytes / MiB / sinceAdd).toFixed(0), wt ? (wt.whole.bytes / MiB / wt.wholeSecs).toFixed(0) : '', wt ? `bt/webtorrent ${ratio(whole.bytes / sinceAdd, wt.whole.bytes / wt.wholeSecs)} (target ≥ 2), whole file from the add / server up` : `whole file, from the add (${sinceAdd.toFixed(1)} s)`],
    // The same transfer without the wait for the first byte (metadata, check): the streaming rate itself.
    ['cold stream: MiB/s after the first byte', (whole.bytes / MiB / (whole.total - whole.first)).toFixed(0), wt ? (wt.whole.bytes / MiB / (wt.whole.total - wt.whole.curlFirst)).toFixed(0) : '', wt ? `bt/webtorrent ${ratio((whole.total - whole.first) ** -1, (wt.whole.total - wt.whole.curlFirst) ** -1)}` : ''])
  rows.push(['cold random 1 MiB: first byte ms', (r.first * 1000).toFixed(0), wt ? (wt.range.first * 1000).toFixed(0) : '', `offset ${off}, metadata already known (target < 100)`])
  rows.push(['cold random 1 MiB: total ms', (r.total * 1000).toFixed(0), wt ? (wt.range.total * 1000).toFixed(0) : '', ''])
  // Process CPU over the read (the download of the rest runs meanwhile in both): 10 ms clock ticks from /proc.
  rows.push(['cold random 1 MiB: process CPU ms', rangeCpu.toFixed(0), wt ? wt.range.cpuMs.toFixed(0) : '', 'user+sys during the read, background download included'])
  lt.stop()
}

/** webtorrent-cli's HTTP server on the same magnet: the whole file from a fresh start, then a Range read in another. */
async function webtorrentCold(magnet, hash, off) {
  const { parseTorrent } = await import(join(ROOT, 'dist', 'src', 'metainfo', 'metainfo.js'))
  const name = parseTorrent(readFileSync(torrentPath)).files[0].path.join('/')
  const start = async (tag) => {
    const port = await freePort()
    const out = join(work, `wt-${tag}`)
    mkdirSync(out, { recursive: true })
    const child = spawn(process.execPath, [webtorrentBin, 'download', magnet, '--port', String(port), '-o', out, '--quiet', '--keep-seeding'], { stdio: ['ignore', 'ignore', 'pipe'] })
    children.add(child)
    let err = ''
    child.stderr.on('data', (d) => { err = (err + d).slice(-2000) })
    const base = `http://127.0.0.1:${port}/webtorrent`
    await until(`webtorrent-cli's server (${err})`, () => fetch(`${base}/`).then((r) => r.ok, () => false), 60_000)
    return { child, url: `${base}/${hash}/${name.split('/').map(encodeURIComponent).join('/')}`, stop: () => child.kill('SIGKILL') }
  }
  // Its server answers 404 until the metadata is in: ask until the file is there, as a player would.
  const firstOk = async (url) => until('webtorrent-cli has the metadata', () => fetch(url, { method: 'HEAD' }).then((r) => r.ok, () => false), 120_000)
  const w1 = await start('whole')
  const t0 = Date.now()
  await firstOk(w1.url)
  const waited = (Date.now() - t0) / 1000
  const whole = curl(w1.url)
  const wholeSecs = (Date.now() - t0) / 1000
  w1.stop()
  const w2 = await start('range')
  await firstOk(w2.url)
  const cpu0 = cpuMsOf(w2.child.pid)
  const range = curl(w2.url, ['-r', `${off}-${off + MiB - 1}`])
  range.cpuMs = cpuMsOf(w2.child.pid) - cpu0
  w2.stop()
  return { whole: { ...whole, first: waited + whole.first, curlFirst: whole.first }, wholeSecs, range }
}

/** The loop monitor's lines written between t0 and t1: largest event-loop delay, mean ELU, GC time and largest pause. */
function loopStats(file, t0, t1) {
  let lines = []
  try {
    lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.t > t0 && l.t <= t1 + 250)
  } catch {}
  if (lines.length === 0) return undefined
  const max = (k) => Math.max(...lines.map((l) => l[k]))
  const sum = (k) => lines.reduce((a, l) => a + l[k], 0)
  const worstGc = lines.reduce((a, l) => (l.gcMaxMs > a.gcMaxMs ? l : a), lines[0])
  return { gcMaxKind: worstGc.gcMaxKind, maxMs: max('maxMs'), elu: sum('elu') / lines.length, gcMs: sum('gcMs'), gcMaxMs: max('gcMaxMs'), busyMaxMs: max('busyMaxMs') }
}

if (jobs.includes('api')) {
  // The event loop is watched from inside bt serve (bench/loop-monitor.js): a long tail is either the loop blocked
  // (a large max delay), the loop saturated (ELU near 1), GC pauses, or the machine (none of these).
  const monitorFile = join(work, 'loop-monitor.ndjson')
  process.env.BT_LOOP_MONITOR = monitorFile
  // --node-flags "…": V8/Node flags for bt serve (e.g. GC settings), to try one without a rebuild.
  const nodeFlags = flags['node-flags'] ? String(flags['node-flags']).split(' ').filter(Boolean) : []
  const s = await serve('api', [], undefined, [...nodeFlags, '--import', join(ROOT, 'bench', 'loop-monitor.js')])
  const t0 = Date.now()
  for (let i = 0; i < nTorrents; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, nTorrents - i) }, () => api(s.url, '/torrents', { uri: `magnet:?xt=urn:btih:${randomBytes(20).toString('hex')}` })))
  }
  console.log(`${nTorrents} torrents added in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  // "With 1,000 torrents loaded" is the daemon at rest: the adds leave seconds of work behind them (each launch, the
  // state log), which would otherwise land in the first case's tail. Wait (≤ 30 s) until a 500 ms window costs bt
  // serve under 50 ms of CPU.
  const settle0 = Date.now()
  for (let prev = cpuMsOf(s.pid); Date.now() - settle0 < 30_000;) {
    await new Promise((r) => setTimeout(r, 500))
    const cur = cpuMsOf(s.pid)
    if (cur - prev < 50) break
    prev = cur
  }
  console.log(`bt serve settled after ${((Date.now() - settle0) / 1000).toFixed(1)} s`)
  const { TORRENT_FIELDS } = await import(join(ROOT, 'dist', 'src', 'server', 'transmission-fields.js'))
  const rpcUrl = `${s.url}/transmission/rpc`
  const sid = (await fetch(rpcUrl, { method: 'POST', body: '{}' })).headers.get('x-transmission-session-id')
  // Every field (the issue's target), and the fields Sonarr/Radarr poll (what a real client asks for).
  // The floor on this machine at this moment: nginx (one worker) sending the same bytes as a static file under the
  // same load. When even nginx's p99 is long, the tail is the machine (cores shared with other work), not bt.
  const answers = join(work, 'answers')
  mkdirSync(answers)
  chmodSync(work, 0o755)
  let nginx
  const nginxPort = await freePort()
  if (have('nginx')) {
    const conf = join(work, 'nginx-api.conf')
    writeFileSync(conf, `daemon off; worker_processes 1; pid ${work}/nginx-api.pid; error_log ${work}/nginx-api-error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${work}/nginx-tmp; proxy_temp_path ${work}/nginx-tmp;
  fastcgi_temp_path ${work}/nginx-tmp; uwsgi_temp_path ${work}/nginx-tmp; scgi_temp_path ${work}/nginx-tmp;
  server { listen 127.0.0.1:${nginxPort}; root ${answers}; } }\n`)
    mkdirSync(join(work, 'nginx-tmp'), { recursive: true })
    nginx = spawn('nginx', ['-c', conf, '-p', work], { stdio: 'ignore' })
    children.add(nginx)
  }
  // The second floor: Node's own http module answering the same bytes from memory (no fastify, no bt): what one
  // Node process can do under this load at this moment. bt serve cannot beat it on one thread; the distance to it is
  // what bt's own code costs.
  const nodeFloorPort = await freePort()
  const nodeFloor = spawn(process.execPath, ['-e', `
    const http = require('node:http'), fs = require('node:fs'), path = require('node:path')
    const cache = new Map()
    http.createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const name = path.basename(req.url)
        let b = cache.get(name)
        if (!b) cache.set(name, (b = fs.readFileSync(path.join(${JSON.stringify(answers)}, name))))
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' })
        res.end(b)
      })
    }).listen(${nodeFloorPort}, '127.0.0.1')`], { stdio: 'ignore' })
  children.add(nodeFloor)
  const sonarr = ['id', 'hashString', 'name', 'downloadDir', 'totalSize', 'leftUntilDone', 'isFinished', 'eta', 'status', 'secondsDownloading', 'secondsSeeding', 'errorString', 'uploadedEver', 'downloadedEver', 'seedRatioLimit', 'seedRatioMode', 'seedIdleLimit', 'seedIdleMode', 'fileCount', 'labels']
  // --cases all,sonarr,all-gzip,sonarr-gzip: a subset, to iterate on one.
  const cases = [['all', 'all fields', Object.keys(TORRENT_FIELDS), false], ['sonarr', 'Sonarr fields', sonarr, false], ['all-gzip', 'all fields, gzip', Object.keys(TORRENT_FIELDS), true], ['sonarr-gzip', 'Sonarr fields, gzip', sonarr, true]]
  const wanted = flags.cases ? String(flags.cases).split(',') : cases.map((c) => c[0])
  for (const [, what, fields, gzip] of cases.filter((c) => wanted.includes(c[0]))) {
    const body = JSON.stringify({ method: 'torrent-get', arguments: { fields } })
    const headers = { 'X-Transmission-Session-Id': sid, 'content-type': 'application/json', 'accept-encoding': gzip ? 'gzip' : 'identity' }
    const res = await fetch(rpcUrl, { method: 'POST', body, headers })
    const check = await res.json()
    if (check.arguments.torrents.length !== nTorrents) throw new Error(`torrent-get returned ${check.arguments.torrents.length} torrents`)
    if ((res.headers.get('content-encoding') === 'gzip') !== gzip) throw new Error(`torrent-get: Content-Encoding ${res.headers.get('content-encoding')}`)
    const bytes = gzip ? gzipSync(JSON.stringify(check), { level: 1 }).length : Buffer.byteLength(JSON.stringify(check))
    if (warmup > 0) await load(rpcUrl, body, headers, warmup)
    const cpu0 = cpuMsOf(s.pid)
    const sys0 = sysMsOf(s.pid)
    const t0 = Date.now()
    const r = await load(rpcUrl, body, headers)
    const cpuPerReq = (cpuMsOf(s.pid) - cpu0) / Math.max(1, r.total ?? r.rps * duration)
    const sysShare = (sysMsOf(s.pid) - sys0) / Math.max(1, cpuMsOf(s.pid) - cpu0)
    const loop = loopStats(monitorFile, t0, Date.now())
    let ng
    let nf
    if (nginx && loader === 'wrk') {
      const name = `${what.replace(/\W+/g, '-')}.bin`
      writeFileSync(join(answers, name), gzip ? gzipSync(JSON.stringify(check), { level: 1 }) : JSON.stringify(check))
      chmodSync(join(answers, name), 0o644)
      await until('nginx', () => fetch(`http://127.0.0.1:${nginxPort}/${name}`, { method: 'HEAD' }).then((x) => x.ok, () => false), 10_000)
      if (warmup > 0) await load(`http://127.0.0.1:${nginxPort}/${name}`, undefined, {}, warmup)
      ng = await load(`http://127.0.0.1:${nginxPort}/${name}`, undefined, {})
      await until('node floor', () => fetch(`http://127.0.0.1:${nodeFloorPort}/${name}`, { method: 'POST', body: '{}' }).then((x) => x.ok, () => false), 10_000)
      if (warmup > 0) await load(`http://127.0.0.1:${nodeFloorPort}/${name}`, body, {}, warmup)
      nf = await load(`http://127.0.0.1:${nodeFloorPort}/${name}`, body, {})
    }
    rows.push([`torrent-get ${what} × ${nTorrents}: req/s`, r.rps.toFixed(0), ng ? ng.rps.toFixed(0) : '', `${loader}, ${connections} clients, ${duration} s after ${warmup} s warm-up, ${gzip ? '~' : ''}${(bytes / 1024).toFixed(0)} KiB each, errors ${r.errors}`])
    rows.push(['  latency p50 / p99 ms', `${r.p50.toFixed(0)} / ${r.p99.toFixed(0)}`, ng ? `${ng.p50.toFixed(0)} / ${ng.p99.toFixed(0)}` : '', r.p99 < 50 ? 'target p99 < 50: met' : 'target p99 < 50: NOT met'])
    if (nf) rows.push(['  Node http, same bytes: req/s, p50 / p99', '', `${nf.rps.toFixed(0)}, ${nf.p50.toFixed(0)} / ${nf.p99.toFixed(0)}`, 'a bare node:http server answering from memory: one Node thread\'s floor at this moment'])
    rows.push(['  bt serve CPU ms per request', cpuPerReq.toFixed(3), '', `${Math.round(1000 / Math.max(cpuPerReq, 0.001))} req/s per core at that cost; ${(sysShare * 100).toFixed(0)} % in the kernel`])
    if (loop) rows.push(['  event loop: max delay ms / use', `${loop.maxMs.toFixed(1)} / ${loop.elu.toFixed(2)}`, '', `main thread: most CPU between 2 ms ticks ${loop.busyMaxMs.toFixed(1)} ms; GC ${loop.gcMs.toFixed(0)} ms in all, longest pause ${loop.gcMaxMs.toFixed(1)} ms (${loop.gcMaxKind})`])
  }
  nginx?.kill('SIGKILL')
  nodeFloor.kill('SIGKILL')
  await s.stop()
}

console.log('')
console.log(`load average: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${cpus().length} CPUs): figures are noisy on a loaded machine`)
line('job'.padEnd(42), 'bt serve'.padStart(10), 'peer tool'.padStart(10), ' ratio / note')
for (const [job, a, b, note] of rows) line(job.padEnd(42), String(a).padStart(10), String(b).padStart(10), ' ' + note)
process.exit(0)
