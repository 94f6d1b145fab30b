// The tracker inside `bt serve` (fastify 5): `trackerRoutes` serves /announce, /scrape and /stats with the same
// code as the standalone server; `trackerApiRoutes` registers torrents for private mode at /api/v1/tracker/torrents
// ({infoHash, name} JSON, or a .torrent as application/x-bittorrent or a multipart upload). Register both without a
// prefix: `app.register(trackerRoutes, { tracker })`. The tracker routes are marked public (see below); the
// registration routes are not, so bt serve's auth layer guards them.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorMessage } from '../errors.js'
import { parseTorrent } from '../metainfo/metainfo.js'
import { httpAnnounce, httpScrape, httpStats, type HttpReply } from './http-api.js'
import { normalizeIp } from './http-server.js'
import type { Tracker } from './swarm.js'

export interface TrackerPluginOptions {
  tracker: Tracker
}

const MAX_TORRENT_UPLOAD = 16 * 1024 * 1024

function send(reply: FastifyReply, r: HttpReply): FastifyReply {
  return reply.code(r.status).header('content-type', r.contentType).send(r.body)
}

function rawQuery(req: FastifyRequest): string {
  const url = req.raw.url ?? ''
  const i = url.indexOf('?')
  return i < 0 ? '' : url.slice(i + 1)
}

export async function trackerRoutes(app: FastifyInstance, opts: TrackerPluginOptions): Promise<void> {
  const { tracker } = opts
  // BitTorrent clients announce without API keys and name the tracker's public host: bt serve's auth layer lets
  // routes marked `public` and `anyHost` through (they change nothing but the swarm the client itself is in).
  const config = { public: true, anyHost: true }
  app.get('/announce', { config }, async (req, reply) => send(reply, httpAnnounce(tracker, rawQuery(req), normalizeIp(req.ip))))
  app.get('/scrape', { config }, async (req, reply) => send(reply, httpScrape(tracker, rawQuery(req), normalizeIp(req.ip))))
  app.get('/stats', { config }, async (req, reply) => send(reply, httpStats(tracker, rawQuery(req), req.headers.accept)))
}

/** Parses a registration body; returns the latin1 info hash and a name, or an error message. */
export function parseRegistration(body: unknown): { ih: string; name: string } | { error: string } {
  if (Buffer.isBuffer(body)) {
    try {
      const m = parseTorrent(body, 'upload')
      return { ih: m.infoHashBuffer.toString('latin1'), name: m.name }
    } catch (err) {
      return { error: `not a valid torrent: ${errorMessage(err)}` }
    }
  }
  if (body && typeof body === 'object') {
    const { infoHash, name } = body as { infoHash?: unknown; name?: unknown }
    if (typeof infoHash !== 'string' || !/^[0-9a-fA-F]{40}$/.test(infoHash)) return { error: 'infoHash must be 40 hex digits' }
    if (name !== undefined && (typeof name !== 'string' || name.length > 1024)) return { error: 'name must be a string of at most 1024 characters' }
    return { ih: Buffer.from(infoHash, 'hex').toString('latin1'), name: (name as string | undefined) ?? '' }
  }
  return { error: 'send {"infoHash": "<40 hex>", "name": "…"} as JSON, or a .torrent file' }
}

export async function trackerApiRoutes(app: FastifyInstance, opts: TrackerPluginOptions): Promise<void> {
  const { tracker } = opts
  // Raw .torrent bodies; scoped to this plugin so the rest of bt serve keeps its own parsers.
  for (const type of ['application/x-bittorrent', 'application/octet-stream']) {
    if (!app.hasContentTypeParser(type)) app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: MAX_TORRENT_UPLOAD }, (_req, body, done) => done(null, body))
  }
  const view = (ih: string) => {
    const reg = tracker.registered.get(ih)
    const s = tracker.swarms.get(ih)
    return { infoHash: Buffer.from(ih, 'latin1').toString('hex'), name: reg?.name ?? '', source: reg?.source, seeders: s?.seeders ?? 0, leechers: s?.leechers ?? 0, completed: s?.completed ?? 0 }
  }
  app.post('/api/v1/tracker/torrents', async (req, reply) => {
    let body: unknown = req.body
    const mp = req as FastifyRequest & { isMultipart?: () => boolean; file?: (o?: object) => Promise<{ toBuffer(): Promise<Buffer> } | undefined> }
    if (mp.isMultipart?.() && mp.file) {
      try {
        const file = await mp.file({ limits: { fileSize: MAX_TORRENT_UPLOAD } })
        body = file ? await file.toBuffer() : undefined
      } catch (err) {
        return reply.code(400).send({ error: `upload failed: ${errorMessage(err)}` })
      }
    }
    const r = parseRegistration(body)
    if ('error' in r) return reply.code(400).send({ error: r.error })
    const existed = tracker.registered.has(r.ih)
    tracker.register(r.ih, { name: r.name, source: 'api' })
    return reply.code(existed ? 200 : 201).send(view(r.ih))
  })
  app.get('/api/v1/tracker/torrents', async () => ({ torrents: [...tracker.registered.keys()].map(view) }))
  app.delete('/api/v1/tracker/torrents/:infoHash', async (req, reply) => {
    const hex = (req.params as { infoHash: string }).infoHash
    if (!/^[0-9a-fA-F]{40}$/.test(hex)) return reply.code(400).send({ error: 'infoHash must be 40 hex digits' })
    const ih = Buffer.from(hex, 'hex').toString('latin1')
    if (!tracker.registered.has(ih)) return reply.code(404).send({ error: 'not registered' })
    tracker.unregister(ih)
    return reply.code(204).send()
  })
}
