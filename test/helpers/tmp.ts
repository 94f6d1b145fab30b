// Temporary directories that are removed when the test process ends, even after a failure.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

const dirs: string[] = []
process.on('exit', () => {
  for (const d of dirs) {
    try { rmSync(d, { recursive: true, force: true }) } catch {}
  }
})

export function tmpDir(prefix = 'bt-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

/** Deterministic pseudo-random bytes (a seeded xorshift), so failures reproduce. */
export function seededBytes(length: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    if (i + 4 <= length) buf.writeUInt32LE(x, i)
    else for (let j = i; j < length; j++) buf[j] = (x >>> ((j - i) * 8)) & 0xff
  }
  return buf
}

export function writeRandomFile(path: string, length: number, seed = 1): Buffer {
  const data = length > 0 ? seededBytes(length, seed) : Buffer.alloc(0)
  writeFileSync(path, data)
  return data
}

export function randomHex(n = 20): string {
  return randomBytes(n).toString('hex')
}
