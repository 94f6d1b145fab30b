#!/usr/bin/env node
// bench/crawl.js: `bt crawl` against a simulated DHT on 127.0.0.1 (bench/crawl-sim.js: 1,500 nodes in 3 processes
// answering BEP 51 from endless stores of random hashes, one in 20 a real torrent served over ut_metadata by 2 more
// processes), into a fresh SQLite index, once per entry of --runs ("1": --nodes 1; "4": --nodes 4 in one process;
// "4w": --nodes 4 --workers). Each run starts with --calib seconds in which the simulator samples no real torrents
// (only hashes: get_peers answered with nodes), then the simulator turns real torrents on. From the crawler's CPU in
// /proc (the figure that survives a loaded machine) it prints CPU ms per 1000 new hashes (calibration phase) and, in
// the mixed phase, CPU ms per metadata fetch (the mixed phase's CPU minus its hashes at the calibration price), beside
// new hashes/s, metadata/s, RSS every minute and the simulator's CPU.
// Usage: node bench/crawl.js [--minutes 10] [--runs 1,4,4w] [--calib 40] [--rate 8000] [--concurrency 256]
//        [--sim-nodes 1500] [--sim-procs 3] [--samples 40] [--real-every 20] [--torrents 400000] [--cpu-prof DIR]
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { BT, ROOT, ensureBuilt, parseArgs, printHelpAndExit } from './lib.js'

const args = parseArgs(process.argv.slice(2), ['help']).flags
if (args.help) printHelpAndExit(import.meta.url)
const minutes = Number(args.minutes ?? 10)
const runs = String(args.runs ?? '1,4,4w').split(',')
const calib = Number(args.calib ?? 40)
const rate = Number(args.rate ?? 8000)
const concurrency = Number(args.concurrency ?? 256)
const realEvery = Number(args['real-every'] ?? 20)
ensureBuilt()

const CLK = 100 // USER_HZ
function procSample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpu = (Number(f[11]) + Number(f[12])) / CLK
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
    return { cpu, rss }
  } catch {
    return undefined
  }
}

/** UDP datagrams the kernel dropped for a full receive buffer, machine-wide (other users of the machine count too). */
function rcvbufErrors() {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'))
  const [head, vals] = lines.map((l) => l.trim().split(/\s+/))
  return Number(vals[head.indexOf('RcvbufErrors')])
}

function startSim() {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'crawl-sim.js'), '--nodes', String(args['sim-nodes'] ?? 1500),
    '--procs', String(args['sim-procs'] ?? 3), '--samples', String(args.samples ?? 40), '--real-every', '0', ...(args.torrents ? ['--torrents', String(args.torrents)] : [])], { stdio: ['pipe', 'pipe', 'inherit'] })
  let ready
  const sim = { child, last: undefined, setRealEvery: (n) => child.stdin.write(JSON.stringify({ realEvery: n }) + '\n') }
  sim.cpu = () => [child.pid, ...ready.pids].reduce((a, pid) => a + (procSample(pid)?.cpu ?? 0), 0)
  sim.counters = () => new Promise((resolve) => {
    sim.onStats = resolve
    child.kill('SIGUSR2')
  })
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const e = JSON.parse(l)
      if (e.ev === 'stats') sim.onStats?.(e)
      if (e.ev === 'ready') {
        ready = e
        Object.assign(sim, e)
        resolve(sim)
      }
    })
    child.on('exit', (code) => reject(new Error(`simulator exited (${code})`)))
  })
}

async function runOne(spec, sim) {
  const n = Number.parseInt(spec, 10)
  const workers = spec.endsWith('w')
  const dir = mkdtempSync(join(tmpdir(), 'bt-bench-crawl-'))
  const seconds = Math.round(minutes * 60)
  const execArgv = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', String(args['cpu-prof'])] : []
  sim.setRealEvery(0)
  const child = spawn(process.execPath, [...execArgv, BT, 'crawl', '--db', join(dir, 'index.db'), '--dht-bootstrap', sim.bootstrap,
    '--nodes', String(n), ...(workers ? ['--workers'] : []), '--rate', String(rate), '--metadata-concurrency', String(concurrency),
    '--duration', `${seconds}s`, '--json', '--state-dir', join(dir, 'state')],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BT_DHT_BOOTSTRAP: 'none' } })
  const lines = [] // { t, s (stats), cpu, rss, simCpu }
  const rss = [] // every 10 s
  const simCpu0 = sim.cpu()
  const sim0 = await sim.counters()
  let realOn
  createInterface({ input: child.stdout }).on('line', (l) => {
    let s
    try { s = JSON.parse(l) } catch { return }
    if (s.event !== 'stats') return
    const p = procSample(child.pid)
    if (!p) return
    lines.push({ t: s.uptimeS, s, cpu: p.cpu, rss: p.rss, simCpu: sim.cpu() - simCpu0 })
    rss.push({ t: s.uptimeS, rss: p.rss })
    if (realOn === undefined && s.uptimeS >= calib) {
      sim.setRealEvery(realEvery)
      realOn = s.uptimeS
    }
    const m = s.metadata
    process.stderr.write(`  [${spec}] ${s.uptimeS}s: ${s.infoHashes.new} new, ${m.fetched} metadata (${m.failed} failed, ${m.timedOut} timed out), `
      + `table ${s.routingTable}, ${s.queriesOutPerS} q/s, lookups ${s.lookups.queued}+${s.lookups.active}, meta ${m.queued}+${m.active}, `
      + `dropped ${s.infoHashes.dropped}, CPU ${p.cpu.toFixed(1)} s, RSS ${(p.rss / 2 ** 20).toFixed(0)} MiB\n`)
  })
  const rcvbuf0 = rcvbufErrors()
  const code = await new Promise((r) => child.on('exit', (c) => r(c)))
  const rcvbuf = rcvbufErrors() - rcvbuf0
  const sim1 = await sim.counters()
  rmSync(dir, { recursive: true, force: true })
  if (lines.length < 2) throw new Error(`bt crawl ${spec} printed too few stats lines (exit ${code})`)
  // Phase windows: calibration from 10 s to the switch; mixed from 20 s after the switch (the lookup queue holds
  // hashes sampled before it) to the end.
  const at = (t) => lines.find((x) => x.t >= t) ?? lines.at(-1)
  const window = (a, b) => {
    const dt = Math.max(1, b.t - a.t)
    const hashes = b.s.infoHashes.new - a.s.infoHashes.new
    const fetched = b.s.metadata.fetched - a.s.metadata.fetched
    const cpu = b.cpu - a.cpu
    return { dt, hashes, fetched, cpu, hashesPerS: hashes / dt, metaPerS: fetched / dt, cpuPct: (100 * cpu) / dt, simCpuPct: (100 * (b.simCpu - a.simCpu)) / dt }
  }
  const c0 = at(10)
  const c1 = at(realOn ?? calib)
  const cal = window(c0, c1)
  const mix = window(at((realOn ?? calib) + 20), lines.at(-1))
  const msPerK = cal.hashes > 0 ? (1000 * cal.cpu) / (cal.hashes / 1000) : NaN
  const msPerFetch = mix.fetched > 0 ? (1000 * (mix.cpu - (mix.hashes / 1000) * (msPerK / 1000))) / mix.fetched : NaN
  const end = lines.at(-1)
  const byMinute = []
  for (let m = 1; m <= Math.floor(end.t / 60); m++) {
    const r = rss.find((x) => x.t >= m * 60)
    if (r) byMinute.push(`${m}m:${(r.rss / 2 ** 20).toFixed(0)}`)
  }
  return {
    spec, code, cal, mix, msPerK, msPerFetch, end,
    getPeersReal: sim1.getPeersReal - sim0.getPeersReal,
    served: sim1.metadataServed - sim0.metadataServed,
    rssEnd: end.rss / 2 ** 20,
    rssPeak: Math.max(...rss.map((r) => r.rss)) / 2 ** 20,
    byMinute: byMinute.join(' '),
    rcvbuf,
  }
}

const sim = await startSim()
console.log(`simulated DHT: ${sim.nodes} nodes in ${sim.procs} processes, ${sim.servers.length} metadata servers; ${minutes} min per run `
  + `(${calib} s without real torrents first), --rate ${rate}, --metadata-concurrency ${concurrency}`)
const results = []
try {
  for (const spec of runs) results.push(await runOne(spec, sim))
} finally {
  sim.child.stdin.end()
}
const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-')
console.log('\nrun   calibration: hashes/s CPU%  ms/1000 hashes | mixed: new hashes/s  metadata/s  CPU%  ms/fetch  sim CPU% | fetched  indexed  RSS end/peak MiB  exit')
for (const r of results) {
  console.log(`${r.spec.padEnd(4)}  ${f(r.cal.hashesPerS).padStart(21)} ${f(r.cal.cpuPct).padStart(4)}  ${f(r.msPerK, 1).padStart(14)} | `
    + `${f(r.mix.hashesPerS).padStart(19)}  ${f(r.mix.metaPerS, 1).padStart(10)}  ${f(r.mix.cpuPct).padStart(4)}  ${f(r.msPerFetch, 2).padStart(8)}  ${f(r.mix.simCpuPct).padStart(8)} | `
    + `${String(r.end.s.metadata.fetched).padStart(7)}  ${String(r.end.s.indexed).padStart(7)}  ${f(r.rssEnd).padStart(8)}/${f(r.rssPeak)}  ${r.code}`)
  console.log(`      RSS by minute (MiB): ${r.byMinute || '-'}; real hashes answered by get_peers: ${r.getPeersReal}, metadata served: ${r.served}; UDP receive-buffer drops (machine-wide): ${r.rcvbuf}`)
}
console.log('\ntargets: >= 2000 new info hashes/s, >= 100 metadata/s, RSS < 250 MiB after 10 minutes')
console.log('ms/1000 hashes and ms/fetch are CPU time of the crawler process (all its threads), from /proc')
