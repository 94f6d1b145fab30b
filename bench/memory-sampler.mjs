// Preload that samples a `bt download` process's memory: process.memoryUsage() every 200 ms plus GC counts, and on
// exit appends one JSON line to $BT_MEMLOG (peak sample by RSS, each field's maximum, a sample a second, GC counts).
// It only wakes in processes whose arguments include `download`, so the bench and the seeder are untouched.
//
//   BT_MEMLOG=/tmp/mem.jsonl BT_MEMTAG=main NODE_OPTIONS=--import=$PWD/bench/memory-sampler.mjs \
//     node bench/download.js --no-netns --clients bt --size 1G --runs 2
import { appendFileSync } from 'node:fs'
import { PerformanceObserver, constants as PC } from 'node:perf_hooks'

const file = process.env.BT_MEMLOG
if (file && process.argv.includes('download')) {
  const M = 1048576
  const gcs = { minor: 0, major: 0, other: 0, ms: 0 }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = e.detail?.kind
      if (k === PC.NODE_PERFORMANCE_GC_MINOR) gcs.minor++
      else if (k === PC.NODE_PERFORMANCE_GC_MAJOR) gcs.major++
      else gcs.other++
      gcs.ms += e.duration
    }
  }).observe({ entryTypes: ['gc'] })
  const t0 = Date.now()
  const samples = []
  let peak
  const take = () => {
    const m = process.memoryUsage()
    const s = { t: Date.now() - t0, rss: m.rss / M, heapTotal: m.heapTotal / M, heapUsed: m.heapUsed / M, external: m.external / M, arrayBuffers: m.arrayBuffers / M }
    samples.push(s)
    if (!peak || s.rss > peak.rss) peak = s
  }
  setInterval(take, 200).unref()
  const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]))
  process.on('exit', () => {
    take()
    const max = {}
    for (const s of samples) for (const k of Object.keys(s)) max[k] = Math.max(max[k] ?? 0, s[k])
    appendFileSync(file, JSON.stringify({ tag: process.env.BT_MEMTAG, gcs: round(gcs), peak: round(peak), max: round(max), series: samples.filter((_, i) => i % 5 === 0).map(round) }) + '\n')
  })
}
