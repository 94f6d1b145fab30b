#!/usr/bin/env node
// Summarises V8 .cpuprofile files (from `node --cpu-prof`, e.g. bench/download.js --profile DIR): the functions with
// the most self time, summed over every file given, with their share of the profiled time.
//
//   node bench/cpuprofile-top.js FILE.cpuprofile... [--top 30]
import { readFileSync } from 'node:fs'
import { parseArgs, printHelpAndExit } from './lib.js'

const { flags, positional } = parseArgs(process.argv.slice(2), ['help'])
if (flags.help || positional.length === 0) printHelpAndExit(import.meta.url)
const top = Number(flags.top ?? 30)
const self = new Map() // "name file:line" -> microseconds
let total = 0
for (const f of positional) {
  const prof = JSON.parse(readFileSync(f, 'utf8'))
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const dt = prof.timeDeltas
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i])
    const d = dt[i] ?? 0
    const cf = n.callFrame
    const file = cf.url ? cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/') : ''
    const key = `${cf.functionName || '(anonymous)'} ${file}${file ? `:${cf.lineNumber + 1}` : ''}`
    self.set(key, (self.get(key) ?? 0) + d)
    total += d
  }
}
console.log(`${(total / 1e6).toFixed(2)} s sampled in ${positional.length} profile(s)`)
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(us / 1e3).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
}
