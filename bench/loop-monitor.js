// Preloaded into a bt process by a bench (`node --import ./bench/loop-monitor.js …`) to see why a request's tail
// latency is long: every 250 ms it appends one JSON line to $BT_LOOP_MONITOR with the largest event-loop delay in
// that slice (perf_hooks.monitorEventLoopDelay), the event loop's utilisation, the garbage collector's pauses, and
// the longest time the main thread itself ran without a break (a 2 ms ticker's longest gap, counted only when the
// thread was on a CPU for most of it: on a loaded machine a long gap is often the process waiting for a core, which
// no code change can fix). The bench aggregates the lines written while its load ran.

import { appendFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks'
import { threadCpuUsage } from './thread-cpu.js'

const out = process.env.BT_LOOP_MONITOR
if (out) {
  const h = monitorEventLoopDelay({ resolution: 5 })
  h.enable()
  let gcMs = 0
  let gcMax = 0
  let gcMaxKind = ''
  const kinds = { 1: 'scavenge', 2: 'minor-ms', 4: 'mark-sweep-compact', 8: 'incremental', 16: 'weak-callbacks' }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration
      if (e.duration > gcMax) {
        gcMax = e.duration
        gcMaxKind = kinds[e.detail?.kind] ?? String(e.detail?.kind)
      }
    }
  }).observe({ entryTypes: ['gc'] })
  // The ticker: wall and main-thread CPU between two ticks. A gap whose CPU is close to its wall time was the
  // loop busy with our work; a gap with little CPU was the process descheduled.
  let lastWall = performance.now()
  let lastCpu = threadCpuUsage()
  let busyMax = 0
  let gapMax = 0
  const tick = setInterval(() => {
    const wall = performance.now()
    const cpu = threadCpuUsage()
    const gap = wall - lastWall
    const used = cpu - lastCpu
    if (gap > gapMax) gapMax = gap
    if (used > busyMax) busyMax = used
    lastWall = wall
    lastCpu = cpu
  }, 2)
  tick.unref()
  let elu = performance.eventLoopUtilization()
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    const slice = performance.eventLoopUtilization(now, elu)
    elu = now
    const line = { t: Date.now(), maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, elu: slice.utilization, gcMs, gcMaxMs: gcMax, gcMaxKind, gapMaxMs: gapMax, busyMaxMs: busyMax }
    h.reset()
    gcMs = gcMax = gapMax = busyMax = 0
    gcMaxKind = ''
    try {
      appendFileSync(out, JSON.stringify(line) + '\n')
    } catch {}
  }, 250)
  timer.unref()
}
