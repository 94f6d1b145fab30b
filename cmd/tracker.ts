// `bt tracker`: a standalone HTTP + UDP BitTorrent tracker with state saved to disk, /stats and a private mode.
// Prints its announce URLs on stdout (one a line, or one JSON object), logs on stderr, saves and exits on a signal.

import type { Argv, CommandModule } from 'yargs'
import { BtError, ExitCode, systemText } from '../src/errors.js'
import { fitExamples, info, out } from './cli.js'

interface Args {
  host?: string[]
  'http-port': number
  'udp-port': number
  state?: string
  memory: boolean
  interval: number
  'peer-timeout': number
  'numwant-max': number
  'max-swarm-peers': number
  'rate-limit': number
  private: boolean
  whitelist?: string
  'full-scrape'?: boolean
  'allow-ip-param': boolean
  json: boolean
  workers?: number
  'send-thread'?: boolean
}

export const trackerCommand: CommandModule<object, Args> = {
  command: 'tracker',
  describe: 'Run a BitTorrent tracker (HTTP and UDP) with saved state, /stats and a private mode',
  builder: (y: Argv) =>
    y
      .option('host', { type: 'string', array: true, defaultDescription: '127.0.0.1', describe: 'address or host name to listen on (a name: all its addresses; repeat for several, e.g. --host 127.0.0.1 --host ::1)' })
      .option('http-port', { type: 'number', default: 6969, describe: 'HTTP port (0: any free port, -1: no HTTP)' })
      .option('udp-port', { type: 'number', default: 6969, describe: 'UDP port (0: any free port, -1: no UDP)' })
      .option('state', { type: 'string', describe: 'SQLite file for swarms, completed counts and registrations (default $XDG_DATA_HOME/bt/tracker.db)' })
      .option('memory', { type: 'boolean', default: false, describe: 'keep no state on disk' })
      .option('interval', { type: 'number', default: 900, describe: 'seconds between announces asked of clients' })
      .option('peer-timeout', { type: 'number', default: 1800, describe: 'seconds after its last announce that a peer is dropped' })
      .option('numwant-max', { type: 'number', default: 200, describe: 'most peers returned by one announce' })
      .option('max-swarm-peers', { type: 'number', default: 10000, describe: 'peers kept per torrent (the least recently seen go first)' })
      .option('rate-limit', { type: 'number', default: 50, describe: 'announces and scrapes per second per IP, bursts of 4x (0: no limit)' })
      .option('private', { type: 'boolean', default: false, describe: 'serve registered torrents only (--whitelist, or the API of bt serve)' })
      .option('whitelist', { type: 'string', describe: 'registered torrents: a directory of .torrent files or a file of hex info hashes (re-read on change); implies --private' })
      .option('full-scrape', { type: 'boolean', describe: 'allow a scrape without info_hash (default: on unless private)' })
      .option('allow-ip-param', { type: 'boolean', default: false, describe: 'honour the ip= announce parameter (only behind a trusted proxy)' })
      .option('workers', { type: 'number', describe: 'threads for UDP I/O beside the swarm thread (default: none with batched UDP I/O, CPUs - 1 with dgram, at most 4)' })
      .option('send-thread', { type: 'boolean', describe: 'with --workers 0: send UDP replies from a native thread of their own (default: on with more than one CPU; --no-send-thread: off)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the listening addresses as one JSON object' })
      .example(fitExamples([
        ['$0 tracker', 'open tracker on 127.0.0.1:6969 (HTTP and UDP)'],
        ['$0 tracker --host 0.0.0.0 --whitelist DIR', 'private tracker for the .torrent files in DIR'],
      ]))
      .check((a) => {
        for (const [k, min] of [['interval', 1], ['peer-timeout', 1], ['numwant-max', 0], ['max-swarm-peers', 1], ['rate-limit', 0]] as const) {
          if (!Number.isInteger(a[k]) || a[k] < min) throw new BtError(`--${k} must be an integer >= ${min}`, ExitCode.usage)
        }
        for (const k of ['http-port', 'udp-port'] as const) {
          if (!Number.isInteger(a[k]) || a[k] < -1 || a[k] > 65535) throw new BtError(`--${k} must be a port number (0 any, -1 off)`, ExitCode.usage)
        }
        if (a.workers !== undefined && (!Number.isInteger(a.workers) || a.workers < 0 || a.workers > 64)) throw new BtError('--workers must be an integer from 0 to 64', ExitCode.usage)
        if (a['http-port'] < 0 && a['udp-port'] < 0) throw new BtError('nothing to serve: both --http-port and --udp-port are -1', ExitCode.usage)
        return true
      }) as unknown as Argv<Args>,
  handler: async (args) => {
    const { startTracker } = await import('../src/tracker/service.js')
    const { resolveListenHosts } = await import('../src/tracker/hosts.js')
    const { isLoopbackHost } = await import('../src/discovery/peer-address.js')
    const { stateDir } = await import('../src/storage/resume.js')
    const { join } = await import('node:path')
    // No yargs default: an array option's default would quietly fill a --host given without a value.
    // Host names become their addresses here (UDP binds addresses), so the check below sees where it really listens.
    const hosts = await resolveListenHosts((args.host ?? ['127.0.0.1']).flatMap((h) => String(h).split(',')))
    const isPrivate = args.private || Boolean(args.whitelist)
    for (const h of hosts) {
      // An open tracker on a public address is a legitimate service, but it should be a decision: say so.
      if (!isLoopbackHost(h)) info(`bt tracker: listening on ${h}, reachable from other machines${isPrivate ? '' : ', as an OPEN tracker (any info hash; use --private/--whitelist to restrict it)'}`)
    }
    const statePath = args.memory ? undefined : (args.state ?? join(stateDir(), 'tracker.db'))
    const svc = await startTracker({
      hosts,
      httpPort: args['http-port'],
      udpPort: args['udp-port'],
      statePath,
      interval: args.interval,
      peerTimeout: args['peer-timeout'],
      numwantMax: args['numwant-max'],
      maxSwarmPeers: args['max-swarm-peers'],
      rateLimit: args['rate-limit'],
      private: isPrivate,
      whitelist: args.whitelist,
      fullScrape: args['full-scrape'],
      allowIpParam: args['allow-ip-param'],
      udpWorkers: args.workers ?? 'auto',
      udpSendThread: args['send-thread'],
      log: info,
    })
    const url = (scheme: string, a: { address: string; port: number; family: string }) =>
      `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/announce`
    const httpUrls = svc.http.map((s) => url('http', s.address))
    const udpUrls = svc.udp.map((s) => url('udp', s.address))
    if (args.json) {
      out(JSON.stringify({ event: 'listening', http: httpUrls, udp: udpUrls, stats: svc.http.map((s) => url('http', s.address).replace(/announce$/, 'stats')), state: statePath ?? null, private: isPrivate, registered: svc.tracker.registered.size, restored: svc.restored }))
    } else {
      for (const u of [...httpUrls, ...udpUrls]) out(u)
      const r = svc.restored
      info(`bt tracker: ${isPrivate ? `private, ${svc.tracker.registered.size} registered torrents` : 'open'}; state ${statePath ?? 'in memory only'}${r.peers ? ` (restored ${r.peers} peers in ${r.swarms} torrents)` : ''}`)
    }
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(ExitCode.interrupted)
      stopping = true
      const hard = setTimeout(() => process.exit(ExitCode.io), 15_000)
      svc.close().then(
        () => { clearTimeout(hard); process.exit(signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.ok) },
        (err) => { clearTimeout(hard); info(`bt tracker: ${systemText(err)}`); process.exit(ExitCode.io) },
      )
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    await new Promise(() => {})
  },
}
