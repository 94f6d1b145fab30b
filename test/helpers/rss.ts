// Memory bounds in tests: the growth of this process's resident set over a run.

/** Start watching RSS (sampled every 20 ms, after a GC when --expose-gc is on); stop() returns the peak growth in bytes. */
export function rssWatch(): { base: number; stop(): number } {
  global.gc?.()
  const base = process.memoryUsage().rss
  let max = base
  const timer = setInterval(() => { max = Math.max(max, process.memoryUsage().rss) }, 20)
  return {
    base,
    stop() {
      clearInterval(timer)
      max = Math.max(max, process.memoryUsage().rss)
      return max - base
    },
  }
}
