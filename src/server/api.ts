// REST under /api/v1: torrents (list, get, add by URI / base64 metainfo / multipart upload, start, stop, verify,
// remove ± data, limits, file selection, labels), global settings and stats, and Server-Sent Events at /events.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { parseIndexList } from '../session/select.js'
import { errorMessage } from '../errors.js'
import type { AddOptions, Daemon, Entry } from './daemon.js'
import { ApiError, invalid } from './errors.js'
import { MAX_TORRENT_BYTES, parseTorrentBytes, resolveUri, type AddSource } from './fetch-torrent.js'
import { details, fileProgress, summary } from './views.js'
import type { Settings } from './state.js'

type HashParams = { hash: string }

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body
  if (b === undefined || b === null) return {}
  if (typeof b !== 'object' || Array.isArray(b)) throw invalid('the body must be a JSON object')
  return b as Record<string, unknown>
}

function optBool(v: unknown, what: string): boolean | undefined {
  if (v === undefined) return undefined
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw invalid(`${what} must be true or false`)
}

function optNumber(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n)) throw invalid(`${what} must be a number`)
  return n
}

function optFiles(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') {
    try {
      return parseIndexList(v)
    } catch (err) {
      throw invalid(`files: ${errorMessage(err)}`)
    }
  }
  if (!Array.isArray(v)) throw invalid('files must be a list of file indices')
  return v as number[]
}

function optLabels(v: unknown): string[] | undefined {
  if (v === undefined) return undefined
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean)
  return v as string[]
}

function addOptions(b: Record<string, unknown>): AddOptions {
  if (b.downloadDir !== undefined && typeof b.downloadDir !== 'string') throw invalid('downloadDir must be a string')
  return {
    downloadDir: b.downloadDir as string | undefined,
    paused: optBool(b.paused, 'paused'),
    files: optFiles(b.files),
    downloadLimit: optNumber(b.downloadLimit, 'downloadLimit'),
    uploadLimit: optNumber(b.uploadLimit, 'uploadLimit'),
    labels: optLabels(b.labels),
  }
}

export function decodeBase64Metainfo(v: unknown): Buffer {
  if (typeof v !== 'string' || v.length === 0) throw invalid('metainfo must be a base64 string')
  const s = v.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw invalid('metainfo is not valid base64')
  return Buffer.from(s, 'base64')
}

async function addFromMultipart(d: Daemon, req: FastifyRequest): Promise<{ src: AddSource; opts: AddOptions }> {
  const fields: Record<string, unknown> = {}
  let file: Buffer | undefined
  let fileName = 'upload'
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (file) throw invalid('send one .torrent file per request')
      fileName = part.filename || fileName
      file = await part.toBuffer()
    } else {
      fields[part.fieldname] = part.value
    }
  }
  const opts = addOptions(fields)
  if (file) return { src: parseTorrentBytes(file, fileName), opts }
  if (typeof fields.uri === 'string') return { src: await resolveUri(fields.uri), opts }
  throw invalid('a multipart add needs a .torrent file part (or a "uri" field)')
}

function getEntry(d: Daemon, req: FastifyRequest<{ Params: HashParams }>): Entry {
  return d.get(req.params.hash)
}

export async function apiPlugin(app: FastifyInstance, opts: { daemon: Daemon }): Promise<void> {
  const d = opts.daemon
  await app.register(multipart, {
    limits: { fileSize: MAX_TORRENT_BYTES, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 25 },
  })

  app.get('/torrents', async () => d.list().map((e) => summary(d, e)))

  app.post('/torrents', async (req, reply) => {
    let src: AddSource
    let o: AddOptions
    if (req.isMultipart()) {
      ;({ src, opts: o } = await addFromMultipart(d, req))
    } else {
      const b = body(req)
      o = addOptions(b)
      if (b.metainfo !== undefined) src = parseTorrentBytes(decodeBase64Metainfo(b.metainfo), 'metainfo')
      else if (typeof b.uri === 'string' && b.uri.length > 0) src = await resolveUri(b.uri)
      else throw invalid('give "uri" (magnet link, info hash or URL of a .torrent) or "metainfo" (base64 .torrent)')
    }
    const { entry, duplicate } = await d.add(src, o)
    if (duplicate) throw new ApiError('duplicate', `already added: ${entry.record.name}`, { infoHash: entry.infoHash, id: entry.id })
    return reply.status(201).send(summary(d, entry))
  })

  app.get<{ Params: HashParams }>('/torrents/:hash', async (req) => details(d, getEntry(d, req)))
  app.get<{ Params: HashParams }>('/torrents/:hash/files', async (req) => {
    const e = getEntry(d, req)
    return fileProgress(e).filter((f) => !e.metainfo!.files[f.index].padding)
  })

  app.get<{ Params: HashParams }>('/torrents/:hash/torrent', async (req, reply) => {
    const e = getEntry(d, req)
    const bytes = await d.store.loadTorrent(e.infoHash)
    if (!bytes) throw new ApiError('not_found', `${e.record.name}: no metadata yet`)
    const name = (e.metainfo?.name ?? e.infoHash).replace(/[^\w.\- ]/g, '_')
    return reply.type('application/x-bittorrent').header('Content-Disposition', `attachment; filename="${name}.torrent"`).send(bytes)
  })

  app.patch<{ Params: HashParams }>('/torrents/:hash', async (req) => {
    const e = getEntry(d, req)
    const b = body(req)
    const known = new Set(['downloadLimit', 'uploadLimit', 'files', 'labels', 'seedRatioLimit', 'seedRatioMode', 'queuePosition'])
    const unknown = Object.keys(b).filter((k) => !known.has(k))
    if (unknown.length) throw invalid(`unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ').slice(0, 200)}`)
    // Validate everything before changing anything.
    const down = optNumber(b.downloadLimit, 'downloadLimit')
    const up = optNumber(b.uploadLimit, 'uploadLimit')
    const files = b.files === null ? null : optFiles(b.files)
    const labels = optLabels(b.labels)
    const ratio = optNumber(b.seedRatioLimit, 'seedRatioLimit')
    const mode = optNumber(b.seedRatioMode, 'seedRatioMode')
    const pos = optNumber(b.queuePosition, 'queuePosition')
    if (down !== undefined || up !== undefined) d.setLimits(e, { download: down, upload: up })
    if (files !== undefined) d.setFiles(e, files ?? undefined)
    if (labels !== undefined) d.setLabels(e, labels)
    if (ratio !== undefined || mode !== undefined) d.setSeedLimits(e, { ratioLimit: ratio, ratioMode: mode ?? (ratio !== undefined ? 1 : undefined) })
    if (pos !== undefined) d.moveInQueue(e, pos)
    return details(d, e)
  })

  app.post<{ Params: HashParams }>('/torrents/:hash/start', async (req) => {
    const e = getEntry(d, req)
    await d.start(e)
    return summary(d, e)
  })
  app.post<{ Params: HashParams }>('/torrents/:hash/stop', async (req) => {
    const e = getEntry(d, req)
    await d.stop(e)
    return summary(d, e)
  })
  app.post<{ Params: HashParams }>('/torrents/:hash/verify', async (req) => {
    const e = getEntry(d, req)
    await d.verify(e)
    return summary(d, e)
  })

  app.delete<{ Params: HashParams; Querystring: { deleteData?: string } }>('/torrents/:hash', async (req) => {
    const e = getEntry(d, req)
    const del = optBool(req.query.deleteData, 'deleteData') ?? false
    await d.remove(e, del)
    return { removed: e.infoHash, deletedData: del }
  })

  app.get('/settings', async () => d.settings)
  app.patch('/settings', async (req) => {
    const b = body(req)
    const known = new Set(Object.keys(d.settings))
    const unknown = Object.keys(b).filter((k) => !known.has(k))
    if (unknown.length) throw invalid(`unknown setting${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ').slice(0, 200)}`)
    d.setSettings(b as Partial<Settings>)
    return d.settings
  })

  app.get('/stats', async () => {
    const a = d.activity()
    return {
      torrents: a.torrents,
      active: a.active,
      paused: a.stopped,
      downloadRate: a.downloadRate,
      uploadRate: a.uploadRate,
      peerPort: d.client.port(),
      ...d.sessionTotals(),
    }
  })

  app.get('/events', (req, reply) => sse(d, req, reply))
}

/** Server-Sent Events: a snapshot, then added / changed / progress / done / error / removed / settings. */
function sse(d: Daemon, req: FastifyRequest, reply: FastifyReply): void {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  })
  const send = (event: string, data: unknown) => {
    if (res.writableEnded || res.destroyed) return
    // A client that does not read: drop progress updates rather than buffer without bound.
    if (event === 'progress' && res.writableLength > 1024 * 1024) return
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }
  res.write('retry: 2000\n\n')
  send('snapshot', d.list().map((e) => summary(d, e)))
  const handlers: Record<string, (...a: any[]) => void> = {
    added: (e: Entry) => send('added', summary(d, e)),
    changed: (e: Entry) => send('changed', summary(d, e)),
    progress: (e: Entry) => send('progress', summary(d, e)),
    done: (e: Entry) => send('done', summary(d, e)),
    'torrent-error': (e: Entry, message: string) => send('error', { ...summary(d, e), message }),
    removed: (e: Entry) => send('removed', { infoHash: e.infoHash, id: e.id, name: e.record.name }),
    settings: (s: Settings) => send('settings', s),
  }
  for (const [k, f] of Object.entries(handlers)) d.on(k, f)
  const ping = setInterval(() => {
    if (!res.writableEnded && !res.destroyed) res.write(': ping\n\n')
  }, 15_000)
  const onClosing = () => {
    if (!res.writableEnded) res.end()
  }
  d.once('closing', onClosing)
  const cleanup = () => {
    clearInterval(ping)
    d.off('closing', onClosing)
    for (const [k, f] of Object.entries(handlers)) d.off(k, f)
  }
  req.raw.once('close', cleanup)
  res.once('close', cleanup)
}
