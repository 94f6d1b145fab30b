// The tracker store's writer thread: appends record batches from the main thread to the state log, so a write
// never stalls announces. Also rewrites the log as a snapshot: between `begin` and `end`, batches go to both the
// old file (complete until the switch, so kill -9 at any moment leaves a whole state) and the new one, chunks of
// the snapshot to the new one only; `end` syncs the new file and renames it over the old.
// Messages: {seq, op, buf?} -> {done: seq, bytes?, error?}.

import { parentPort, workerData } from 'node:worker_threads'
import { closeSync, fdatasyncSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs'
import { MAGIC } from './store-log.js'

const { path, validLength } = workerData as { path: string; validLength: number }
let fd = openSync(path, 'a')
// A record cut short by kill -9 is dropped: appending after it would misalign everything that follows.
if (validLength < MAGIC.length) {
  ftruncateSync(fd, 0)
  writeSync(fd, MAGIC)
} else ftruncateSync(fd, validLength)
let next: number | undefined
let nextBytes = 0
const tmp = `${path}.tmp`

function writeAll(f: number, b: Uint8Array): void {
  for (let o = 0; o < b.length;) o += writeSync(f, b, o, b.length - o)
}

type Msg = { seq: number; op: 'append' | 'chunk' | 'begin' | 'end' | 'close'; buf?: ArrayBuffer }

parentPort!.on('message', (m: Msg) => {
  let bytes: number | undefined
  try {
    const b = m.buf ? new Uint8Array(m.buf) : undefined
    switch (m.op) {
      case 'append':
        writeAll(fd, b!)
        if (next !== undefined) { writeAll(next, b!); nextBytes += b!.length }
        break
      case 'begin':
        if (next !== undefined) closeSync(next)
        next = openSync(tmp, 'w')
        writeAll(next, MAGIC)
        nextBytes = MAGIC.length
        break
      case 'chunk':
        if (next !== undefined) { writeAll(next, b!); nextBytes += b!.length }
        break
      case 'end':
        if (next !== undefined) {
          fdatasyncSync(next)
          renameSync(tmp, path)
          closeSync(fd)
          fd = next
          next = undefined
          bytes = nextBytes
        }
        break
      case 'close':
        if (next !== undefined) closeSync(next) // an unfinished snapshot: the old file is whole
        next = undefined
        fdatasyncSync(fd)
        closeSync(fd)
        break
    }
    parentPort!.postMessage({ done: m.seq, bytes })
  } catch (err) {
    parentPort!.postMessage({ done: m.seq, error: String((err as Error)?.message ?? err) })
  }
  if (m.op === 'close') parentPort!.close()
})
