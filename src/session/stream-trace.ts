// Temporary timeline of a streaming read (BT_TRACE_STREAM=1): milliseconds from the HTTP request to each step a
// `now` piece goes through, written to stderr. Off by default; costs one branch per call when off.

const on = !!process.env.BT_TRACE_STREAM
let t0 = 0
const seen = new Set<string>()

export function traceStart(what: string): void {
  if (!on) return
  t0 = performance.now()
  seen.clear()
  process.stderr.write(`[trace] 0.0 ms ${what}\n`)
}

/** Logs the first occurrence of (event, piece) since the last start. */
export function trace(event: string, piece = -1, extra = ''): void {
  if (!on || t0 === 0) return
  const k = `${event}:${piece}`
  if (seen.has(k)) return
  seen.add(k)
  process.stderr.write(`[trace] ${(performance.now() - t0).toFixed(1)} ms ${event} piece ${piece} ${extra}\n`)
}

export const tracing = on
