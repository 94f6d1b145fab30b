// The bt serve HTTP app: one fastify instance, one auth layer, and plugins that each own a prefix —
// /api/v1 (REST + SSE), /transmission/rpc, /stream and /playlist, / (web UI). Fastify because it is maintained,
// fast, supports Node 20, and gives body limits, content-type parsing and encapsulated plugins for free.

import Fastify, { type FastifyInstance, type FastifyError, type FastifyRequest } from 'fastify'
import { errorMessage } from '../errors.js'
import { ApiError } from './errors.js'
import { MAX_BODY_BYTES } from './fetch-torrent.js'
import { authenticate, hostAllowed, type AuthOptions } from './auth.js'
import type { Daemon } from './daemon.js'
import { apiPlugin } from './api.js'
import { transmissionPlugin } from './transmission.js'
import { streamPlugin } from './stream.js'
import { uiPlugin } from './ui.js'

export interface AppOptions {
  auth: AuthOptions
  /** One line per request on stderr. */
  verbose?: boolean
  log?: (line: string) => void
  /** How long a stream request waits for a magnet's metadata (ms). */
  metadataWaitMs?: number
  /**
   * More plugins on the same app and auth layer (the tracker's /announce /scrape /stats, the search API). Routes
   * declared with `config: { public: true }` skip credentials (BitTorrent clients announce without keys), and with
   * `anyHost: true` the Host check too.
   */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No credentials needed (web UI assets); the Host check still applies. */
    public?: boolean
    /** Any Host header (tracker announces name the tracker's public host); only for routes that change nothing. */
    anyHost?: boolean
  }
  interface FastifyRequest {
    /** How the request authenticated, so stream URLs handed out can carry the same key. */
    authVia?: 'none' | 'key' | 'basic'
  }
}


export function redactKey(url: string): string {
  return url.replace(/([?&]apikey=)[^&]*/gi, '$1…')
}

export async function buildApp(daemon: Daemon, opts: AppOptions): Promise<FastifyInstance> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true }, bodyLimit: MAX_BODY_BYTES, forceCloseConnections: 'idle', return503OnClosing: true })

  // A client that asks before sending a body (Expect: 100-continue: curl does for large ones) and announces more than
  // any route takes is refused at once, before it sends. Told to go on instead, it would be cut off by the route's
  // limit mid-body and often see a broken pipe rather than the 413.
  app.server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' })
      res.end(JSON.stringify({ error: 'request body too large' }))
      return
    }
    res.writeContinue()
    app.server.emit('request', req, res)
  })

  app.addHook('onRequest', async (req, reply) => {
    if (!req.routeOptions.config?.anyHost && !hostAllowed(req.headers.host, opts.auth.allowedHosts)) {
      throw new ApiError('forbidden', `host "${String(req.headers.host).slice(0, 100)}" is not allowed (use an IP address, localhost, or bt serve --allowed-host)`)
    }
    const q = req.query as Record<string, unknown> | undefined
    const queryKey = typeof q?.apikey === 'string' ? q.apikey : undefined
    const r = authenticate(opts.auth, req.headers as any, queryKey)
    if (r.ok) {
      req.authVia = r.via
      return
    }
    if (req.routeOptions.config?.public) return
    // Transmission clients send Basic only after a challenge.
    if (req.url.startsWith('/transmission/')) reply.header('WWW-Authenticate', 'Basic realm="bt"')
    throw new ApiError('unauthorized', r.why === 'missing' ? 'authentication required: X-Api-Key header, ?apikey=, or HTTP Basic' : 'wrong API key or password')
  })

  // --verbose: one line per request. Responses a route writes itself (hijacked: warm streams) skip fastify's
  // onResponse hook, so such routes call logRequest when they are done.
  const logRequest = opts.verbose
    ? (req: FastifyRequest, status: number, ms: number) => log(`${req.ip} ${req.method} ${redactKey(req.url)} ${status} ${Math.round(ms)} ms`)
    : undefined
  if (logRequest) app.addHook('onResponse', async (req, reply) => logRequest(req, reply.statusCode, reply.elapsedTime))

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.status).type('application/json; charset=utf-8').send({ error: err.message, ...err.extra })
    }
    const status = (err as FastifyError).statusCode
    if (status && status >= 400 && status < 500) {
      return reply.status(status).type('application/json; charset=utf-8').send({ error: cleanFastifyMessage(err) })
    }
    log(`error: ${req.method} ${redactKey(req.url)}: ${opts.verbose ? (err as Error).stack : errorMessage(err)}`)
    return reply.status(status && status >= 500 ? status : 500).type('application/json; charset=utf-8').send({ error: 'internal error' })
  })

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: `no such endpoint: ${req.method} ${redactKey(req.url).split('?')[0].slice(0, 200)}` })
  })

  await app.register(apiPlugin, { prefix: '/api/v1', daemon })
  await app.register(transmissionPlugin, { prefix: '/transmission', daemon })
  await app.register(streamPlugin, { daemon, metadataWaitMs: opts.metadataWaitMs ?? 60_000, logRequest })
  await app.register(uiPlugin)
  for (const p of opts.plugins ?? []) await app.register(p)
  return app
}

function cleanFastifyMessage(err: { message: string; code?: string }): string {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'request body too large'
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return `bad JSON: ${err.message}`
  return err.message
}
