#!/usr/bin/env node
// bench/crawl.js: `bt crawl` against a simulated DHT on 127.0.0.1 (bench/crawl-sim.js: several hundred nodes answering
// BEP 51 from endless stores of random hashes, with real torrents among them served over ut_metadata), into a fresh
// SQLite index, for each --nodes value in turn. Prints new info hashes/s, metadata fetched/s, CPU and RSS over the
// run, and what the simulator did meanwhile.
// Usage: node bench/crawl.js [--minutes 10] [--identities 1,4] [--rate 6000] [--sim-nodes 600] [--samples 40]
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { BT, ROOT, ensureBuilt, parseArgs } from './lib.js'

const args = parseArgs(process.argv.slice(2), ['help']).flags
if (args.help) {
  console.log('node bench/crawl.js [--minutes 10] [--identities 1,4] [--rate 6000] [--concurrency 256] [--sim-nodes 600] [--samples 40] [--real-every 8]')
  process.exit(0)
}
const minutes = Number(args.minutes ?? 10)
const identities = String(args.identities ?? '1,4').split(',').map(Number)
const rate = Number(args.rate ?? 6000)
const concurrency = Number(args.concurrency ?? 256)
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

function startSim() {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'crawl-sim.js'), '--nodes', String(args['sim-nodes'] ?? 600),
    '--samples', String(args.samples ?? 40), '--real-every', String(args['real-every'] ?? 8)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const events = []
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const e = JSON.parse(l)
      events.push(e)
      if (e.ev === 'ready') resolve({ child, bootstrap: e.bootstrap, events })
    })
    child.on('exit', (code) => reject(new Error(`simulator exited (${code})`)))
  })
}

async function runOne(n, bootstrap, sim) {
  const dir = mkdtempSync(join(tmpdir(), 'bt-bench-crawl-'))
  const db = join(dir, 'index.db')
  const seconds = Math.round(minutes * 60)
  const child = spawn(process.execPath, [BT, 'crawl', '--db', db, '--dht-bootstrap', bootstrap, '--nodes', String(n), '--rate', String(rate),
    '--metadata-concurrency', String(concurrency), '--duration', `${seconds}s`, '--json', '--state-dir', join(dir, 'state')],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BT_DHT_BOOTSTRAP: 'none' } })
  const samples = []
  const stats = []
  const simCpu0 = procSample(sim.child.pid)?.cpu ?? 0
  createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      const s = JSON.parse(l)
      const p = procSample(child.pid)
      stats.push(s)
      if (p) samples.push({ t: s.uptimeS, ...p })
      const m = s.metadata
      process.stderr.write(`  [${n}] ${s.uptimeS}s: ${s.infoHashes.new} new hashes, ${m.fetched} metadata (${m.failed} failed, ${m.timedOut} timed out, ${m.bad} bad), table ${s.routingTable}, ${s.queriesOutPerS} q/s, RSS ${p ? (p.rss / 2 ** 20).toFixed(0) : '?'} MiB, lookups ${s.lookups.queued}+${s.lookups.active}, meta queue ${m.queued}\n`)
    } catch {}
  })
  let last = procSample(child.pid)
  const poll = setInterval(() => { last = procSample(child.pid) ?? last }, 1000)
  const code = await new Promise((r) => child.on('exit', (c) => r(c)))
  clearInterval(poll)
  const simCpu = (procSample(sim.child.pid)?.cpu ?? 0) - simCpu0
  const end = stats.at(-1)
  rmSync(dir, { recursive: true, force: true })
  if (!end) throw new Error(`bt crawl --nodes ${n} printed no stats (exit ${code})`)
  const up = Math.max(1, end.uptimeS)
  const rssPeak = Math.max(...samples.map((s) => s.rss), 0)
  return {
    identities: n,
    seconds: up,
    newPerS: end.infoHashes.new / up,
    discoveredPerS: end.infoHashes.discovered / up,
    metadataPerS: end.metadata.fetched / up,
    fetched: end.metadata.fetched,
    failed: end.metadata.failed + end.metadata.timedOut,
    indexed: end.indexed,
    dropped: end.infoHashes.dropped,
    cpuPct: (100 * (last?.cpu ?? 0)) / up,
    rssEndMiB: (samples.at(-1)?.rss ?? 0) / 2 ** 20,
    rssPeakMiB: rssPeak / 2 ** 20,
    rssAt: samples.filter((_, i) => i % 6 === 5).map((s) => `${Math.round(s.t / 60)}m:${(s.rss / 2 ** 20).toFixed(0)}`).join(' '),
    simCpuPct: (100 * simCpu) / up,
    exit: code,
  }
}

const sim = await startSim()
console.log(`simulated DHT: ${sim.events[0].nodes} nodes, ${sim.events[0].servers.length} metadata servers; bootstrap ${sim.bootstrap}; ${minutes} min per run, --rate ${rate}`)
const results = []
try {
  for (const n of identities) results.push(await runOne(n, sim.bootstrap, sim))
} finally {
  sim.child.stdin.end()
}
console.log('\nidentities  new hashes/s  discovered/s  metadata/s  fetched  failed  indexed  CPU%   RSS end/peak MiB  sim CPU%  exit')
for (const r of results) {
  console.log(`${String(r.identities).padStart(10)}  ${r.newPerS.toFixed(0).padStart(12)}  ${r.discoveredPerS.toFixed(0).padStart(12)}  ${r.metadataPerS.toFixed(1).padStart(10)}  ${String(r.fetched).padStart(7)}  ${String(r.failed).padStart(6)}  ${String(r.indexed).padStart(7)}  ${r.cpuPct.toFixed(0).padStart(4)}  ${r.rssEndMiB.toFixed(0).padStart(8)}/${r.rssPeakMiB.toFixed(0).padEnd(8)}  ${r.simCpuPct.toFixed(0).padStart(8)}  ${r.exit}`)
  if (r.rssAt) console.log(`            RSS by minute: ${r.rssAt}`)
}
console.log('\ntargets: >= 2000 new info hashes/s, >= 100 metadata/s, RSS < 250 MiB after 10 minutes')
