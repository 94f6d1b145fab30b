// The standalone tracker's HTTP front end on raw node:http (no framework: an announce is one small GET, and the
// per-request cost of a router would be most of the work). Routes: /announce, /scrape, /stats.
// Oversized requests (10 MB query strings) are stopped by node's header limit and answered, bencoded, from
// `clientError`, so they never reach the tracker.

import http from 'node:http'
import type { Socket } from 'node:net'
import { failure, httpAnnounce, httpScrape, httpStats, type HttpReply } from './http-api.js'
import type { Tracker } from './swarm.js'

/** node's own limit on the request line plus headers; a scrape of 100 hashes fits easily. */
const MAX_HEADER_BYTES = 16 * 1024

export interface HttpServer {
  address: { address: string; port: number; family: string }
  server: http.Server
  close(): Promise<void>
}

export function handleHttp(tracker: Tracker, method: string | undefined, url: string, remoteIp: string, accept?: string): HttpReply {
  const qi = url.indexOf('?')
  const path = qi < 0 ? url : url.slice(0, qi)
  const query = qi < 0 ? '' : url.slice(qi + 1)
  if (method !== 'GET' && method !== 'HEAD') return failure('method not allowed', 405)
  if (path === '/announce') return httpAnnounce(tracker, query, remoteIp)
  if (path === '/scrape') return httpScrape(tracker, query, remoteIp)
  if (path === '/stats') return httpStats(tracker, query, accept)
  return failure('not found: this tracker serves /announce, /scrape and /stats', 404)
}

export function listenHttp(tracker: Tracker, host: string, port: number): Promise<HttpServer> {
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 15_000 }, (req, res) => {
    let reply: HttpReply
    try {
      reply = handleHttp(tracker, req.method, req.url ?? '/', normalizeIp(req.socket.remoteAddress ?? ''), req.headers.accept)
    } catch {
      reply = failure('internal error', 500)
    }
    res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': reply.body.length })
    res.end(req.method === 'HEAD' ? undefined : reply.body)
    // A request with a body is not ours to read: drop it rather than buffer it.
    if (req.headers['content-length'] || req.headers['transfer-encoding']) req.socket.destroySoon()
  })
  server.maxHeadersCount = 64
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy()
    const tooBig = err.code === 'HPE_HEADER_OVERFLOW'
    const r = failure(tooBig ? 'request too long' : 'bad request', tooBig ? 431 : 400)
    socket.end(`HTTP/1.1 ${r.status} ${tooBig ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: text/plain\r\ncontent-length: ${r.body.length}\r\nconnection: close\r\n\r\n${r.body.toString('latin1')}`)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const a = server.address() as { address: string; port: number; family: string }
      resolve({
        address: a,
        server,
        close: () => new Promise((res) => {
          server.close(() => res())
          server.closeAllConnections()
        }),
      })
    })
  })
}

/** `::ffff:1.2.3.4` from a dual-stack socket is the IPv4 peer 1.2.3.4. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}
