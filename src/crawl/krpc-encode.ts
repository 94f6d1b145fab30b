// Bencoding of the crawler's KRPC messages, written here because `bencode.encode` was a fifth of the crawler's CPU
// in the bench profile (it turns every key and string into a Uint8Array through TextEncoder, and concatenates
// per value). This one measures the message, allocates once and writes in place. Values: Buffers/Uint8Arrays,
// strings (UTF-8), integers, arrays and plain objects (keys sorted, as bencoding requires; undefined skipped).

type Value = Uint8Array | string | number | Value[] | { [k: string]: Value | undefined }

const digits = (n: number): number => String(n).length

function size(v: Value): number {
  if (v instanceof Uint8Array) return digits(v.length) + 1 + v.length
  if (typeof v === 'string') {
    const n = Buffer.byteLength(v)
    return digits(n) + 1 + n
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError('bencode: integers only')
    return digits(v) + 2
  }
  let n = 2
  if (Array.isArray(v)) {
    for (const x of v) n += size(x)
    return n
  }
  for (const k of Object.keys(v)) {
    const x = v[k]
    if (x === undefined) continue
    n += size(k) + size(x)
  }
  return n
}

function write(v: Value, buf: Buffer, at: number): number {
  if (v instanceof Uint8Array) {
    at += buf.write(`${v.length}:`, at, 'latin1')
    buf.set(v, at)
    return at + v.length
  }
  if (typeof v === 'string') {
    at += buf.write(`${Buffer.byteLength(v)}:`, at, 'latin1')
    return at + buf.write(v, at, 'utf8')
  }
  if (typeof v === 'number') return at + buf.write(`i${v}e`, at, 'latin1')
  if (Array.isArray(v)) {
    buf[at++] = 0x6c // l
    for (const x of v) at = write(x, buf, at)
  } else {
    buf[at++] = 0x64 // d
    for (const k of Object.keys(v).sort()) {
      const x = v[k]
      if (x === undefined) continue
      at = write(k, buf, at)
      at = write(x, buf, at)
    }
  }
  buf[at++] = 0x65 // e
  return at
}

export function encodeKrpc(msg: Record<string, Value | undefined>): Buffer {
  const buf = Buffer.allocUnsafe(size(msg))
  const end = write(msg, buf, 0)
  return end === buf.length ? buf : buf.subarray(0, end)
}
