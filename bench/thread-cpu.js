// The main thread's own CPU time in ms, from /proc/self/task/<pid>/schedstat (nanoseconds; process.cpuUsage() adds
// every thread: the threadpool, GC helpers, workers).
import { readFileSync } from 'node:fs'

const path = `/proc/self/task/${process.pid}/schedstat`
export function threadCpuUsage() {
  try {
    return Number(readFileSync(path, 'latin1').split(' ')[0]) / 1e6
  } catch {
    return 0
  }
}
