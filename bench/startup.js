#!/usr/bin/env node
// Start-up time of the command line: `bt --help`, `bt metainfo X magnet` and `torrentfs --help` against a bare
// `node -e 0`, the floor any Node program pays. N runs each, interleaved so machine load hits all alike; prints the
// median and best wall time of each and the difference to node's. Usage: node bench/startup.js [runs] [--instructions]
// (default 20 runs). --instructions also counts each job's instructions once under valgrind's callgrind: on a shared
// machine the one figure that load does not move. Needs a build (npm run build). The target (issue 15): bt within
// 0.1 s on an idle machine. `bt metainfo X magnet` and the help take the launcher's fast paths; the `(yargs)` job is
// the same command through the full parser (BT_NO_FASTPATH=1). --db FILE adds `bt search 'two words' --type movie
// --sort date` on that index (issue 8: a whole `bt search` process < 300 ms on a million torrents; bench/index.js
// --keep leaves one behind).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const argv = process.argv.slice(2)
const instructions = argv.includes('--instructions')
const db = argv.includes('--db') ? argv[argv.indexOf('--db') + 1] : undefined
const runs = Number(argv.find((a, i) => /^\d+$/.test(a) && argv[i - 1] !== '--db') ?? 20)
const work = mkdtempSync(join(tmpdir(), 'bt-startup-'))
process.on('exit', () => rmSync(work, { recursive: true, force: true }))

// A small torrent to inspect, made by bt itself.
writeFileSync(join(work, 'f.bin'), Buffer.alloc(100_000, 7))
const made = spawnSync(process.execPath, [join(root, 'bin/bt.js'), 'create', join(work, 'f.bin'), '-q', '-o', join(work, 'f.torrent')])
if (made.status !== 0) throw new Error(`bt create failed: ${made.stderr}`)

// Run the launchers as a shell does, with the node flags of their `#!/usr/bin/env -S node …` line: the flags are
// part of what a user's `bt` costs (a V8 flag such as --max-semi-space-size adds 25–35 ms of CPU to every start).
const shebangFlags = (file) => readFileSync(file, 'utf8').split('\n', 1)[0].split(/\s+/).slice(3)
const bt = [...shebangFlags(join(root, 'bin/bt.js')), join(root, 'bin/bt.js')]
const torrentfs = [...shebangFlags(join(root, 'bin/torrentfs.js')), join(root, 'bin/torrentfs.js')]
const jobs = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'bt --help', args: [...bt, '--help'] },
  { name: 'bt metainfo X magnet', args: [...bt, 'metainfo', join(work, 'f.torrent'), 'magnet'] },
  { name: '  the same (yargs)', args: [...bt, 'metainfo', join(work, 'f.torrent'), 'magnet'], env: { BT_NO_FASTPATH: '1' } },
  { name: 'bt download --help', args: [...bt, 'download', '--help'] },
  { name: 'torrentfs --help', args: [...torrentfs, '--help'] },
]
if (db) jobs.push({ name: 'bt search (--db)', args: [...bt, 'search', 'two words', '--type', 'movie', '--sort', 'date', '--db', db] })
// Wall time, and CPU time (user + system) which a busy machine inflates far less: on an idle machine a start-up's
// wall time is close to its CPU time. The CPU time is bash's `times` for its child (getrusage, to the millisecond;
// GNU time's %U %S count 10 ms ticks). The bash in between costs every job alike, node's included.
const wall = new Map(jobs.map((j) => [j.name, []]))
const cpu = new Map(jobs.map((j) => [j.name, []]))
for (let i = 0; i < runs; i++) {
  for (const job of jobs) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync('/bin/bash', ['-c', '"$@" >/dev/null 2>"$ERR"; s=$?; times; exit $s', 'bash', process.execPath, ...job.args], { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', env: { ...process.env, ...job.env, ERR: join(work, 'stderr') } })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status !== 0) throw new Error(`${job.name} exited ${r.status}: ${readFileSync(join(work, 'stderr'), 'utf8')}`)
    // `times` prints the shell's own user/system time, then its children's: `0m0.109s 0m0.016s`.
    const m = /\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(r.stdout)
    wall.get(job.name).push(ms)
    cpu.get(job.name).push(m ? (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000 : NaN)
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
const baseWall = median(wall.get('node -e 0'))
const baseCpu = median(cpu.get('node -e 0'))
const load = (await import('node:os')).loadavg()[0]
console.log(`${runs} runs each, interleaved; load average ${load.toFixed(1)}; medians (best)`)
for (const job of jobs) {
  const w = wall.get(job.name)
  const c = cpu.get(job.name)
  const extra = job.name === 'node -e 0' ? '' : `  = node +${(median(w) - baseWall).toFixed(0)} ms wall, +${(median(c) - baseCpu).toFixed(0)} ms CPU, ${(median(w) / baseWall).toFixed(2)}x`
  console.log(`${job.name.padEnd(22)} wall ${median(w).toFixed(0).padStart(4)} ms (${Math.min(...w).toFixed(0)}), CPU ${median(c).toFixed(0).padStart(4)} ms (${Math.min(...c).toFixed(0)})${extra}`)
}
if (instructions) {
  // Instructions of the whole process (all threads), as callgrind counts them; one run each (they vary by ~1%).
  const counts = jobs.map((job) => {
    const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, ...job.args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, ...job.env } })
    const m = /Collected : (\d+)/.exec(r.stderr ?? '')
    if (!m) throw new Error(`callgrind on ${job.name} failed (is valgrind installed?): ${r.stderr}`)
    return Number(m[1]) / 1e6
  })
  console.log('instructions (callgrind, millions):')
  for (const [i, job] of jobs.entries()) {
    console.log(`${job.name.padEnd(22)} ${counts[i].toFixed(0).padStart(5)} M${i === 0 ? '' : `  = node +${(counts[i] - counts[0]).toFixed(0)} M`}`)
  }
}
