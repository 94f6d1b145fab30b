// Lines of a byte stream, with their numbers, in bounded memory: a line longer than `maxLength` is skipped (and
// reported) instead of being buffered whole, so a 1 GB file with or without newlines never fills memory.

import type { Readable } from 'node:stream'

export type Line = { number: number; text: string } | { number: number; tooLong: true }

export async function* readLines(stream: Readable, maxLength = 8 * 1024 * 1024): AsyncGenerator<Line> {
  let parts: Buffer[] = []
  let pending = 0
  let skipping = false
  let number = 0
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    let start = 0
    for (;;) {
      const nl = buf.indexOf(10, start)
      if (nl < 0) break
      number++
      if (skipping) {
        yield { number, tooLong: true }
        skipping = false
      } else if (pending + nl - start > maxLength) {
        yield { number, tooLong: true }
      } else {
        parts.push(buf.subarray(start, nl))
        const text = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8')
        yield { number, text: text.endsWith('\r') ? text.slice(0, -1) : text }
      }
      parts = []
      pending = 0
      start = nl + 1
    }
    if (start < buf.length && !skipping) {
      pending += buf.length - start
      if (pending > maxLength) {
        skipping = true
        parts = []
        pending = 0
      } else {
        // Copy: the stream may reuse its chunk buffers.
        parts.push(Buffer.from(buf.subarray(start)))
      }
    }
  }
  if (skipping) yield { number: number + 1, tooLong: true }
  else if (pending > 0) {
    const text = Buffer.concat(parts).toString('utf8')
    yield { number: number + 1, text: text.endsWith('\r') ? text.slice(0, -1) : text }
  }
}
