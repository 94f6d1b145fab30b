// A strict bencode decoder for untrusted input (torrent files, peer and tracker messages).
// Written here rather than using `bencode` because that package accepts malformed integers, recurses without a
// depth bound, and cannot report the byte span of a value, which the info hash needs (hash the raw `info` bytes).

export type BValue = number | Buffer | BValue[] | BDict
export interface BDict { [key: string]: BValue }

export class BDecodeError extends Error {}

const MAX_DEPTH = 64

export interface DecodeOptions {
  /** Record the byte span of these keys of the top-level dictionary. */
  spanKeys?: string[]
  /** Accept trailing bytes after the first value (peer messages carry a payload after the dict). */
  allowTrailing?: boolean
}

export interface DecodeResult {
  value: BValue
  end: number
  spans: Map<string, [number, number]>
}

export function bdecode(buf: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const data = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const spans = new Map<string, [number, number]>()
  const wanted = new Set(options.spanKeys ?? [])
  let pos = 0

  const fail = (what: string): never => {
    throw new BDecodeError(`${what} at byte ${pos}`)
  }

  const readInt = (endByte: number): number => {
    const start = pos
    let neg = false
    if (data[pos] === 0x2d) {
      neg = true
      pos++
    }
    const digitsStart = pos
    let n = 0
    while (pos < data.length && data[pos] !== endByte) {
      const c = data[pos]
      if (c < 0x30 || c > 0x39) fail('bad digit in integer')
      n = n * 10 + (c - 0x30)
      pos++
    }
    if (pos >= data.length) fail('unterminated integer')
    const digits = pos - digitsStart
    if (digits === 0) fail('empty integer')
    if (digits > 1 && data[digitsStart] === 0x30) fail('integer with leading zero')
    if (neg && n === 0) fail('negative zero')
    if (!Number.isSafeInteger(n)) {
      pos = start
      fail('integer too large')
    }
    pos++ // skip terminator
    return neg ? -n : n
  }

  const readString = (): Buffer => {
    const len = readInt(0x3a)
    if (len < 0) fail('negative string length')
    if (pos + len > data.length) fail('string runs past the end')
    const s = data.subarray(pos, pos + len)
    pos += len
    return s
  }

  const readValue = (depth: number): BValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep')
    if (pos >= data.length) fail('unexpected end of data')
    const c = data[pos]
    if (c === 0x69) {
      pos++
      return readInt(0x65)
    }
    if (c >= 0x30 && c <= 0x39) return readString()
    if (c === 0x6c) {
      pos++
      const list: BValue[] = []
      while (true) {
        if (pos >= data.length) fail('unterminated list')
        if (data[pos] === 0x65) break
        list.push(readValue(depth + 1))
      }
      pos++
      return list
    }
    if (c === 0x64) {
      pos++
      const dict: BDict = Object.create(null)
      while (true) {
        if (pos >= data.length) fail('unterminated dictionary')
        if (data[pos] === 0x65) break
        if (data[pos] < 0x30 || data[pos] > 0x39) fail('dictionary key is not a string')
        const key = readString().toString('latin1')
        const start = pos
        const value = readValue(depth + 1)
        // Keys of the top-level dict only: a nested `info` must not shadow the real one.
        if (depth === 0 && wanted.has(key)) spans.set(key, [start, pos])
        dict[key] = value
      }
      pos++
      return dict
    }
    return fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`)
  }

  const value = readValue(0)
  if (!options.allowTrailing && pos !== data.length) fail('trailing data after the end')
  return { value, end: pos, spans }
}

export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}
