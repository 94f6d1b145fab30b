// BEP 19 web seeds (GetRight style `url-list`): fetch byte ranges of a torrent over HTTP(S) with Range requests.
// A range that spans files becomes one request per file. Replies are bounded to what was asked for.

import http from 'node:http'
import https from 'node:https'
import { BtError, ExitCode, systemText } from '../errors.js'
import type { Metainfo } from '../metainfo/metainfo.js'

const MAX_REDIRECTS = 3

/**
 * A bandwidth limit the bytes of a reply pass through as they are read (the session's download limit): a reply is
 * paused while the limit has nothing left, so TCP slows the server down.
 */
export interface ByteGate {
  available(): number
  consume(n: number): void
  wait(n: number): Promise<void>
}

export class WebSeed {
  failures = 0
  /** Requests under way. */
  busy = 0
  /** Not used again before this time (after failures). */
  retryAt = 0
  disabled = false

  constructor(readonly url: string, private readonly m: Metainfo, private readonly timeoutMs = 20_000) {}

  /** The URL of file `i`: the url itself for a single-file torrent (unless it ends in /), else url/name/path. */
  fileUrl(i: number): string {
    const f = this.m.files[i]
    if (!this.m.multiFile && !this.url.endsWith('/')) return this.url
    const base = this.url.endsWith('/') ? this.url : this.url + '/'
    return base + f.path.map(encodeURIComponent).join('/')
  }

  /** Bytes [start, end) of the torrent's data. Pad files read as zeros. */
  async fetch(start: number, end: number, signal?: AbortSignal, gate?: ByteGate): Promise<Buffer> {
    const out = Buffer.alloc(end - start)
    const files = this.m.files
    for (let i = 0; i < files.length; i++) {
      const f = files[i]
      const a = Math.max(start, f.offset)
      const b = Math.min(end, f.offset + f.length)
      if (b <= a || f.padding) continue
      const data = await this.get(this.fileUrl(i), a - f.offset, b - f.offset, signal, gate)
      data.copy(out, a - start)
    }
    return out
  }

  private get(url: string, from: number, to: number, signal?: AbortSignal, gate?: ByteGate, redirects = 0): Promise<Buffer> {
    const want = to - from
    return new Promise((resolve, reject) => {
      let u: URL
      try {
        u = new URL(url)
      } catch {
        return reject(new BtError(`web seed ${this.url}: bad URL`, ExitCode.network))
      }
      const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined
      if (!mod) return reject(new BtError(`web seed ${this.url}: unsupported protocol`, ExitCode.network))
      const req = mod.get(u, { headers: { Range: `bytes=${from}-${to - 1}`, 'User-Agent': 'bt' }, timeout: this.timeoutMs, signal }, (res) => {
        const status = res.statusCode ?? 0
        if (status >= 300 && status < 400 && res.headers.location && redirects < MAX_REDIRECTS) {
          res.resume()
          return resolve(this.get(new URL(res.headers.location, u).toString(), from, to, signal, gate, redirects + 1))
        }
        // 206 is the answer to a range; a 200 carries the whole file, of which we skip to `from`.
        if (status !== 206 && status !== 200) {
          res.resume()
          return reject(new BtError(`web seed ${this.url}: HTTP ${status}`, ExitCode.network))
        }
        let skip = status === 200 ? from : 0
        const buf = Buffer.allocUnsafe(want)
        let got = 0
        res.on('data', (chunk: Buffer) => {
          gate?.consume(chunk.length)
          if (skip > 0) {
            const n = Math.min(skip, chunk.length)
            skip -= n
            chunk = chunk.subarray(n)
          }
          const n = Math.min(chunk.length, want - got)
          chunk.copy(buf, got, 0, n)
          got += n
          if (got >= want) {
            res.destroy()
            resolve(buf)
            return
          }
          if (gate && gate.available() <= 0) {
            // Paused by our own limit, not by a silent server: the idle timeout waits too.
            res.pause()
            req.setTimeout(0)
            void gate.wait(16384).then(() => {
              req.setTimeout(this.timeoutMs)
              res.resume()
            })
          }
        })
        res.on('end', () => {
          if (got < want) reject(new BtError(`web seed ${this.url}: short reply (${got} of ${want} bytes)`, ExitCode.network))
        })
        res.on('error', (err) => got < want && reject(new BtError(`web seed ${this.url}: ${systemText(err)}`, ExitCode.network)))
      })
      req.on('timeout', () => req.destroy(new Error('timed out')))
      req.on('error', (err) => reject(err instanceof BtError ? err : new BtError(`web seed ${this.url}: ${systemText(err)}`, ExitCode.network)))
    })
  }
}
