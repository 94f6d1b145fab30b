// `torrentfs`: mount the torrents of a metainfo directory as a read-only file system; reads fetch what they need,
// with readahead. Flags follow anacrolix's torrentfs (-mountDir …) and also take the --kebab-case forms.

import { readdir, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import yargs, { hideBin } from './yargs.js'
import { BtError, ExitCode, errorMessage } from '../src/errors.js'
import { parseSize } from '../src/format.js'
import type { PeerAddress } from '../src/discovery/peer-address.js'
import type { TorrentProvider } from '../src/fs/provider.js'
import { die, helpWidth, makeDirectory, info, packageVersion, requireValues, setVerbose, verbose, warnLine, yargsFail } from './cli.js'
import { intArg, portArg } from './options.js'
import { longFlags } from './torrentfs-args.js'
import { ENCRYPTION_OPTION, encryptionOption } from './encryption-option.js'
import { TCP_OPTION, UTP_OPTION, transportOptions } from './transport-option.js'

const PROG = 'torrentfs'

export interface TorrentfsArgs {
  mountDir: string
  metainfoDir: string
  downloadDir: string
  /** Bytes. */
  readahead: number
  port?: number
  upload: boolean
  verbose: boolean
  fuseDebug: boolean
  peers: PeerAddress[]
  trackers: string[]
  dht: boolean
  dhtPort?: number
  dhtBootstrap?: string
  encryption?: 'prefer' | 'require' | 'off'
  utp: boolean
  tcp: boolean
}

function warn(line: string): void {
  warnLine(PROG, line)
}


/** Where torrents come from: a session Client in stream mode (reads drive what is fetched). */
export async function createProvider(args: TorrentfsArgs): Promise<TorrentProvider> {
  const { Client } = await import('../src/session/client.js')
  const { ClientTorrentProvider } = await import('../src/fs/client-provider.js')
  const { bootstrapOption } = await import('./session.js')
  const client = new Client({
    port: args.port ?? 0,
    upload: args.upload,
    dht: args.dht ? { port: args.dhtPort, bootstrap: bootstrapOption(args.dhtBootstrap) } : false,
    encryption: args.encryption,
    utp: args.utp,
    tcp: args.tcp,
  })
  client.on('warning', (m: string) => warn(m))
  await client.listen()
  return new ClientTorrentProvider(client, {
    downloadDir: args.downloadDir,
    peers: args.peers,
    trackers: args.trackers.map((u) => [u]),
    onWarning: verbose ? (m) => warn(m) : undefined,
  })
}

async function parseArgs(argv: string[]): Promise<TorrentfsArgs> {
  // Every option that takes a value refuses to be given none (`-metainfoDir` alone must not mean the current directory).
  const parser = requireValues(yargs(longFlags(argv))
    .scriptName(PROG)
    // anacrolix spells its flags -mountDir; without this yargs would read that as -m -o -u -n …
    .parserConfiguration({ 'short-option-groups': false })
    .usage('$0 -mountDir DIR -metainfoDir DIR [-downloadDir DIR] [options]\n\nMount the torrents of a directory of .torrent and .magnet files as a read-only file system.')
    .option('mountDir', { alias: 'mount-dir', type: 'string', demandOption: 'give -mountDir (where to mount)', describe: 'where to mount (an existing directory)' })
    .option('metainfoDir', { alias: 'metainfo-dir', type: 'string', demandOption: 'give -metainfoDir (the directory of .torrent files)', describe: 'directory of .torrent and .magnet files, watched for changes' })
    .option('downloadDir', { alias: 'download-dir', type: 'string', default: '.', describe: 'where torrent data is stored' })
    .option('readahead', { alias: 'readaheadBytes', type: 'string', default: '64M', describe: 'largest readahead window per open file (e.g. 16M)' })
    .option('port', { requiresArg: true, coerce: portArg('port'), describe: 'peer listen port (default: any free port)' })
    .option('upload', { type: 'boolean', default: true, describe: 'upload to peers (--no-upload: download only)' })
    .option('peer', { type: 'string', array: true, default: [], describe: 'connect to this peer (host:port) for every torrent; repeatable' })
    .option('tracker', { alias: 't', type: 'string', array: true, default: [], describe: 'extra tracker URL for every torrent; repeatable' })
    .option('dht', { type: 'boolean', default: true, describe: 'use the DHT (--no-dht to disable)' })
    .option('dht-port', { requiresArg: true, coerce: intArg('dht-port', 1, 65535, 'a port number (1-65535)'), describe: 'UDP port of the DHT (default: the listen port)' })
    .option('dht-bootstrap', { type: 'string', describe: 'DHT bootstrap nodes host:port,… (default: the public routers, or $BT_DHT_BOOTSTRAP; "none" for none)' })
    .option('encryption', { ...ENCRYPTION_OPTION, requiresArg: true })
    .option('utp', UTP_OPTION)
    .option('tcp', TCP_OPTION)
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'log torrents and failed reads; stack traces on errors' })
    .option('fuse-debug', { type: 'boolean', default: false, hidden: true }))
    .strict()
    .version(packageVersion())
    .help()
    .alias('help', 'h')
    .wrap(helpWidth())
    .epilogue('Exit codes: 0 ok, 1 internal error, 2 bad usage or FUSE missing, 3 network, 4 file system, 130 interrupted.\nSee man torrentfs.')
    .fail(yargsFail)
  const a = await parser.parseAsync()
  const { DEFAULT_READAHEAD } = await import('../src/stream/reader.js')
  const { parsePeerAddress } = await import('../src/discovery/peer-address.js')
  const { trackerUrlProblem } = await import('../src/discovery/tracker-url.js')
  const readahead = parseSize(String(a.readahead))
  if (readahead === undefined) throw new BtError(`--readahead: "${a.readahead}" is not a size (e.g. 16M)`, ExitCode.usage)
  return {
    mountDir: resolve(a.mountDir),
    metainfoDir: resolve(a.metainfoDir),
    downloadDir: resolve(a.downloadDir),
    readahead: readahead ?? DEFAULT_READAHEAD,
    port: a.port as number | undefined,
    upload: a.upload,
    peers: (a.peer as string[]).flatMap((x) => x.split(',')).filter(Boolean).map((x) => {
      const p = parsePeerAddress(x.trim())
      if (!p) throw new BtError(`--peer: "${x}" is not host:port`, ExitCode.usage)
      return p
    }),
    trackers: (a.tracker as string[]).map((u) => {
      const why = trackerUrlProblem(u)
      if (why) throw new BtError(`--tracker: "${u}": ${why}`, ExitCode.usage)
      return u
    }),
    dht: a.dht as boolean,
    dhtPort: a['dht-port'] as number | undefined,
    dhtBootstrap: a['dht-bootstrap'] as string | undefined,
    encryption: encryptionOption(a.encryption === undefined ? undefined : String(a.encryption)),
    ...transportOptions(a.utp, a.tcp),
    verbose: a.verbose,
    fuseDebug: a['fuse-debug'] as boolean,
  }
}

export async function main(argv: string[]): Promise<void> {
  setVerbose(argv.includes('--verbose') || argv.includes('-v') || argv.includes('-verbose'))
  const args = await parseArgs(argv)
  const { loadFuse, isMountPoint } = await import('../src/fs/fuse.js')
  loadFuse() // before anything else: without FUSE, say what to install
  const st = await stat(args.metainfoDir).catch(() => undefined)
  if (!st?.isDirectory()) throw new BtError(`${args.metainfoDir}: no such directory`, ExitCode.usage)
  await makeDirectory(args.downloadDir)
  // libfuse refuses a non-empty mount point with advice to pass `nonempty`, an option torrentfs does not offer:
  // hiding files under a mount is how data gets lost. Say so in our words before trying.
  const inMount = isMountPoint(args.mountDir) ? [] : await readdir(args.mountDir).catch(() => [] as string[])
  if (inMount.length > 0) {
    throw new BtError(`${args.mountDir}: not empty (${inMount.length} entries); torrentfs mounts only on an empty directory`, ExitCode.usage)
  }
  const { TorrentFS } = await import('../src/fs/torrentfs.js')
  const { MetainfoWatcher } = await import('../src/fs/watcher.js')
  const { execFileSync } = await import('node:child_process')

  const log = verbose ? (line: string) => info(line) : undefined
  const provider = await createProvider(args)
  const fs = new TorrentFS(args.mountDir, { readahead: args.readahead, log, debug: args.fuseDebug })
  const watcher = new MetainfoWatcher(args.metainfoDir, provider, fs, {
    log,
    onError: (path, err) => warn(errorMessage(err).startsWith(path) ? errorMessage(err) : `${path}: ${errorMessage(err)}`),
  })

  let stopping = false
  const shutdown = async (code: number) => {
    if (stopping) process.exit(code) // a second signal: stop waiting
    stopping = true
    setTimeout(() => process.exit(code), 10_000).unref()
    try {
      await fs.unmount()
      await watcher.stop()
      await provider.close()
    } catch (err) {
      die(PROG, err)
    }
    process.exit(code)
  }
  process.on('SIGINT', () => void shutdown(ExitCode.interrupted))
  process.on('SIGTERM', () => void shutdown(ExitCode.ok))
  process.on('SIGHUP', () => void shutdown(ExitCode.ok))
  // Whatever kills us from inside: leave no mount behind (autoUnmount covers a hard kill).
  const fatal = (err: unknown) => {
    if (fs.mounted) {
      try {
        execFileSync('fusermount', ['-uz', args.mountDir], { stdio: 'ignore' })
      } catch {}
    }
    die(PROG, err)
  }
  process.on('uncaughtException', fatal)
  process.on('unhandledRejection', fatal)

  await fs.mount()
  info(`${PROG}: mounted ${args.metainfoDir} at ${args.mountDir}`)
  await watcher.start()
}

main(hideBin(process.argv)).catch((err) => die(PROG, err))
