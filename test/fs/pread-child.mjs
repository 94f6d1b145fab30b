// Child process for torrentfs tests: open FILE once and pread each OFFSET:LENGTH in turn, printing one JSON line per
// read ({offset, n, md5} or {offset, error}). Reading from a separate process keeps the kernel's FUSE requests off
// the test process, which serves them.
import { openSync, readSync, closeSync } from 'node:fs'
import { createHash } from 'node:crypto'

const [file, ...specs] = process.argv.slice(2)
const fd = openSync(file, 'r')
for (const spec of specs) {
  const [offset, length] = spec.split(':').map(Number)
  const buf = Buffer.alloc(length)
  try {
    let n = 0
    while (n < length) {
      const got = readSync(fd, buf, n, length - n, offset + n)
      if (got === 0) break
      n += got
    }
    process.stdout.write(JSON.stringify({ offset, n, md5: createHash('md5').update(buf.subarray(0, n)).digest('hex') }) + '\n')
  } catch (err) {
    process.stdout.write(JSON.stringify({ offset, error: err.code }) + '\n')
  }
}
closeSync(fd)
