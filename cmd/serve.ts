// `bt serve`: a torrent daemon over HTTP (REST + SSE, Transmission RPC, streaming with Range, web UI).

import type { Argv, CommandModule } from 'yargs'
import { ENCRYPTION_OPTION, encryptionOption } from './encryption-option.js'
import { TCP_OPTION, UTP_OPTION, transportOptions } from './transport-option.js'
import { intArg, portArg } from './options.js'
import { fitExamples } from './cli.js'

interface Args {
  host: string
  port: number
  'download-dir'?: string
  'api-key'?: string
  'api-key-file'?: string
  user?: string
  'password-file'?: string
  'allowed-host': string[]
  'peer-port'?: number
  peer: string[]
  'download-limit'?: string
  'upload-limit'?: string
  'max-peers': number
  encryption: string
  utp: boolean
  tcp: boolean
  dht: boolean
  'dht-port'?: number
  'dht-bootstrap'?: string
  'metadata-wait': number
  tracker: boolean
  'tracker-private': boolean
  'tracker-whitelist'?: string
  verbose: boolean
  db?: string
}

export const serveCommand: CommandModule<object, Args> = {
  command: 'serve',
  describe: 'Run a torrent daemon over HTTP: REST API, Transmission RPC, streaming, web UI',
  builder: (y: Argv) =>
    y
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (other than loopback needs credentials)' })
      .option('port', { default: 9091, coerce: portArg('port'), describe: 'HTTP port (0: any free port)' })
      .option('download-dir', { type: 'string', describe: 'default download directory (default: the saved one, else ~/Downloads)' })
      .option('api-key', { type: 'string', describe: 'API key (X-Api-Key header, ?apikey=, or Basic password)' })
      .option('api-key-file', { type: 'string', describe: 'read the API key from this file' })
      .option('user', { type: 'string', describe: 'user name for HTTP Basic auth (with --password-file)' })
      .option('password-file', { type: 'string', describe: 'read the Basic auth password from this file' })
      .option('allowed-host', { type: 'string', array: true, default: [], describe: 'accept this Host name (IPs and localhost always); repeatable' })
      .option('peer-port', { coerce: portArg('peer-port'), describe: 'BitTorrent listen port (default 6881, next free up to 6889, else any)' })
      .option('peer-bind', { type: 'string', array: true, requiresArg: true, describe: 'BitTorrent listen addresses (IPv4/IPv6, comma-separated; default: all interfaces, IPv4 and IPv6)' })
      .option('peer', { type: 'string', array: true, default: [], describe: 'every torrent also connects to this peer (host:port); repeatable' })
      .option('download-limit', { alias: 'D', type: 'string', describe: 'global download limit, e.g. 10M (bytes/s; saved, changeable over the API)' })
      .option('upload-limit', { alias: 'U', type: 'string', describe: 'global upload limit, e.g. 1M' })
      .option('max-peers', { default: 80, coerce: intArg('max-peers', 1, 10_000, 'a number of connections from 1 to 10000'), describe: 'connections per torrent' })
      .option('encryption', ENCRYPTION_OPTION)
      .option('utp', UTP_OPTION)
      .option('tcp', TCP_OPTION)
      .option('dht', { type: 'boolean', default: true, describe: 'use the DHT (--no-dht: trackers and given peers only)' })
      .option('dht-port', { coerce: intArg('dht-port', 1, 65535, 'a port number (1-65535)'), describe: 'UDP port of the DHT (default: the peer port)' })
      .option('dht-bootstrap', { type: 'string', describe: 'DHT bootstrap nodes host:port,… ("none" for none; default $BT_DHT_BOOTSTRAP or the public routers)' })
      .option('db', { type: 'string', describe: 'search index for /torznab/api, /api/v1/search, /graphql: SQLite file or postgres:// URL (default $BT_DB, else $XDG_DATA_HOME/bt/index.db)' })
      .option('tracker', { type: 'boolean', default: false, describe: 'also be a BitTorrent tracker: /announce, /scrape, /stats (state in $XDG_DATA_HOME/bt/tracker.db)' })
      .option('tracker-private', { type: 'boolean', default: false, describe: 'the tracker serves only registered torrents (POST /api/v1/tracker/torrents)' })
      .option('tracker-whitelist', { type: 'string', describe: 'the tracker serves only these: a directory of .torrent files or a file of hex info hashes' })
      .option('metadata-wait', { default: 60, coerce: intArg('metadata-wait', 0, 24 * 3600, 'a number of seconds (0: do not wait)'), describe: 'seconds a stream request waits for a magnet\'s metadata' })
      .example(fitExamples([
        ['$0 serve', 'http://127.0.0.1:9091, downloads to ~/Downloads'],
        ['$0 serve --host 0.0.0.0 --api-key-file KEYFILE', 'on the LAN, with a key'],
        ['transmission-remote 127.0.0.1:9091 -a URL', 'drive it as a Transmission daemon'],
      ])) as unknown as Argv<Args>,
  handler: async (raw) => {
    // A single-valued option given twice arrives as an array: the last one wins, as in most Unix tools.
    const args = Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) && !['allowed-host', 'allowedHost', 'peer', '_'].includes(k) ? v[v.length - 1] : v]),
    ) as unknown as typeof raw
    const { readFile } = await import('node:fs/promises')
    const { homedir } = await import('node:os')
    const { join, resolve } = await import('node:path')
    const { BtError, ExitCode, fromSystemError } = await import('../src/errors.js')
    const { startServe } = await import('../src/server/serve.js')
    const { bootstrapOption, peersOption } = await import('./session.js')
    const { bindArg, rateArg } = await import('./options.js')
    const sizeOption = (name: string, v: string | undefined) => (v === undefined ? undefined : rateArg(name)(v))

    const secret = async (path: string, what: string): Promise<string> => {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (err) {
        throw fromSystemError(err, `${what} ${path}`, ExitCode.usage)
      }
      const s = text.replace(/\r?\n$/, '')
      if (!s) throw new BtError(`${what} ${path} is empty`, ExitCode.usage)
      return s
    }
    if (args['api-key'] !== undefined && args['api-key-file'] !== undefined) throw new BtError('give --api-key or --api-key-file, not both', ExitCode.usage)
    if (args['api-key'] === '') throw new BtError('--api-key: empty key', ExitCode.usage)
    const apiKey = args['api-key-file'] !== undefined ? await secret(args['api-key-file'], '--api-key-file') : args['api-key']
    if ((args.user === undefined) !== (args['password-file'] === undefined)) throw new BtError('--user and --password-file go together', ExitCode.usage)
    const password = args['password-file'] !== undefined ? await secret(args['password-file'], '--password-file') : undefined
    const log = (l: string) => process.stderr.write(`bt serve: ${l}\n`)
    if (!args.tracker && (args['tracker-private'] || args['tracker-whitelist'] !== undefined)) {
      throw new BtError('--tracker-private and --tracker-whitelist go with --tracker', ExitCode.usage)
    }
    // The tracker shares bt serve's HTTP port and auth layer: announces and scrapes are public (clients send no
    // keys), registering torrents is behind the API key.
    const tracker = args.tracker ? await (await import('./serve-tracker.js')).startServeTracker(args['tracker-private'], args['tracker-whitelist'], log) : undefined
    const server = await startServe({
      host: args.host,
      port: args.port,
      downloadDir: args['download-dir'] !== undefined ? resolve(args['download-dir']) : undefined,
      fallbackDownloadDir: join(homedir(), 'Downloads'),
      auth: { apiKey, user: args.user, password, allowedHosts: args['allowed-host'].map((h) => h.toLowerCase().replace(/\.$/, '')) },
      client: {
        port: args['peer-port'],
        hosts: bindArg(args['peer-bind'], 'peer-bind'),
        dht: args.dht ? { port: args['dht-port'], bootstrap: bootstrapOption(args['dht-bootstrap']) } : false,
        downloadLimit: sizeOption('download-limit', args['download-limit']),
        uploadLimit: sizeOption('upload-limit', args['upload-limit']),
        maxPeersPerTorrent: args['max-peers'],
        encryption: encryptionOption(args.encryption),
        ...transportOptions(args.utp, args.tcp),
      },
      peers: peersOption(args.peer),
      verbose: args.verbose,
      metadataWaitMs: args['metadata-wait'] * 1000,
      log,
      plugins: [...(tracker?.plugins ?? []), ...(await import('../src/server/search/index.js')).searchPlugins(args.db)],
    }).catch(async (err) => {
      await tracker?.close()
      throw err
    })
    // Limits given on the command line become the saved global settings.
    const lim: { downloadLimit?: number; uploadLimit?: number } = {}
    if (args['download-limit'] !== undefined) lim.downloadLimit = sizeOption('download-limit', args['download-limit']) ?? 0
    if (args['upload-limit'] !== undefined) lim.uploadLimit = sizeOption('upload-limit', args['upload-limit']) ?? 0
    if (Object.keys(lim).length) server.daemon.setSettings(lim)

    process.stdout.write(`${server.url}\n`)
    log(`listening on ${server.url} (peer port ${server.daemon.client.port()}, ${server.daemon.entries.size} torrents, downloads to ${server.daemon.settings.downloadDir})`)
    await new Promise<void>((done) => {
      let stopping = false
      const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) process.exit(ExitCode.interrupted)
        stopping = true
        log(`${sig}: stopping`)
        const hard = setTimeout(() => process.exit(ExitCode.interrupted), 10_000)
        hard.unref()
        server.close().then(() => tracker?.close()).finally(() => {
          clearTimeout(hard)
          process.exitCode = sig === 'SIGINT' ? ExitCode.interrupted : 0
          done()
          // Sockets of peers that are still closing must not keep a stopped daemon alive.
          setTimeout(() => process.exit(), 200).unref()
        })
      }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      // transmission-remote --exit (session-close): the server closes itself; then exit as after SIGTERM.
      void server.closed.then(async () => {
        if (stopping) return
        stopping = true
        await tracker?.close()
        done()
        setTimeout(() => process.exit(), 200).unref()
      })
    })
  },
}
