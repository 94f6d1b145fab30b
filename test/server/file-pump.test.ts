// pumpFile (src/server/file-pump.ts), the warm-stream path: exact bytes for any range and chunk size through a real
// HTTP server, a client that goes away mid-file releases the file, and a file shorter than promised is an error.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, get, type Server } from 'node:http'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { pumpFile } from '../../src/server/file-pump.js'
import { tmpDir } from '../helpers/tmp.js'

const timer = setTimeout(() => {
  console.error('file-pump.test.ts: watchdog fired')
  process.exit(1)
}, 30_000)
timer.unref()

const data = randomBytes(3 * 1024 * 1024 + 17)
let path: string
let server: Server
let base: string
// Each request: /start/end/chunk; the pump's outcome is recorded for the test to look at.
const outcomes: Array<Promise<string>> = []

test.before(async () => {
  path = join(tmpDir('bt-pump-'), 'f.bin')
  writeFileSync(path, data)
  server = createServer((req, res) => {
    const [start, end, chunk] = req.url!.slice(1).split('/').map(Number)
    res.writeHead(200, { 'Content-Length': String(end - start) })
    outcomes.push(pumpFile(path, start, end, res, chunk).then(() => 'ok', (err: Error) => `error: ${err.message}`))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
test.after(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

test('exact bytes for ranges and chunk sizes', async () => {
  for (const [start, end, chunk] of [[0, data.length, 1024 * 1024], [5, 6, 1024], [100, 300_001, 7_777], [data.length - 10, data.length, 1024 * 1024], [0, data.length, 64 * 1024]]) {
    const res = await fetch(`${base}/${start}/${end}/${chunk}`)
    const got = Buffer.from(await res.arrayBuffer())
    assert.ok(got.equals(data.subarray(start, end)), `range ${start}-${end} chunk ${chunk}`)
    assert.is(await outcomes[outcomes.length - 1], 'ok')
  }
})

test('a client gone mid-file: the pump ends without error', async () => {
  const n = outcomes.length
  await new Promise<void>((resolve, reject) => {
    const req = get(`${base}/0/${data.length}/65536`, (res) => {
      res.once('data', () => {
        req.destroy()
        resolve()
      })
    })
    req.on('error', () => {})
    setTimeout(() => reject(new Error('no data')), 10_000).unref()
  })
  const outcome = await Promise.race([outcomes[n], new Promise((r) => setTimeout(() => r('still pumping'), 5_000))])
  assert.is(outcome, 'ok')
})

test('a file shorter than the range: an error, and the response is cut', async () => {
  const n = outcomes.length
  const res = await fetch(`${base}/0/${data.length + 1000}/1048576`)
  await res.arrayBuffer().then(() => assert.unreachable('the body should be cut short'), (err) => assert.ok(err))
  assert.match(await outcomes[n], /error: .*file ends at/)
})

test('a file that cannot be opened: an error, and the response is cut, not left hanging', async () => {
  const n = outcomes.length
  const saved = path
  path = join(saved, 'nope')
  try {
    const whole = await fetch(`${base}/0/10/1024`).then((r) => r.arrayBuffer()).then(() => true, () => false)
    assert.not.ok(whole, 'the response should be cut')
  } finally {
    path = saved
  }
  assert.match(await outcomes[n], /error: .*(ENOTDIR|ENOENT)/)
})

test.run()
