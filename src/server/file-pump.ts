// A byte range of a file on disk written to an HTTP response: the warm-stream path of /stream/ (every piece verified).
//
// Why not fs.createReadStream piped to the response: each chunk is a fresh buffer (page faults on first touch, then
// GC), and reading waits for the socket to drain before the next read starts. Here two large buffers are reused in
// turn: while one is being written to the socket the next read fills the other, and a buffer is read into again only
// once the socket has taken all of it (the write callback), which is also the backpressure: at most two buffers per
// response, whatever the client's speed.

import { open } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'

export const PUMP_CHUNK = 1024 * 1024

/** Writes bytes [start, end) of `path` to `res` and ends it. Resolves when done or when the client went away;
 * rejects on a read error (or a file shorter than `end`) after destroying the response. */
export async function pumpFile(path: string, start: number, end: number, res: ServerResponse, chunk = PUMP_CHUNK): Promise<void> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    res.destroy() // the headers may be out already: cut the response rather than leave it hanging
    throw err
  }
  let gone = false
  let onGone = () => {}
  const closed = new Promise<void>((resolve) => {
    onGone = () => {
      gone = true
      resolve()
    }
    res.once('close', onGone)
  })
  try {
    const size = Math.min(chunk, Math.max(1, end - start))
    const bufs = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)]
    const written: Array<Promise<void> | undefined> = [undefined, undefined]
    let pos = start
    for (let i = 0; pos < end && !gone; i ^= 1) {
      // The buffer is free once the socket has taken it (or the client is gone).
      if (written[i]) await Promise.race([written[i], closed])
      if (gone) break
      const want = Math.min(size, end - pos)
      const { bytesRead } = await fh.read(bufs[i], 0, want, pos)
      if (bytesRead === 0) throw new Error(`${path}: file ends at ${pos}, expected ${end} bytes`)
      if (gone) break
      pos += bytesRead
      const data = bytesRead === bufs[i].length ? bufs[i] : bufs[i].subarray(0, bytesRead)
      written[i] = new Promise<void>((resolve) => res.write(data, () => resolve()))
    }
    if (!gone) await new Promise<void>((resolve) => res.end(resolve))
  } catch (err) {
    res.destroy()
    throw err
  } finally {
    res.off('close', onGone)
    await fh.close()
  }
}
