#!/usr/bin/env node
// Scale: many torrents seeding in one `bt serve` daemon, and many peer connections on one torrent, beside a
// python3-libtorrent session doing the same job in the same run. Everything on 127.0.0.1, no DHT, no trackers.
//
//   npm run build && node bench/scale.js [--levels 10,100,1000] [--idle 30] [--connections 500] [--hold 10]
//        [--size 1M] [--no-lt] [--dir /tmp] [--keep] [--node-args '--cpu-prof --cpu-prof-dir=/tmp/prof']
//        [--serve-args '--no-utp']
//
// For each level N: N single-file torrents of --size (256 KiB pieces; every file is a hard link of one random file,
// named t<i>.bin, so the info hashes differ and the data is read from the page cache), then
//   bt   a fresh `bt serve --no-dht --port 0 --peer-port 0` (what a user runs to seed many torrents), the torrents
//        added through its REST API (POST /api/v1/torrents, base64 metainfo, downloadDir = the data, 8 requests in
//        flight); time to HTTP up, to all added, to all `seeding` (each data file checked once);
//   lt   a python3-libtorrent session (settings as test/helpers/lt_node.py: loopback only, no dht/lsd/upnp/natpmp;
//        active_limit/active_seeds raised so all N torrents are active, not queued) given the same .torrent files;
//        time to all is_seeding;
// then, once both processes' CPU rate is flat (settle(): after the adds bt still collects the checks' garbage and runs
// its first ticks), both sit idle side by side for --idle seconds: CPU seconds (user+sys from /proc/PID/stat) over that span,
// RSS (VmRSS) at its end, per torrent = (RSS − RSS of the same process with no torrents) / N. bt is then stopped
// (SIGTERM) and started again on its saved state: time until all N are seeding again (a daemon restart).
// Last, at the largest level, --connections raw TCP peers (this process, source addresses 127.0.0.2–127.0.0.9, a
// plain BitTorrent handshake + `interested`, nothing else) connect to torrent 0 of each: how many got a handshake
// back, how many are still open after --hold s, the time to connect them all, RSS growth per connection and CPU
// seconds over the hold. bt serve runs with --max-peers connections+10 so its per-torrent cap is not what is measured.
//
// --node-args: extra node flags for bt serve (a profile of the idle daemon: --levels 1000 --connections 0 --no-lt
// --idle 60 --node-args '--cpu-prof --cpu-prof-dir=DIR'; the profile is written when bt serve exits on SIGTERM).
// --serve-args: extra bt serve flags. `--no-utp` separates a fixed idle cost: utp-native's 20 ms libuv timer (50
// wakeups a second, ~0.1 CPU s per 20 s on this machine) runs whatever the number of torrents.
//
// Needs: python3-libtorrent (Debian; --no-lt skips it). Disk: one --size file; the rest are hard links.

import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import net from 'node:net'
import bencode from 'bencode'
import { LT_PYTHON, ensureBuilt, startServe, fmtSize, parseArgs, parseSize, printHelpAndExit, writeRandomFile } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help', 'no-lt'])
if (flags.help) printHelpAndExit(import.meta.url)
const levels = String(flags.levels ?? '10,100,1000').split(',').map(Number)
if (levels.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--levels: positive integers, e.g. 10,100,1000')
const idleS = Number(flags.idle ?? 30)
const nConn = Number(flags.connections ?? 500)
const holdS = Number(flags.hold ?? 10)
const size = parseSize(flags.size ?? '1M')
const useLt = !flags['no-lt']
const PIECE = 256 * 1024
const nodeArgs = flags['node-args'] ? String(flags['node-args']).split(/\s+/).filter(Boolean) : []
const serveArgs = flags['serve-args'] ? String(flags['serve-args']).split(/\s+/).filter(Boolean) : []
ensureBuilt()

const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-scale-'))
const children = new Set()
const sockets = new Set()
function cleanup() {
  for (const s of sockets) s.destroy()
  for (const c of children) try { c.kill('SIGKILL') } catch {}
  if (!flags.keep) rmSync(work, { recursive: true, force: true })
}
process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const log = (s) => process.stderr.write(s + '\n')
const now = () => performance.now() / 1000

/** CPU seconds (user + sys) of a process. */
function cpuS(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/**
 * Wait until every process's CPU rate (CPU s per s, over SETTLE_STEP_S windows) stops changing: two windows in a row
 * within 25 % of each other, or both under 2 ticks of /proc's 10 ms clock. Gives up after maxS (flat: false).
 */
const SETTLE_STEP_S = 2
async function settle(pids, maxS = 90) {
  const t0 = now()
  let prev = pids.map(cpuS)
  let prevRate
  let rate = pids.map(() => NaN)
  while (now() - t0 < maxS) {
    await sleep(SETTLE_STEP_S * 1000)
    const cur = pids.map(cpuS)
    rate = cur.map((c, i) => (c - prev[i]) / SETTLE_STEP_S)
    prev = cur
    const tick = 0.02 / SETTLE_STEP_S
    if (prevRate && rate.every((r, i) => (r <= tick && prevRate[i] <= tick) || Math.abs(r - prevRate[i]) <= 0.25 * Math.max(r, prevRate[i]))) {
      return { s: now() - t0, flat: true, rate }
    }
    prevRate = rate
  }
  return { s: now() - t0, flat: false, rate }
}

// ---- the torrents: one random file, N hard links, N .torrent files (only the name differs) ----
const dataDir = join(work, 'data')
const torrentDir = join(work, 'torrents')
mkdirSync(dataDir)
mkdirSync(torrentDir)
const base = join(work, 'base.bin')
writeRandomFile(base, size)
const baseBytes = readFileSync(base)
const pieces = []
for (let o = 0; o < size; o += PIECE) pieces.push(createHash('sha1').update(baseBytes.subarray(o, o + PIECE)).digest())
const maxN = Math.max(...levels)
const torrents = [] // { path, b64, infoHash }
for (let i = 0; i < maxN; i++) {
  const name = `t${i}.bin`
  linkSync(base, join(dataDir, name))
  const info = { length: size, name: Buffer.from(name), 'piece length': PIECE, pieces: Buffer.concat(pieces) }
  const raw = Buffer.from(bencode.encode({ info }))
  const path = join(torrentDir, `${name}.torrent`)
  writeFileSync(path, raw)
  torrents.push({ path, b64: raw.toString('base64'), infoHash: createHash('sha1').update(bencode.encode(info)).digest() })
}

// ---- bt serve ----
async function startBt(state, extra = []) {
  const t0 = now()
  const { url, pid, stop } = await startServe({ state, downloadDir: dataDir, args: [...serveArgs, ...extra], nodeArgs, children })
  return { url, pid, upS: now() - t0, t0, stop }
}

async function api(url, path, body) {
  const res = await fetch(`${url}/api/v1${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {})
  const j = await res.json()
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(j).slice(0, 300)}`)
  return j
}

async function allSeeding(url, n, timeoutS = 600) {
  const end = now() + timeoutS
  let last = []
  while (now() < end) {
    last = await api(url, '/torrents')
    if (last.length === n && last.every((t) => t.state === 'seeding')) return
    await sleep(250)
  }
  const states = {}
  for (const t of last) states[t.state] = (states[t.state] ?? 0) + 1
  throw new Error(`bt: not all ${n} seeding after ${timeoutS} s: ${JSON.stringify(states)}`)
}

async function addAll(url, n) {
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      await api(url, '/torrents', { metainfo: torrents[i].b64, downloadDir: dataDir })
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
}

// ---- libtorrent session ----
const LT_SESSION = `
import json, sys, time
import libtorrent as lt
cfg = json.loads(sys.argv[1])
n = len(cfg['torrents'])
ses = lt.session({
  'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_ip_notifier': False, 'allow_multiple_connections_per_ip': True,
  'enable_outgoing_utp': False, 'enable_incoming_utp': False, 'alert_mask': 0,
  'active_limit': n + 10, 'active_seeds': n + 10, 'connections_limit': cfg['conns'] + 100, 'listen_queue_size': 512,
})
def out(**kw):
  sys.stdout.write(json.dumps(kw) + '\\n'); sys.stdout.flush()
out(ev='up', port=ses.listen_port())
t0 = time.monotonic()
hs = []
for p in cfg['torrents']:
  atp = lt.add_torrent_params(); atp.ti = lt.torrent_info(p); atp.save_path = cfg['save']
  # Not auto-managed: queued torrents are checked one per second tick (1000 s for 1000), bt checks them at once.
  atp.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
  hs.append(ses.add_torrent(atp))
added = time.monotonic() - t0
while True:
  ses.pop_alerts()
  if all(h.status().is_seeding for h in hs): break
  time.sleep(0.2)
out(ev='ready', added=added, seeding=time.monotonic() - t0)
sys.stdin.read()
`
const ltScript = join(work, 'lt_session.py')
writeFileSync(ltScript, LT_SESSION)

async function startLt(n) {
  const t0 = now()
  const child = spawn(LT_PYTHON, [ltScript, JSON.stringify({ torrents: torrents.slice(0, n).map((t) => t.path), save: dataDir, conns: nConn })], { stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  child.on('close', () => children.delete(child))
  child.stdin.on('error', () => {})
  let err = ''
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000) })
  const events = createInterface({ input: child.stdout })
  const next = () => new Promise((resolve, reject) => {
    events.once('line', (l) => resolve(JSON.parse(l)))
    child.once('close', (code) => reject(new Error(`libtorrent session exited ${code}: ${err}`)))
  })
  const up = await next()
  const upS = now() - t0
  const rss0 = rssBytes(child.pid)
  const ready = await next()
  return { pid: child.pid, port: up.port, upS, rss0, readyS: ready.seeding, stop: () => { child.stdin.end(); child.kill('SIGKILL') } }
}

// ---- raw peers: a handshake and `interested`, then silence ----
async function connectPeers(port, infoHash, n) {
  const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), infoHash])
  const interested = Buffer.from([0, 0, 0, 1, 2])
  const peers = []
  const t0 = now()
  const one = (i) => new Promise((resolve) => {
    const p = { open: false, handshaken: false }
    peers.push(p)
    const s = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${2 + (i % 8)}` })
    sockets.add(s)
    let got = 0
    const done = () => { clearTimeout(timer); resolve() }
    const timer = setTimeout(done, 15_000)
    // A peer id of its own per connection: both clients drop a connection that repeats one.
    s.on('connect', () => { p.open = true; s.write(Buffer.concat([hs, Buffer.from('-XS0001-'), randomBytes(12)])); s.write(interested) })
    s.on('data', (d) => {
      got += d.length
      if (!p.handshaken && got >= 68) { p.handshaken = true; done() }
    })
    s.on('error', () => {})
    s.on('close', () => { p.open = false; sockets.delete(s); done() })
  })
  // Batches of 50: a burst of 500 SYNs at once would measure the listen backlog, not the client.
  for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => one(i + k)))
  const connectS = now() - t0
  return { peers, connectS, close: () => { for (const s of sockets) s.destroy() } }
}

// ---- the run ----
const f1 = (x) => x.toFixed(1)
const f2 = (x) => x.toFixed(2)
const f3 = (x) => x.toFixed(3)
const mib = (b) => b / (1024 * 1024)
const rows = []
log(`scale bench in ${work}: levels ${levels.join(',')}, ${fmtSize(size)} per torrent, idle ${idleS} s, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`)
let biggest
for (const n of levels) {
  log(`\n== ${n} torrents ==`)
  const state = join(work, `bt-state-${n}`)
  const bt = await startBt(state, ['--max-peers', String(nConn + 10)])
  await sleep(500)
  const btRss0 = rssBytes(bt.pid)
  const tAdd = now()
  await addAll(bt.url, n)
  const btAddedS = now() - tAdd
  await allSeeding(bt.url, n)
  const btStartS = now() - bt.t0
  const btSeedS = now() - tAdd
  log(`bt: HTTP up ${f2(bt.upS)} s, ${n} added in ${f2(btAddedS)} s, all seeding ${f2(btSeedS)} s after the first add`)
  let lt
  if (useLt) {
    lt = await startLt(n)
    log(`libtorrent: up ${f2(lt.upS)} s, all seeding ${f2(lt.readyS)} s after the first add`)
  }
  // The idle window starts once both processes' CPU is flat: right after the adds, bt still runs the first tracker-less
  // ticks, resume saves and collections of the checks' garbage (a fixed 2 s wait caught that settling and counted it
  // as idle CPU).
  const settled = await settle(lt ? [bt.pid, lt.pid] : [bt.pid])
  log(`settled after ${f1(settled.s)} s${settled.flat ? '' : ' (NOT flat: the idle figures include settling)'}: ` +
    `bt ${f1(settled.rate[0] * 1000)} CPU ms/s` + (lt ? `, libtorrent ${f1(settled.rate[1] * 1000)} CPU ms/s` : ''))
  const c0 = cpuS(bt.pid)
  const l0 = lt ? cpuS(lt.pid) : 0
  // RSS sampled every second over the idle window, median: V8's heap breathes by a few MiB between collections.
  const btSamples = []
  const ltSamples = []
  for (let s = 0; s < idleS; s++) {
    await sleep(1000)
    btSamples.push(rssBytes(bt.pid))
    if (lt) ltSamples.push(rssBytes(lt.pid))
  }
  const btIdle = cpuS(bt.pid) - c0
  const ltIdle = lt ? cpuS(lt.pid) - l0 : NaN
  const btRss = median(btSamples)
  const ltRss = lt ? median(ltSamples) : NaN
  const row = {
    n, btStartS, btSeedS, btIdle, btRss, btRss0, settleS: settled.s, settled: settled.flat,
    ltSeedS: lt?.readyS ?? NaN, ltIdle, ltRss, ltRss0: lt?.rss0 ?? NaN,
  }
  log(`idle ${idleS} s: bt ${f2(btIdle)} CPU s, RSS ${f1(mib(btRss))} MiB (${f1(mib(btRss0))} with none)` +
    (lt ? `; libtorrent ${f2(ltIdle)} CPU s, RSS ${f1(mib(ltRss))} MiB (${f1(mib(lt.rss0))} with none)` : ''))
  // A daemon restart: the same state, every torrent restored from it.
  await bt.stop()
  const bt2 = await startBt(state, ['--max-peers', String(nConn + 10)])
  await allSeeding(bt2.url, n)
  row.btRestartS = now() - bt2.t0
  log(`bt restart: all ${n} seeding ${f2(row.btRestartS)} s after spawn`)
  rows.push(row)
  if (n === maxN && nConn > 0) biggest = { bt: bt2, lt }
  else {
    await bt2.stop()
    lt?.stop()
  }
}

// ---- connections on one torrent, at the largest level ----
const conn = []
if (biggest) {
  const targets = [['bt', biggest.bt.pid, (await api(biggest.bt.url, '/stats')).peerPort]]
  if (biggest.lt) targets.push(['libtorrent', biggest.lt.pid, biggest.lt.port])
  for (const [who, pid, port] of targets) {
    const r0 = rssBytes(pid)
    const c0 = cpuS(pid)
    log(`\n${who}: ${nConn} connections to torrent 0 on port ${port}`)
    const r = await connectPeers(port, torrents[0].infoHash, nConn)
    const c1 = cpuS(pid)
    await sleep(holdS * 1000)
    const row = {
      who, connectS: r.connectS, connectCpu: c1 - c0, holdCpu: cpuS(pid) - c1, rss: rssBytes(pid) - r0,
      handshaken: r.peers.filter((p) => p.handshaken).length, open: r.peers.filter((p) => p.open).length,
    }
    r.close()
    conn.push(row)
    log(`${who}: ${row.handshaken} handshakes back, ${row.open} open after ${holdS} s, connect ${f2(row.connectS)} s (${f2(row.connectCpu)} CPU s), hold ${f2(row.holdCpu)} CPU s, RSS +${f1(mib(row.rss))} MiB`)
    await sleep(1000)
  }
  await biggest.bt.stop()
  biggest.lt?.stop()
}

// ---- report ----
const ratio = (a, b) => (Number.isFinite(a / b) && b > 0 ? `${f2(a / b)}×` : '-')
console.log(`\nTorrents seeding in one process (${fmtSize(size)} each, idle ${idleS} s; per torrent = (RSS − RSS with none) / N)`)
console.log('N      | start s (bt: spawn→all seeding / restart; lt: add→all seeding) | RSS MiB bt / lt | KiB per torrent bt / lt (ratio) | idle CPU s bt / lt | idle CPU ms per torrent per 30 s bt / lt (ratio) | settled after s')
for (const r of rows) {
  const perBt = (r.btRss - r.btRss0) / r.n / 1024
  const perLt = (r.ltRss - r.ltRss0) / r.n / 1024
  const cBt = (r.btIdle / r.n) * 1000 * (30 / idleS)
  const cLt = (r.ltIdle / r.n) * 1000 * (30 / idleS)
  console.log(`${String(r.n).padEnd(6)} | bt ${f2(r.btStartS)} / ${f2(r.btRestartS)}  lt ${f2(r.ltSeedS)} | ${f1(mib(r.btRss))} / ${f1(mib(r.ltRss))} | ${f1(perBt)} / ${f1(perLt)} (${ratio(perBt, perLt)}) | ${f2(r.btIdle)} / ${f2(r.ltIdle)} | ${f3(cBt)} / ${f3(cLt)} (${ratio(cBt, cLt)}) | ${f1(r.settleS)}${r.settled ? '' : ' (not flat)'}`)
}
if (rows.length > 1) {
  const a = rows[0]
  const z = rows[rows.length - 1]
  console.log(`growth ${a.n}→${z.n} torrents (×${z.n / a.n}): bt start ×${f1(z.btStartS / a.btStartS)}, restart ×${f1(z.btRestartS / a.btRestartS)}, RSS +${f1(mib(z.btRss - a.btRss))} MiB, idle CPU ×${f1(z.btIdle / Math.max(a.btIdle, 0.01))}` +
    (useLt ? `; lt start ×${f1(z.ltSeedS / a.ltSeedS)}, RSS +${f1(mib(z.ltRss - a.ltRss))} MiB, idle CPU ×${f1(z.ltIdle / Math.max(a.ltIdle, 0.01))}` : ''))
}
if (conn.length) {
  console.log(`\n${nConn} raw peers on one torrent (handshake + interested, hold ${holdS} s), with ${maxN} torrents loaded`)
  for (const c of conn) {
    console.log(`${c.who.padEnd(10)} | handshakes back ${c.handshaken}/${nConn}, open after hold ${c.open} | connect ${f2(c.connectS)} s, ${f2(c.connectCpu)} CPU s | hold ${f2(c.holdCpu)} CPU s | RSS +${f1(mib(c.rss))} MiB = ${f1(c.rss / Math.max(1, c.open) / 1024)} KiB per open connection`)
  }
  if (conn.length === 2) console.log(`bt/lt: RSS per connection ${ratio(conn[0].rss / Math.max(1, conn[0].open), conn[1].rss / Math.max(1, conn[1].open))}, hold CPU ${ratio(conn[0].holdCpu, conn[1].holdCpu)}`)
}
process.exit(0)
