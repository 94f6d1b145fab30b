// Human-readable sizes and rates, and parsing of size arguments such as `10M` or `500k`.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?'
  let i = 0
  let v = n
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[i]}`
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`
  return `${sec}s`
}

/** `1048576`, `512k`, `10M`, `1.5G`, `2MiB` → bytes (binary multiples); undefined if it does not parse. */
export function parseSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*$/.exec(s)
  if (!m) return undefined
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't']
  return Math.round(Number(m[1]) * mult)
}

/**
 * One field of a status line. `priority` 0 is kept longest; as the line narrows, the field with the highest priority
 * number is shortened first (to `short`, when it has one), then dropped.
 */
export interface StatusField {
  text: string
  short?: string
  priority: number
  /** What goes before this field when another precedes it (default: the line's separator, a space). */
  sep?: string
}

/**
 * The fields, in their given order, joined by `sep`, in at most `width` columns: shorten and drop the least important
 * ones until the line fits; as a last resort cut it with an ellipsis. Adding a field to a status line is one entry.
 */
export function fitFields(fields: StatusField[], width: number, sep = ' '): string {
  const live = fields.filter((f) => f.text !== '').map((f) => ({ ...f, shown: f.text as string | undefined }))
  const line = () => live.filter((f) => f.shown !== undefined && f.shown !== '').map((f, i) => (i > 0 ? (f.sep ?? sep) : '') + f.shown).join('')
  // Least important first; among equals, the later field gives way first.
  const order = live.map((f, i) => ({ f, i })).sort((a, b) => b.f.priority - a.f.priority || b.i - a.i).map((x) => x.f)
  for (const f of order) {
    if (textWidth(line()) <= width) break
    if (f.short !== undefined && f.shown !== f.short) {
      f.shown = f.short
      if (textWidth(line()) <= width) break
    }
    if (f.priority > 0) f.shown = undefined
  }
  return truncate(line(), width)
}

/** Columns a string takes (code points; our status text has no wide characters or escapes). */
export function textWidth(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

/** `s` cut to `width` columns, ending in `…` when cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return ''
  const chars = [...s]
  if (chars.length <= width) return s
  return width === 1 ? '…' : chars.slice(0, width - 1).join('') + '…'
}

/** A compact rate for narrow lines: `2.1M/s`, `512K/s`, `0/s`. */
export function formatRateShort(bytesPerSecond: number): string {
  const n = Math.max(0, Math.round(bytesPerSecond))
  if (n < 1024) return `${n}/s`
  const units = ['K', 'M', 'G', 'T']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[i]}/s`
}
