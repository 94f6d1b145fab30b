#!/usr/bin/env node
// Torrent creation benchmark: `bt create` against mktorrent on one random file (1 MiB pieces), page cache warm,
// best of N runs each; checks that both give the same info hash and prints wall time, MiB/s, CPU, RSS and bt/mktorrent.
// The tools take turns within each round (bt, mktorrent, mktorrent -t 1, bt, ...), so on a shared machine each
// ratio compares runs made under the same load; CPU seconds are printed beside wall time for the same reason.
//
//   npm run build && node bench/create.js [--size 1G] [--runs 2] [--dir /tmp] [--keep]
//
// Fairness: Debian's mktorrent is built with threads (it has -t; default: one hashing thread per CPU), and bt create
// hashes on worker threads too (one per CPU, up to 8). Both mktorrent configurations are measured: the default (what
// a user gets) and `-t 1` (one hashing thread, for CPU per byte).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { BT, MiB, ROOT, ensureBuilt, fmtSize, have, killAll, parseArgs, parseSize, printHelpAndExit, timed, writeRandomFile } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help'])
if (flags.help) printHelpAndExit(import.meta.url)
const size = parseSize(flags.size ?? '1G')
const runs = Math.max(1, Number(flags.runs ?? 2))
ensureBuilt()
if (!have('mktorrent')) throw new Error('mktorrent is missing (Debian package mktorrent)')
if (!have('/usr/bin/time')) throw new Error('/usr/bin/time is missing (Debian package time)')
const { parseTorrent } = await import(join(ROOT, 'dist', 'src', 'metainfo', 'metainfo.js'))

const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-create-'))
process.on('exit', () => { killAll(); if (!flags.keep) rmSync(work, { recursive: true, force: true }) })
const file = join(work, 'payload.bin')
const announce = 'http://127.0.0.1:6969/announce'
const threaded = /--threads/.test(spawnSync('mktorrent', ['-h'], { encoding: 'utf8' }).stdout ?? '')
const cpus = availableParallelism()

let t = Date.now()
writeRandomFile(file, size)
console.log(`payload ${fmtSize(size)} written in ${((Date.now() - t) / 1000).toFixed(1)} s; ${cpus} CPUs; ` +
  `mktorrent ${threaded ? `built with threads (default -t ${cpus})` : 'built without threads'}; best of ${runs} runs, page cache warm\n`)
// One untimed read so the first timed run does not pay for the disk.
spawnSync('sh', ['-c', `cat '${file}' > /dev/null`])

const jobs = [
  { name: 'bt create', cmd: process.execPath, args: (out) => [BT, 'create', file, '-l', '1M', '--no-date', '-q', '-t', announce, '-o', out] },
  { name: threaded ? `mktorrent -t ${cpus}` : 'mktorrent', cmd: 'mktorrent', args: (out) => ['-l', '20', '-d', '-a', announce, '-o', out, file] },
  ...(threaded ? [{ name: 'mktorrent -t 1', cmd: 'mktorrent', args: (out) => ['-l', '20', '-d', '-t', '1', '-a', announce, '-o', out, file] }] : []),
]

const best = new Map()
const failed = new Set()
for (let i = 0; i < runs; i++) {
  for (const job of jobs) {
    if (failed.has(job)) continue
    const out = join(work, `${job.name.replace(/\W+/g, '_')}-${i}.torrent`)
    const r = await timed(job.cmd, job.args(out), { timeoutMs: 600_000 })
    if (r.code !== 0) {
      console.log(`${job.name}: failed (exit ${r.code}): ${r.output.trim().split('\n').slice(-3).join(' / ')}`)
      failed.add(job)
      best.delete(job)
      continue
    }
    const infoHash = parseTorrent(readFileSync(out)).infoHash
    rmSync(out)
    console.log(`${job.name} run ${i + 1}: ${r.wall.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s, RSS ${(r.rssKiB / 1024).toFixed(0)} MiB, info hash ${infoHash}`)
    const b = best.get(job)
    if (!b || r.wall < b.wall) best.set(job, { ...r, infoHash })
  }
}
const results = jobs.filter((j) => best.has(j)).map((j) => ({ name: j.name, ...best.get(j), mibs: size / MiB / best.get(j).wall }))

console.log('\ntool               wall s    MiB/s   CPU s   peak RSS MiB')
for (const r of results) {
  console.log(`${r.name.padEnd(16)} ${r.wall.toFixed(2).padStart(8)} ${r.mibs.toFixed(0).padStart(8)} ${r.cpu.toFixed(2).padStart(7)} ${(r.rssKiB / 1024).toFixed(0).padStart(10)}`)
}
const hashes = new Set(results.map((r) => r.infoHash))
console.log(hashes.size === 1 ? `\ninfo hashes match (${[...hashes][0]})` : `\nINFO HASHES DIFFER: ${results.map((r) => `${r.name}=${r.infoHash}`).join(', ')}`)
const bt = results.find((r) => r.name === 'bt create')
if (bt) {
  for (const r of results) {
    if (r !== bt) console.log(`bt/${r.name}: speed ${(bt.mibs / r.mibs).toFixed(2)} (>1: bt faster), CPU ${(bt.cpu / r.cpu).toFixed(2)}`)
  }
}
process.exitCode = hashes.size === 1 && bt ? 0 : 1
