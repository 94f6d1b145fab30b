// GET/HEAD /stream/<infohash>/<file path or index>: a torrent's file over HTTP through a Reader, so each request
// drives piece priority and readahead (as torrentfs reads do) and a client that goes away releases them.
// GET /playlist/<infohash>.m3u: the torrent's audio and video files as stream URLs.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createReadStream } from '../stream/reader.js'
import type { ReadableTorrent } from '../stream/source.js'
import type { Torrent } from '../session/torrent.js'
import { Priority, type PriorityHandle } from '../session/priority.js'
import type { Daemon, Entry } from './daemon.js'
import { ApiError, invalid, notFound } from './errors.js'
import { pumpFile } from './file-pump.js'
import { contentDisposition, contentType, isMedia, parseRange } from './range.js'
import { trace, traceStart } from '../session/stream-trace.js'

// Large chunks: per-chunk overhead (a read, a write to the socket) dominates a fast stream at 64 KiB.
const CHUNK = 1024 * 1024

/** Every piece overlapping [start, end) (absolute offsets) is verified on disk. */
function allLocal(t: Torrent, start: number, end: number): boolean {
  const pl = t.metainfo!.pieceLength
  for (let p = Math.floor(start / pl), last = Math.floor((end - 1) / pl); p <= last; p++) if (!t.hasPiece(p)) return false
  return true
}

function readable(t: Torrent): ReadableTorrent {
  return {
    metainfo: t.metainfo!,
    hasPiece: (i) => t.hasPiece(i),
    waitPiece: (i, signal) => t.waitPiece(i, signal),
    readAt: (buf, pos) => t.readAt(buf, pos),
    createPriorityHandle: () => t.createPriorityHandle(),
  }
}

/** The file a stream path names: its path as `bt metainfo X files` prints it, that path below the torrent's own
 * directory, or its index. */
export function findFile(e: Entry, ref: string): number {
  const m = e.metainfo!
  if (ref.split('/').some((c) => c === '..' || c === '.')) throw invalid('".." and "." are not allowed in stream paths')
  const clean = ref.replace(/^\/+/, '')
  for (let i = 0; i < m.files.length; i++) {
    const f = m.files[i]
    if (f.padding) continue
    const p = f.path.join('/')
    if (p === clean || (m.multiFile && f.path.slice(1).join('/') === clean)) return i
  }
  if (/^\d{1,9}$/.test(clean)) {
    const i = Number(clean)
    if (i < m.files.length && !m.files[i].padding) return i
  }
  throw notFound(`${m.name} has no file "${clean.slice(0, 200)}"`)
}

/**
 * Marks the first piece a stream request reads `now` as soon as the torrent can take priorities, and returns the
 * release. A magnet still fetching its metadata becomes readable in the torrent's 'ready' event: marked there,
 * synchronously, the piece is in the picker before any peer unchokes us, so the first requests the seeder gets are
 * for it — not a pipeline of rarest-first pieces to cancel once the Reader, a few event-loop turns later (the
 * handler's continuation, fastify's send, the stream's first read), asks. The Reader's own wishes take over when it
 * reads; this handle is then released (a duplicate `now` on the same piece until then changes nothing).
 */
export function markFirstPiece(e: Entry, t: Torrent, ref: string, rangeHeader: string | undefined): () => void {
  let handle: PriorityHandle | undefined
  let released = false
  const mark = () => {
    if (released || !t.picker || !e.metainfo) return
    try {
      const m = e.metainfo
      const f = m.files[findFile(e, ref)]
      const r = parseRange(rangeHeader, f.length)
      const start = r.kind === 'partial' ? r.start : 0
      if (r.kind === 'unsatisfiable' || start >= f.length) return
      const piece = Math.floor((f.offset + start) / m.pieceLength)
      if (t.hasPiece(piece)) return
      handle = t.createPriorityHandle()
      handle.set([{ first: piece, last: piece, priority: Priority.now }])
    } catch {
      // A bad path or range: the handler answers it; nothing to mark.
    }
  }
  if (t.picker) mark()
  else t.once('ready', mark)
  return () => {
    if (released) return
    released = true
    t.off('ready', mark)
    handle?.release()
    handle = undefined
  }
}

async function openEntry(d: Daemon, req: FastifyRequest, hash: string, waitMs: number, early?: (e: Entry, t: Torrent) => void): Promise<{ e: Entry; t: Torrent }> {
  const e = d.get(hash)
  if (early && e.torrent) early(e, e.torrent)
  const ac = new AbortController()
  const onClose = () => ac.abort()
  req.raw.once('close', onClose)
  try {
    const t = await d.readable(e, waitMs, ac.signal)
    return { e, t }
  } finally {
    req.raw.off('close', onClose)
  }
}

function keyQuery(req: FastifyRequest): string {
  const q = req.query as Record<string, unknown>
  const key = typeof q.apikey === 'string' ? q.apikey : typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined
  return key ? `?apikey=${encodeURIComponent(key)}` : ''
}

export function streamPath(infoHash: string, path: string): string {
  return `/stream/${infoHash}/${path.split('/').map(encodeURIComponent).join('/')}`
}

export async function streamPlugin(app: FastifyInstance, opts: { daemon: Daemon; metadataWaitMs: number; logRequest?: (req: FastifyRequest, status: number, ms: number) => void }): Promise<void> {
  const d = opts.daemon

  app.route<{ Params: { hash: string; '*': string } }>({
    method: ['GET', 'HEAD'],
    url: '/stream/:hash/*',
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      traceStart(`${req.method} ${req.url} range ${req.headers.range}`)
      let unmark: (() => void) | undefined
      // HEAD reads nothing; If-Range may turn the range into the whole file: the Reader sorts that out itself.
      const early = req.method === 'GET' && req.headers['if-range'] === undefined
        ? (e: Entry, t: Torrent) => (unmark = markFirstPiece(e, t, req.params['*'] ?? '', req.headers.range))
        : undefined
      // Released when the response ends, whatever way it ends (an answer without a Reader: 416, a hijacked pump).
      reply.raw.once('close', () => unmark?.())
      try {
        return await respond(req, reply, early, () => unmark?.())
      } catch (err) {
        unmark?.()
        throw err
      }
    },
  })

  const respond = async (req: FastifyRequest<{ Params: { hash: string; '*': string } }>, reply: FastifyReply, early: ((e: Entry, t: Torrent) => void) | undefined, unmark: () => void) => {
    const { e, t } = await openEntry(d, req, req.params.hash, opts.metadataWaitMs, early)
    const index = findFile(e, req.params['*'] ?? '')
    const m = t.metainfo!
    const f = m.files[index]
    const name = f.path[f.path.length - 1]
    const etag = `"${m.infoHash}-${index}"`
    reply.header('Accept-Ranges', 'bytes').header('ETag', etag).header('Content-Type', contentType(name))
    reply.header('Content-Disposition', contentDisposition(name)).header('Cache-Control', 'private, max-age=3600')
    reply.header('X-Content-Type-Options', 'nosniff')
    // If-Range with another validator (or a date: we send no Last-Modified) means the client's copy is unknown.
    const ifRange = req.headers['if-range']
    const range = ifRange !== undefined && ifRange !== etag ? { kind: 'full' as const } : parseRange(req.headers.range, f.length)
    if (range.kind === 'unsatisfiable') {
      return reply.status(416).header('Content-Range', `bytes */${f.length}`).type('application/json; charset=utf-8').send({ error: `range not satisfiable: the file has ${f.length} bytes` })
    }
    const start = range.kind === 'partial' ? range.start : 0
    const end = range.kind === 'partial' ? range.end + 1 : f.length // exclusive
    if (range.kind === 'partial') reply.status(206).header('Content-Range', `bytes ${start}-${end - 1}/${f.length}`)
    reply.header('Content-Length', String(end - start))
    if (req.method === 'HEAD' || end === start) {
      unmark()
      return reply.send()
    }
    // Streaming a file means wanting it: an unselected file becomes selected, so its pieces are kept.
    if (!e.selected(index)) d.setFiles(e, [...(e.record.files ?? []), index])
    if (allLocal(t, f.offset + start, f.offset + end)) {
      unmark()
      // Every piece is verified on disk: read the file directly, no Reader in the way, in large reused buffers
      // (file-pump.ts). The response is written here, past fastify's send.
      reply.hijack()
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>)
      try {
        await pumpFile(t.storage!.filePath(index), start, end, reply.raw)
      } catch {
        // pumpFile destroyed the response: the client sees a short body, as with any broken download.
      }
      opts.logRequest?.(req, reply.statusCode, reply.elapsedTime)
      return reply
    }
    const stream = createReadStream(readable(t), { start: f.offset + start, end: f.offset + end, chunkSize: CHUNK })
    // Whatever ends the response (done, client gone, error) closes the Reader and drops its priorities.
    reply.raw.once('close', () => {
      unmark()
      stream.destroy()
    })
    // The Reader's first read has set its own wishes by the time data flows.
    stream.once('data', unmark)
    if (process.env.BT_TRACE_STREAM) {
      const raw = reply.raw as any
      const w = raw.write
      raw.write = function (...a: any[]) {
        trace('first byte written to response', -1, `${a[0]?.length} bytes`)
        return w.apply(this, a)
      }
    }
    stream.on('error', () => reply.raw.destroy())
    return reply.send(stream)
  }

  app.get<{ Params: { name: string } }>('/playlist/:name', async (req, reply) => {
    const hash = req.params.name.replace(/\.m3u8?$/i, '')
    const { e, t } = await openEntry(d, req, hash, opts.metadataWaitMs)
    const m = t.metainfo!
    const host = req.headers.host ?? `${req.hostname}`
    const base = `${req.protocol}://${host}`
    const key = keyQuery(req)
    const lines = ['#EXTM3U']
    m.files.forEach((f) => {
      if (f.padding || !isMedia(f.path.join('/'))) return
      lines.push(`#EXTINF:-1,${f.path[f.path.length - 1].replace(/[\r\n]/g, ' ')}`)
      lines.push(`${base}${streamPath(e.infoHash, f.path.join('/'))}${key}`)
    })
    if (lines.length === 1) throw new ApiError('not_found', `${m.name} has no audio or video files`)
    return reply
      .type('audio/x-mpegurl; charset=utf-8')
      .header('Content-Disposition', `inline; filename="${m.infoHash}.m3u"`)
      .send(lines.join('\n') + '\n')
  })
}
