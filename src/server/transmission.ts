// Transmission's RPC at POST /transmission/rpc, the 4.0 protocol (rpc-version 17) that Sonarr, Radarr,
// transmission-remote and the remote GUIs speak: the X-Transmission-Session-Id handshake (409 with the id), then
// JSON requests {method, arguments, tag} answered {result, arguments, tag}. Method errors are answered as
// Transmission does: HTTP 200 with the error in `result`.

import { randomBytes } from 'node:crypto'
import { statfs } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { errorMessage } from '../errors.js'
import type { Daemon, Entry } from './daemon.js'
import { ApiError } from './errors.js'
import { MAX_BODY_BYTES, parseTorrentBytes, resolveUri, type AddSource } from './fetch-torrent.js'
import { FieldContext, TORRENT_FIELDS } from './transmission-fields.js'
import { RebuildCache } from './rebuild-cache.js'
import { TorrentGetCache } from './torrent-get.js'

export const RPC_VERSION = 17
export const VERSION = '4.0.6 (bt)'

/** A method's failure, reported in `result` (Transmission's wording where it has one). */
class RpcError extends Error {}

/** Arguments already serialized to JSON, kept as bytes: a cached answer is sent without encoding it again. */
class RawJson {
  /** The arguments' JSON in UTF-8 chunks (a big torrent-get is built in slices and never joined into one string). */
  private readonly parts: Buffer[]
  private body?: Buffer
  constructor(json: string | Buffer[]) {
    this.parts = typeof json === 'string' ? [Buffer.from(json)] : json
  }
  /** The whole response body; the common tag-less one is built once and reused by every cache hit. */
  response(tag: number | undefined): Buffer {
    if (tag !== undefined) return Buffer.concat([RAW_HEAD, ...this.parts, Buffer.from(`,"result":"success","tag":${tag}}`)])
    if (!this.body) {
      this.body = Buffer.concat([RAW_HEAD, ...this.parts, RAW_TAIL])
      this.parts.length = 0 // the body holds the bytes now
      this.parts.push(this.body.subarray(RAW_HEAD.length, this.body.length - RAW_TAIL.length))
    }
    return this.body
  }
  /** The tag-less body gzipped (as Transmission does for clients that accept it), once, on the threadpool. */
  gzipped(): Promise<Buffer> {
    return (this.gz ??= gzipAsync(this.response(undefined), { level: 1, chunkSize: 64 * 1024 }))
  }
  private gz?: Promise<Buffer>
}
const gzipAsync = promisify(gzip)

/** A RawJson answer and the request's tag: the route picks the encoding. */
class RawAnswer {
  constructor(readonly raw: RawJson, readonly tag: number | undefined) {}
}

/** Accept-Encoding names gzip with a non-zero q. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    if (name.trim() !== 'gzip' && name.trim() !== 'x-gzip') return false
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}
const RAW_HEAD = Buffer.from('{"arguments":')
const TORRENTS_HEAD = Buffer.from('{"torrents":')
const RAW_TAIL = Buffer.from(',"result":"success"}')

type Args = Record<string, unknown>

/** A torrent-get's answer cache key, computed once per arguments object (a remembered poll reuses its object). */
const requestKeys = new WeakMap<Args, string>()
function requestKey(a: Args): string {
  let k = requestKeys.get(a)
  if (k === undefined) requestKeys.set(a, (k = JSON.stringify([a.ids, a.fields, a.format])))
  return k
}

function ids(d: Daemon, v: unknown): Entry[] {
  if (v === undefined) return d.list()
  if (v === 'recently-active' || v === 'recently_active') {
    const since = Date.now() - 60_000
    return d.list().filter((e) => e.torrent || e.record.addedDate * 1000 > since)
  }
  const refs = Array.isArray(v) ? v : [v]
  const out: Entry[] = []
  for (const r of refs) {
    let e: Entry | undefined
    if (typeof r === 'number' && Number.isInteger(r)) e = d.find(r)
    else if (typeof r === 'string' && /^[0-9a-fA-F]{40}$/.test(r)) e = d.find(r)
    else if (typeof r === 'string' && /^\d+$/.test(r)) e = d.find(Number(r))
    else throw new RpcError(`invalid id: ${JSON.stringify(r).slice(0, 60)}`)
    if (e && !out.includes(e)) out.push(e)
  }
  return out
}

function indices(v: unknown, what: string, count: number | undefined): number[] {
  if (!Array.isArray(v) || v.some((i) => !Number.isInteger(i) || i < 0)) throw new RpcError(`${what}: a list of file indices`)
  // An empty list means every file.
  if (v.length === 0) return count === undefined ? [] : Array.from({ length: count }, (_, i) => i)
  if (count !== undefined && v.some((i) => i >= count)) throw new RpcError(`${what}: file index out of range`)
  return v as number[]
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RpcError(`${what} must be a number`)
  return v
}

function bool(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v
  if (v === 0 || v === 1) return v === 1
  throw new RpcError(`${what} must be a boolean`)
}

function sessionFields(d: Daemon, sessionId: string): Record<string, unknown> {
  const s = d.settings
  return {
    'alt-speed-down': 50, 'alt-speed-enabled': false, 'alt-speed-time-begin': 540, 'alt-speed-time-day': 127,
    'alt-speed-time-enabled': false, 'alt-speed-time-end': 1020, 'alt-speed-up': 50,
    'blocklist-enabled': false, 'blocklist-size': 0, 'blocklist-url': '', 'cache-size-mb': 4,
    'config-dir': d.store.dir, 'default-trackers': '', 'dht-enabled': d.client.dhtEnabled,
    'download-dir': s.downloadDir, 'download-dir-free-space': -1,
    'download-queue-enabled': false, 'download-queue-size': 5, encryption: 'tolerated',
    'idle-seeding-limit': s.idleSeedingLimit, 'idle-seeding-limit-enabled': s.idleSeedingLimitEnabled,
    'incomplete-dir': s.downloadDir, 'incomplete-dir-enabled': false, 'lpd-enabled': false,
    'peer-limit-global': d.client.maxConnections, 'peer-limit-per-torrent': s.peerLimitPerTorrent,
    'peer-port': d.client.port(), 'peer-port-random-on-start': false, 'pex-enabled': true,
    'port-forwarding-enabled': false, 'queue-stalled-enabled': false, 'queue-stalled-minutes': 30,
    'rename-partial-files': false, 'rpc-version': RPC_VERSION, 'rpc-version-minimum': 14, 'rpc-version-semver': '5.3.0',
    'script-torrent-added-enabled': false, 'script-torrent-added-filename': '',
    'script-torrent-done-enabled': false, 'script-torrent-done-filename': '',
    'script-torrent-done-seeding-enabled': false, 'script-torrent-done-seeding-filename': '',
    'seed-queue-enabled': false, 'seed-queue-size': 10,
    seedRatioLimit: s.seedRatioLimit, seedRatioLimited: s.seedRatioLimited,
    'session-id': sessionId,
    'speed-limit-down': Math.round(s.downloadLimit / 1024) || 100, 'speed-limit-down-enabled': s.downloadLimit > 0,
    'speed-limit-up': Math.round(s.uploadLimit / 1024) || 100, 'speed-limit-up-enabled': s.uploadLimit > 0,
    'start-added-torrents': s.startAddedTorrents, 'trash-original-torrent-files': false,
    units: {
      'speed-units': ['kB/s', 'MB/s', 'GB/s', 'TB/s'], 'speed-bytes': 1000,
      'size-units': ['kB', 'MB', 'GB', 'TB'], 'size-bytes': 1000,
      'memory-units': ['KiB', 'MiB', 'GiB', 'TiB'], 'memory-bytes': 1024,
    },
    'utp-enabled': false, version: VERSION,
  }
}

/** A limit in Transmission's terms (KBps + enabled flag) applied to our bytes/s (0 = off). */
function limit(current: number, value: unknown, enabled: unknown, what: string): number | undefined {
  const on = enabled === undefined ? undefined : bool(enabled, `${what}-enabled`)
  const kbps = value === undefined ? undefined : num(value, what)
  if (kbps !== undefined && kbps < 0) throw new RpcError(`${what} must be ≥ 0`)
  if (on === false) return 0
  if (kbps !== undefined && (on === true || current > 0)) return Math.round(kbps * 1024)
  if (on === true && current === 0) return Math.round((kbps ?? 100) * 1024)
  return undefined
}

export async function transmissionPlugin(app: FastifyInstance, opts: { daemon: Daemon }): Promise<void> {
  const d = opts.daemon
  const sessionId = randomBytes(24).toString('base64url')

  // Whatever the client calls its body (transmission-remote sends form-encoded headers), it is JSON.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body))

  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Transmission-Session-Id', sessionId)
    if (req.headers['x-transmission-session-id'] !== sessionId) {
      reply.status(409).type('text/html; charset=utf-8')
      return reply.send(
        `<h1>409: Conflict</h1><p>Your request had an invalid session-id header.</p><p>To fix this, follow these steps:<ol><li> When reading a response, get its X-Transmission-Session-Id header and remember it<li> Add the updated header to your outgoing requests<li> When you get this 409 error message, resend your request with the updated header</ol></p><p>This requirement has been added to help prevent <a href="https://en.wikipedia.org/wiki/Cross-site_request_forgery">CSRF</a> attacks.</p><p><code>X-Transmission-Session-Id: ${sessionId}</code></p>`,
      )
    }
  })

  // torrent-get answers are reused for a moment: a dashboard or Sonarr polling a big list many times a second
  // then costs one computation per CACHE_MS. Past CACHE_MS and up to STALE_MS an answer is still sent while one
  // fresh answer (its gzip included) is built behind it, so a poller never waits for a rebuild. Any change to the
  // list (add, remove, start, stop, settings) clears it, so a client sees its own changes at once; the requests
  // that arrive while the new answer is built all wait for that one build (src/server/rebuild-cache.ts).
  // One build per engine tick (the daemon's is 1 s, Transmission's stats move once a second too): with a thousand
  // torrents a build of every field is ~17 ms of main-thread CPU plus a gzip of 1.7 MB (bench/serve.js api), and on a
  // machine whose cores are shared every millisecond of it lands in some poller's tail. 500 ms built it twice a tick.
  const CACHE_MS = 1000
  const STALE_MS = 5_000
  // A rebuilt answer is gzipped before it is swapped in only while gzip clients are about: compressing a megabyte
  // every CACHE_MS for plain clients alone would be wasted work.
  let gzipSeenAt = -Infinity
  const cache = new RebuildCache<RawJson>({
    freshMs: CACHE_MS, staleMs: STALE_MS,
    prepare: async (v) => {
      if (Date.now() - gzipSeenAt < 60_000) await v.gzipped()
    },
  })
  // Below that, each torrent's fields are kept serialized until something they depend on changes (torrent-get.ts),
  // so even a fresh answer is mostly a concatenation — done in slices of a few ms so that other requests (a cache
  // hit, a stream) are answered between them.
  const fragments = new TorrentGetCache(d)
  for (const ev of ['added', 'changed', 'removed', 'done', 'torrent-error', 'settings']) d.on(ev, () => cache.clear())
  d.on('settings', () => fragments.clear())
  /** A torrent-get answer's arguments (a bad id rejects it: every request sharing the build names the same ids). */
  const torrentGet = (a: Args & { fields: unknown[] }): (() => Promise<RawJson>) => {
    return async () => {
      // Resolved in the build, not per request: a cache hit must not walk (or sort) the torrent list.
      const fields = a.fields.filter((f): f is string => typeof f === 'string' && Object.hasOwn(TORRENT_FIELDS, f))
      const list = ids(d, a.ids)
      const now = Math.floor(Date.now() / 1000)
      let removed = ''
      if (a.ids === 'recently-active' || a.ids === 'recently_active') {
        const since = Date.now() - 60_000
        removed = `,"removed":${JSON.stringify(d.recentlyRemoved.filter((r) => r.at > since).map((r) => r.id))}`
      }
      if (a.format === 'table') {
        // The table form is rare (Transmission's own web UI): computed directly.
        const getters = fields.map((f) => TORRENT_FIELDS[f])
        const torrents = JSON.stringify([fields, ...list.map((e) => {
          const c = new FieldContext(d, e, now)
          return getters.map((g) => g(c))
        })])
        return new RawJson(`{"torrents":${torrents}${removed}}`)
      }
      const chunks = await fragments.objectsInSlices(list, fields, now)
      return new RawJson([TORRENTS_HEAD, ...chunks, Buffer.from(`${removed}}`)])
    }
  }

  const methods: Record<string, (a: Args) => Promise<Args | RawJson | void> | Args | RawJson | void> = {
    'session-get': (a) => {
      const all = sessionFields(d, sessionId)
      if (!Array.isArray(a.fields) || a.fields.length === 0) return all
      return Object.fromEntries(a.fields.filter((f): f is string => typeof f === 'string' && f in all).map((f) => [f, all[f]]))
    },
    'session-set': (a) => {
      const s = d.settings
      const next: Parameters<Daemon['setSettings']>[0] = {}
      if (a['download-dir'] !== undefined) {
        if (typeof a['download-dir'] !== 'string' || !isAbsolute(a['download-dir'])) throw new RpcError('download-dir must be an absolute path')
        next.downloadDir = a['download-dir']
      }
      const down = limit(s.downloadLimit, a['speed-limit-down'], a['speed-limit-down-enabled'], 'speed-limit-down')
      if (down !== undefined) next.downloadLimit = down
      const up = limit(s.uploadLimit, a['speed-limit-up'], a['speed-limit-up-enabled'], 'speed-limit-up')
      if (up !== undefined) next.uploadLimit = up
      if (a.seedRatioLimit !== undefined) next.seedRatioLimit = num(a.seedRatioLimit, 'seedRatioLimit')
      if (a.seedRatioLimited !== undefined) next.seedRatioLimited = bool(a.seedRatioLimited, 'seedRatioLimited')
      if (a['idle-seeding-limit'] !== undefined) next.idleSeedingLimit = num(a['idle-seeding-limit'], 'idle-seeding-limit')
      if (a['idle-seeding-limit-enabled'] !== undefined) next.idleSeedingLimitEnabled = bool(a['idle-seeding-limit-enabled'], 'idle-seeding-limit-enabled')
      if (a['start-added-torrents'] !== undefined) next.startAddedTorrents = bool(a['start-added-torrents'], 'start-added-torrents')
      if (a['peer-limit-per-torrent'] !== undefined) next.peerLimitPerTorrent = num(a['peer-limit-per-torrent'], 'peer-limit-per-torrent')
      d.setSettings(next)
    },
    'session-stats': () => {
      const a = d.activity()
      const t = d.sessionTotals()
      return {
        activeTorrentCount: a.active,
        downloadSpeed: a.downloadRate,
        pausedTorrentCount: a.torrents - a.active,
        torrentCount: a.torrents,
        uploadSpeed: a.uploadRate,
        'cumulative-stats': {
          downloadedBytes: t.downloadedBytes + t.current.downloadedBytes,
          uploadedBytes: t.uploadedBytes + t.current.uploadedBytes,
          filesAdded: t.filesAdded,
          sessionCount: t.sessionCount,
          secondsActive: t.secondsActive + t.current.secondsActive,
        },
        'current-stats': { ...t.current, filesAdded: 0, sessionCount: 1 },
      }
    },
    // transmission-remote --exit: answered first, then bt serve shuts down as on SIGTERM (whoever started it listens).
    'session-close': () => {
      setImmediate(() => d.emit('session-close'))
    },
    'torrent-get': (a) => {
      if (!Array.isArray(a.fields)) throw new RpcError('no fields specified')
      const build = torrentGet(a as Args & { fields: unknown[] })
      // recently-active is a different answer each time (it is relative to now): never kept.
      if (a.ids === 'recently-active' || a.ids === 'recently_active') return build()
      return cache.get(requestKey(a), build)
    },
    'torrent-add': async (a) => {
      let src: AddSource
      try {
        if (typeof a.metainfo === 'string' && a.metainfo.length > 0) {
          const s = a.metainfo.replace(/\s+/g, '')
          if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new RpcError('invalid or corrupt torrent file')
          src = parseTorrentBytes(Buffer.from(s, 'base64'), 'metainfo')
        } else if (typeof a.filename === 'string' && a.filename.length > 0) {
          src = await resolveUri(a.filename)
        } else throw new RpcError('no filename or metainfo specified')
      } catch (err) {
        if (err instanceof RpcError) throw err
        if (err instanceof ApiError && err.kind === 'invalid' && typeof a.metainfo === 'string') throw new RpcError('invalid or corrupt torrent file')
        throw new RpcError(err instanceof ApiError && err.kind === 'bad_gateway' ? `gotMetadataFromURL: ${err.message}` : errorMessage(err))
      }
      const count = src.kind === 'torrent' ? src.metainfo.files.length : undefined
      let files: number[] | undefined
      if (a['files-wanted'] !== undefined) files = indices(a['files-wanted'], 'files-wanted', count)
      if (a['files-unwanted'] !== undefined && count !== undefined) {
        const un = new Set(indices(a['files-unwanted'], 'files-unwanted', count))
        files = (files ?? Array.from({ length: count }, (_, i) => i)).filter((i) => !un.has(i))
      }
      if (a['download-dir'] !== undefined && (typeof a['download-dir'] !== 'string' || !isAbsolute(a['download-dir']))) {
        throw new RpcError('download-dir must be an absolute path')
      }
      const labels = a.labels === undefined ? undefined : Array.isArray(a.labels) ? (a.labels as string[]) : undefined
      const { entry, duplicate } = await d.add(src, {
        downloadDir: a['download-dir'] as string | undefined,
        paused: a.paused === undefined ? undefined : bool(a.paused, 'paused'),
        files,
        labels,
      })
      // File priorities at add time need the file list: a .torrent has it, a magnet does not yet (use torrent-set).
      if (!duplicate && entry.metainfo) {
        for (const [key, level] of [['priority-low', -1], ['priority-normal', 0], ['priority-high', 1]] as const) {
          if (Array.isArray(a[key]) && a[key].length > 0) d.setPriorities(entry, indices(a[key], key, count), level)
        }
      }
      const info = { id: entry.id, name: entry.metainfo?.name ?? entry.record.name, hashString: entry.infoHash }
      return duplicate ? { 'torrent-duplicate': info } : { 'torrent-added': info }
    },
    'torrent-start': async (a) => {
      for (const e of ids(d, a.ids)) await d.start(e)
    },
    'torrent-start-now': async (a) => {
      for (const e of ids(d, a.ids)) await d.start(e)
    },
    'torrent-stop': async (a) => {
      for (const e of ids(d, a.ids)) await d.stop(e)
    },
    'torrent-verify': async (a) => {
      for (const e of ids(d, a.ids)) if (e.metainfo) await d.verify(e)
    },
    'torrent-reannounce': (a) => {
      ids(d, a.ids) // trackers re-announce on their own interval; the ids are still checked
    },
    'torrent-remove': async (a) => {
      const del = a['delete-local-data'] === undefined ? false : bool(a['delete-local-data'], 'delete-local-data')
      for (const e of ids(d, a.ids)) await d.remove(e, del)
    },
    'torrent-set': async (a) => {
      const list = ids(d, a.ids)
      for (const e of list) {
        const r = e.record
        const down = limit(r.downloadLimit, a.downloadLimit, a.downloadLimited, 'downloadLimit')
        const up = limit(r.uploadLimit, a.uploadLimit, a.uploadLimited, 'uploadLimit')
        if (down !== undefined || up !== undefined) d.setLimits(e, { download: down, upload: up })
        const count = e.metainfo?.files.length
        if (a['files-wanted'] !== undefined || a['files-unwanted'] !== undefined) {
          const all = count === undefined ? undefined : Array.from({ length: count }, (_, i) => i)
          let sel = new Set(r.files ?? all ?? [])
          if (a['files-wanted'] !== undefined) for (const i of indices(a['files-wanted'], 'files-wanted', count)) sel.add(i)
          if (a['files-unwanted'] !== undefined) {
            const un = new Set(indices(a['files-unwanted'], 'files-unwanted', count))
            sel = new Set([...sel].filter((i) => !un.has(i)))
          }
          d.setFiles(e, [...sel])
        }
        for (const [key, level] of [['priority-low', -1], ['priority-normal', 0], ['priority-high', 1]] as const) {
          if (a[key] !== undefined) d.setPriorities(e, indices(a[key], key, count), level)
        }
        if (a.labels !== undefined) d.setLabels(e, a.labels as string[])
        if (a.seedRatioLimit !== undefined || a.seedRatioMode !== undefined || a.seedIdleLimit !== undefined || a.seedIdleMode !== undefined) {
          d.setSeedLimits(e, {
            ratioLimit: a.seedRatioLimit === undefined ? undefined : num(a.seedRatioLimit, 'seedRatioLimit'),
            ratioMode: a.seedRatioMode === undefined ? undefined : num(a.seedRatioMode, 'seedRatioMode'),
            idleLimit: a.seedIdleLimit === undefined ? undefined : num(a.seedIdleLimit, 'seedIdleLimit'),
            idleMode: a.seedIdleMode === undefined ? undefined : num(a.seedIdleMode, 'seedIdleMode'),
          })
        }
        if (a.queuePosition !== undefined) d.moveInQueue(e, num(a.queuePosition, 'queuePosition'))
      }
      // Transmission's torrent-set takes `location` too (without moving anything).
      if (a.location !== undefined) {
        if (typeof a.location !== 'string' || !isAbsolute(a.location)) throw new RpcError('location must be an absolute path')
        for (const e of list) await d.setLocation(e, a.location, false)
      }
    },
    'torrent-set-location': async (a) => {
      if (typeof a.location !== 'string' || !isAbsolute(a.location)) throw new RpcError('location must be an absolute path')
      const move = a.move === undefined ? false : bool(a.move, 'move')
      for (const e of ids(d, a.ids)) await d.setLocation(e, a.location, move)
    },
    'torrent-rename-path': async (a) => {
      const list = ids(d, a.ids)
      if (list.length !== 1) throw new RpcError('torrent-rename-path requires 1 torrent')
      const r = await d.renamePath(list[0], a.path, a.name)
      return { id: list[0].id, path: r.path, name: r.name }
    },
    'queue-move-top': (a) => {
      for (const e of ids(d, a.ids).reverse()) d.moveInQueue(e, 0)
    },
    'queue-move-bottom': (a) => {
      for (const e of ids(d, a.ids)) d.moveInQueue(e, Number.MAX_SAFE_INTEGER)
    },
    'queue-move-up': (a) => {
      for (const e of ids(d, a.ids)) d.moveInQueue(e, e.record.queuePosition - 1)
    },
    'queue-move-down': (a) => {
      for (const e of ids(d, a.ids).reverse()) d.moveInQueue(e, e.record.queuePosition + 1)
    },
    'free-space': async (a) => {
      if (typeof a.path !== 'string' || !isAbsolute(a.path)) throw new RpcError('free-space: path must be an absolute path')
      try {
        const s = await statfs(a.path)
        return { path: a.path, 'size-bytes': s.bavail * s.bsize, total_size: s.blocks * s.bsize }
      } catch (err) {
        throw new RpcError(`free-space: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : errorMessage(err)}`)
      }
    },
    // We cannot ask the outside world whether the port is reachable (no packets off this machine): report
    // whether the peer listen socket is open.
    'port-test': () => ({ 'port-is-open': d.client.port() > 0 }),
    'blocklist-update': () => ({ 'blocklist-size': 0 }),
    'group-get': () => ({ group: [] }),
  }

  // A poller sends the very same torrent-get body every time: its parsed form (and its cache key) is remembered by
  // the body's text, so a cache hit does no JSON work at all. Only torrent-get bodies, which nothing mutates.
  const parsedPolls = new Map<string, { method?: unknown; arguments?: unknown; tag?: unknown }>()
  const handle = async (raw: unknown, statusOut: { code: number }) => {
    let req: { method?: unknown; arguments?: unknown; tag?: unknown }
    try {
      const known = typeof raw === 'string' ? parsedPolls.get(raw) : undefined
      req = known ?? (typeof raw === 'string' ? JSON.parse(raw) : (raw as typeof req))
      if (!known && typeof raw === 'string' && raw.length <= 16 * 1024 && req?.method === 'torrent-get') {
        if (parsedPolls.size >= 64) parsedPolls.clear()
        parsedPolls.set(raw, req)
      }
    } catch {
      statusOut.code = 400
      return { result: 'invalid JSON request' }
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      statusOut.code = 400
      return { result: 'invalid JSON request' }
    }
    const tag = typeof req.tag === 'number' ? req.tag : undefined
    const method = typeof req.method === 'string' ? req.method.replace(/_/g, '-') : undefined
    if (!method) return { result: 'no method name', ...(tag !== undefined ? { tag } : {}) }
    const fn = methods[method]
    if (!fn) return { result: 'method name not recognized', ...(tag !== undefined ? { tag } : {}) }
    const args = req.arguments === undefined ? {} : req.arguments
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return { result: 'arguments must be an object', ...(tag !== undefined ? { tag } : {}) }
    try {
      const out = (await fn(args as Args)) ?? {}
      if (out instanceof RawJson) return new RawAnswer(out, tag)
      return { arguments: out, result: 'success', ...(tag !== undefined ? { tag } : {}) }
    } catch (err) {
      if (err instanceof RpcError || err instanceof ApiError) return { result: err.message, ...(tag !== undefined ? { tag } : {}) }
      throw err
    } finally {
      // Whatever a method other than a read changed, the next torrent-get sees it (the daemon's events cover its
      // own changes; this covers anything they miss).
      if (method !== 'torrent-get' && method !== 'session-get' && method !== 'session-stats') cache.clear()
    }
  }

  app.post('/rpc', async (req, reply) => {
    const status = { code: 200 }
    const out = await handle(req.body ?? '', status)
    reply.status(status.code).type('application/json; charset=UTF-8')
    if (!(out instanceof RawAnswer)) return reply.send(JSON.stringify(out))
    // A cached torrent-get answer: compressed only when the client asks (Sonarr's and Radarr's HTTP clients do), and
    // then once per cached answer, so a hit costs neither CPU nor most of the bytes.
    if (out.tag === undefined && acceptsGzip(req.headers['accept-encoding'])) {
      gzipSeenAt = Date.now()
      return reply.header('Content-Encoding', 'gzip').header('Vary', 'Accept-Encoding').send(await out.raw.gzipped())
    }
    return reply.send(out.raw.response(out.tag))
  })
  // Transmission answers a GET with the same handshake; with a valid id there is nothing to do.
  app.get('/rpc', async (_req, reply) => reply.status(400).type('application/json').send({ result: 'use POST' }))
}
