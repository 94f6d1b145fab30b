// `bt download X…`: download torrents (files, magnets, info hashes) with progress, optionally seeding afterwards.

import { join, resolve } from 'node:path'
import { mkdir } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { BtError, ExitCode, errorMessage } from '../src/errors.js'
import { resolveTorrentSource, type TorrentSource } from '../src/metainfo/source.js'
import { parsePeerAddress, type PeerAddress } from '../src/discovery/peer-address.js'
import { Client } from '../src/session/client.js'
import type { Torrent } from '../src/session/torrent.js'
import { parseIndexList, resolveSelection } from '../src/session/select.js'
import { parseSize, formatBytes } from '../src/format.js'
import { out } from './cli.js'
import { ENCRYPTION_OPTION, encryptionOption } from './encryption-option.js'
import { ProgressView, jsonEvent, progressMode } from './progress.js'

export interface SessionArgs {
  port?: number
  dht: boolean
  'dht-port'?: number
  'dht-bootstrap'?: string
  'metadata-timeout': number
  peer: string[]
  tracker: string[]
  'download-limit'?: string
  'upload-limit'?: string
  'max-peers': number
  encryption?: string
  quiet: boolean
  json: boolean
  verbose: boolean
}

interface Args extends SessionArgs {
  torrents: string[]
  output: string
  select?: string
  'select-glob': string[]
  seed: boolean
  verify: boolean
}

export function sizeOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '' || v === '0') return undefined
  const n = parseSize(v)
  if (n === undefined || n <= 0) throw new BtError(`--${name}: "${v}" is not a rate such as 500k or 10M`, ExitCode.usage)
  return n
}

export function peersOption(list: string[]): PeerAddress[] {
  return list.flatMap((s) => s.split(',')).filter(Boolean).map((s) => {
    const p = parsePeerAddress(s.trim())
    if (!p) throw new BtError(`--peer: "${s}" is not host:port`, ExitCode.usage)
    return p
  })
}

/** Options shared by commands that run a client (download, seed). */
export function sessionOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('port', { alias: 'p', type: 'number', describe: 'listen port (default 6881, next free up to 6889, else any)' })
    .option('peer', { type: 'string', array: true, default: [], describe: 'connect to this peer (host:port); repeatable' })
    .option('tracker', { alias: 't', type: 'string', array: true, default: [], describe: 'extra tracker URL; repeatable' })
    .option('download-limit', { alias: 'D', type: 'string', describe: 'max download rate, e.g. 10M or 500k (bytes/s)' })
    .option('upload-limit', { alias: 'U', type: 'string', describe: 'max upload rate, e.g. 1M' })
    .option('max-peers', { type: 'number', default: 80, describe: 'connections per torrent' })
    .option('encryption', ENCRYPTION_OPTION)
    .option('dht', { type: 'boolean', default: true, describe: 'use the DHT (--no-dht: trackers and given peers only)' })
    .option('dht-port', { type: 'number', describe: 'UDP port of the DHT (default: the listen port)' })
    .option('dht-bootstrap', { type: 'string', describe: 'DHT bootstrap nodes host:port,… (default: the public routers, or $BT_DHT_BOOTSTRAP; "none" for none)' })
    .option('metadata-timeout', { type: 'number', default: 600, describe: 'seconds to wait for a magnet\'s metadata (0: forever)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing but errors' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON event per line on stdout' }) as Argv<T>
}

/** --dht-bootstrap, else $BT_DHT_BOOTSTRAP, else the public routers (undefined). `none` means no bootstrap. */
export function bootstrapOption(v: string | undefined): string[] | false | undefined {
  const s = v ?? process.env.BT_DHT_BOOTSTRAP
  if (s === undefined || s === '') return undefined
  if (s === 'none') return false
  return s.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
    if (!/^[^\s:]+:\d{1,5}$/.test(x) && !parsePeerAddress(x)) throw new BtError(`--dht-bootstrap: "${x}" is not host:port`, ExitCode.usage)
    return x
  })
}

/** Fail a magnet torrent that has no metadata after `seconds` (0: never). */
export function metadataTimeout(t: Torrent, seconds: number): void {
  if (!seconds || t.metainfo) return
  const timer = setTimeout(() => {
    if (t.metainfo) return
    const s = t.stats()
    t.emit('error', new BtError(`${t.name}: no metadata after ${seconds} s (${s.peers} peers connected, ${s.knownPeers} known)`, ExitCode.network))
  }, seconds * 1000)
  timer.unref()
  t.once('metadata', () => clearTimeout(timer))
  t.once('stopped', () => clearTimeout(timer))
}

export function makeClient(args: SessionArgs): Client {
  if (args.port !== undefined && (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)) {
    throw new BtError(`--port: ${args.port} is not a port number`, ExitCode.usage)
  }
  return new Client({
    port: args.port,
    dht: args.dht ? { port: args['dht-port'], bootstrap: bootstrapOption(args['dht-bootstrap']) } : false,
    downloadLimit: sizeOption('download-limit', args['download-limit']),
    uploadLimit: sizeOption('upload-limit', args['upload-limit']),
    maxPeersPerTorrent: args['max-peers'],
    encryption: encryptionOption(args.encryption),
  })
}

/** Stop the client on Ctrl-C / SIGTERM (saving resume state) and exit 130. */
export function exitOnSignal(client: Client, view?: ProgressView): void {
  let stopping = false
  const onSignal = () => {
    if (stopping) process.exit(ExitCode.interrupted)
    stopping = true
    view?.stop()
    const hard = setTimeout(() => process.exit(ExitCode.interrupted), 5000)
    client.destroy().finally(() => {
      clearTimeout(hard)
      process.exit(ExitCode.interrupted)
    })
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
}

/** Wait until the torrent is done, rejecting on its first fatal error. */
function whenDone(t: Torrent): Promise<void> {
  return new Promise((resolve, reject) => {
    if (t.done) return resolve()
    t.once('done', () => resolve())
    t.once('error', (err: unknown) => reject(err))
  })
}

export const downloadCommand: CommandModule<object, Args> = {
  command: 'download <torrents..>',
  describe: 'Download torrents (.torrent files, magnet links, infohash:HEX)',
  builder: (y: Argv) =>
    sessionOptions(
      y
        .positional('torrents', { type: 'string', array: true, demandOption: true, describe: '.torrent file, magnet link, or infohash:HEX' })
        .option('output', { alias: 'o', type: 'string', default: '.', describe: 'download directory' })
        .option('select', { alias: 's', type: 'string', describe: 'file indices to download, e.g. 0,2-4 (see bt metainfo FILE files)' })
        .option('select-glob', { type: 'string', array: true, default: [], describe: "download files matching a glob, e.g. '*.mkv'" })
        .option('seed', { type: 'boolean', default: false, describe: 'keep seeding after the download until Ctrl-C' })
        .option('verify', { type: 'boolean', default: false, describe: 'hash-check all existing data instead of trusting resume state' })
        .example('$0 download ubuntu.torrent -o ~/Downloads', '')
        .example("$0 download 'magnet:?xt=urn:btih:…&tr=…' --select-glob '*.mkv'", '')
        .example('$0 download infohash:c12fe1c06bba254a9dc9f519b335aa7c1367a88a --peer 10.0.0.2:6881', ''),
    ) as unknown as Argv<Args>,
  handler: async (args) => {
    encryptionOption(args.encryption) // a bad value is a usage error before anything else
    const mode = progressMode(args)
    const indices = args.select !== undefined ? parseIndexList(args.select) : undefined
    const globs = args['select-glob']
    const extraPeers = peersOption(args.peer)
    const extraTrackers = args.tracker.map((u) => [u])
    const dir = resolve(args.output)
    const sources: TorrentSource[] = []
    const seen = new Set<string>()
    for (const x of args.torrents) {
      const src = await resolveTorrentSource(x)
      const hash = src.kind === 'torrent' ? src.metainfo.infoHash : src.magnet.infoHash
      if (seen.has(hash)) continue // the same torrent named twice is downloaded (and printed) once
      seen.add(hash)
      sources.push(src)
    }
    try {
      await mkdir(dir, { recursive: true })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'not a directory' : code === 'EACCES' ? 'permission denied' : errorMessage(err)
      throw new BtError(`${args.output}: ${why}`, ExitCode.io)
    }
    const client = makeClient(args)
    await client.listen()
    const view = new ProgressView(mode, args.verbose)
    exitOnSignal(client, view)
    if (args.verbose) view.log(`listening on port ${client.port()}`)
    const torrents: Torrent[] = []
    const deferred: string[] = []
    for (const src of sources) {
      let t: Torrent
      const common = { dir, seed: args.seed, verify: args.verify, peers: extraPeers, trackers: extraTrackers }
      if (src.kind === 'torrent') {
        t = client.add(src.metainfo, { ...common, select: resolveSelection(src.metainfo, { indices, globs }) })
      } else {
        t = client.add(src.magnet, { ...common, name: src.magnet.name })
        metadataTimeout(t, args['metadata-timeout'])
        // A magnet's file list is known only with the metadata: apply the selection then.
        if (indices || globs.length || src.magnet.select) {
          t.once('metadata', () => {
            try {
              const sel = resolveSelection(t.metainfo!, { indices: indices ?? src.magnet.select, globs })
              t.select(sel)
            } catch (err) {
              t.emit('error', err)
            }
          })
        }
      }
      view.add(t)
      // Tracker failures, bans and hash failures are reported (each tracker failure once); --quiet hides them.
    t.on('warning', (msg: string) => view.log(`${t.name}: ${msg}`))
      torrents.push(t)
    }
    try {
      await Promise.all(torrents.map(async (t) => {
        await whenDone(t)
        const path = join(dir, t.metainfo!.name)
        const s = t.stats()
        if (mode === 'json') jsonEvent('done', { infoHash: t.infoHash, name: t.name, path, length: s.wanted })
        else {
          view.log(`${t.name}: done, ${formatBytes(s.wanted)}`)
          // With bars on the same terminal, a path written now would be drawn over; print it once they stop.
          if (mode === 'bars' && process.stdout.isTTY && !args.seed) deferred.push(path)
          else out(path)
        }
      }))
    } catch (err) {
      view.stop()
      if (mode === 'json') jsonEvent('error', { message: errorMessage(err) })
      await client.destroy()
      throw err
    }
    if (args.seed) {
      view.log(`seeding on port ${client.port()}; Ctrl-C to stop`)
      await new Promise(() => {}) // until a signal
    }
    view.stop()
    for (const path of deferred) out(path)
    await client.destroy()
  },
}
