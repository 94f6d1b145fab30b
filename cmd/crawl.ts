// `bt crawl`: run the DHT crawler (src/crawl) into the search index, with a live dashboard on a terminal, a JSON
// stats object every 10 s with --json, or a status line a minute on stderr.

import { join } from 'node:path'
import { homedir } from 'node:os'
import type { Argv, CommandModule } from 'yargs'
import { BtError, ExitCode, systemText } from '../src/errors.js'
import type { IndexWriter } from '../src/index/types.js'
import { fitExamples, info, out, stderrIsTTY } from './cli.js'

interface Args {
  db?: string
  port?: number
  'dht-bootstrap'?: string
  nodes: number
  workers: boolean
  rate: number
  'metadata-concurrency': number
  duration?: string
  'state-dir'?: string
  json: boolean
  quiet: boolean
}

export const crawlCommand: CommandModule<object, Args> = {
  command: 'crawl',
  describe: 'Crawl the DHT for torrents (BEP 51 samples, BEP 9 metadata) into the search index',
  builder: (y: Argv) =>
    y
      .option('db', { type: 'string', describe: 'index: SQLite file or postgres:// URL (default $BT_DB, else $XDG_DATA_HOME/bt/index.db)' })
      .option('port', { alias: 'p', type: 'number', describe: 'UDP port of the first DHT identity (the others take the next ones; default any)' })
      .option('dht-bootstrap', { type: 'string', describe: 'bootstrap nodes host:port,… (default: the public routers, or $BT_DHT_BOOTSTRAP; "none" for the saved nodes only)' })
      .option('nodes', { type: 'number', default: 1, describe: 'DHT identities to run (distinct ids and ports)' })
      .option('workers', { type: 'boolean', default: false, describe: 'run each of the --nodes identities on a worker thread of its own (a shard of the keyspace each)' })
      .option('rate', { type: 'number', default: 250, describe: 'DHT queries per second, all identities together' })
      .option('metadata-concurrency', { type: 'number', default: 64, describe: 'metadata fetches at a time' })
      .option('duration', { type: 'string', describe: 'stop after this long (e.g. 90s, 30m, 2h); default: until Ctrl-C' })
      .option('state-dir', { type: 'string', describe: 'where node ids, routing table and seen-filter are kept (default $XDG_DATA_HOME/bt/crawl)' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON stats object every 10 s on stdout' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing but errors' })
      .example(fitExamples([
        ['$0 crawl', 'crawl into the default index with a live dashboard'],
        ['$0 crawl --db postgres://db/bt --nodes 4', 'one of several crawlers sharing a PostgreSQL index'],
        ['$0 crawl --duration 2h --json', 'two hours, with JSON progress events'],
      ])) as unknown as Argv<Args>,
  handler: async (args) => {
    const { Crawler } = await import('../src/crawl/crawler.js')
    const { parseDuration, resolveBootstrap } = await import('../src/crawl/options.js')
    const { statusLine } = await import('../src/crawl/format-stats.js')
    const { DEFAULT_DHT_BOOTSTRAP } = await import('../src/discovery/dht.js')
    const { bootstrapOption } = await import('./session.js')

    const int = (name: string, v: number, min: number, max: number) => {
      if (!Number.isInteger(v) || v < min || v > max) throw new BtError(`--${name}: give a whole number from ${min} to ${max}`, ExitCode.usage)
      return v
    }
    int('nodes', args.nodes, 1, 64)
    if (!(args.rate > 0 && args.rate <= 100_000)) throw new BtError('--rate: give queries per second, from 1 to 100000', ExitCode.usage)
    int('metadata-concurrency', args['metadata-concurrency'], 1, 1000)
    if (args.port !== undefined) int('port', args.port, 0, 65535 - args.nodes + 1)
    let durationS: number | undefined
    if (args.duration !== undefined) {
      durationS = parseDuration(args.duration)
      if (durationS === undefined || durationS <= 0) throw new BtError(`--duration: "${args.duration}" is not a duration such as 90s, 30m or 2h`, ExitCode.usage)
    }
    const mode = args.quiet ? 'quiet' : args.json ? 'json' : stderrIsTTY() ? 'dashboard' : 'lines'
    const warn = (msg: string) => { if (mode === 'lines') info(`bt crawl: ${msg}`) }

    const boot = bootstrapOption(args['dht-bootstrap'])
    const bootstrap = boot === false ? [] : await resolveBootstrap(boot ?? DEFAULT_DHT_BOOTSTRAP, warn)
    const stateDir = args['state-dir'] ?? join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'bt', 'crawl')

    let index: IndexWriter
    try {
      const { openIndex } = await import('../src/index/open.js')
      index = await openIndex(args.db)
    } catch (err) {
      if (err instanceof BtError) throw err
      throw new BtError(`cannot open the index${args.db ? ` ${args.db}` : ''}: ${systemText(err)}`, ExitCode.io)
    }

    const { CrawlerPool } = await import('../src/crawl/crawler-pool.js')
    const opts = {
      index,
      bootstrap,
      port: args.port,
      identities: args.nodes,
      rate: args.rate,
      metadataConcurrency: args['metadata-concurrency'],
      stateDir,
    }
    const crawler = args.workers && args.nodes > 1 ? new CrawlerPool(opts) : new Crawler(opts)
    crawler.on('warning', warn)
    try {
      await crawler.start()
    } catch (err) {
      await index.close().catch(() => {})
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' || code === 'EACCES') throw new BtError(`cannot bind UDP port ${args.port}: ${systemText(err)}`, ExitCode.network)
      throw err
    }

    if (bootstrap.length === 0 && crawler.stats().routingTable === 0 && mode !== 'quiet') {
      info('bt crawl: no bootstrap nodes and no saved nodes: it will wait for other nodes to find it')
    }

    let unmount: (() => void) | undefined
    let lineTimer: NodeJS.Timeout | undefined
    if (mode === 'dashboard') {
      const { showDashboard } = await import('./crawl-dashboard.js')
      unmount = showDashboard(() => crawler.stats(), { rate: args.rate, db: args.db ?? process.env.BT_DB ?? 'default index' })
    } else if (mode === 'json') {
      lineTimer = setInterval(() => out(JSON.stringify({ event: 'stats', ...crawler.stats() })), 10_000)
    } else if (mode === 'lines') {
      info(`bt crawl: ${args.nodes} DHT identit${args.nodes === 1 ? 'y' : 'ies'}, ${args.rate} queries/s, state in ${stateDir}`)
      lineTimer = setInterval(() => info(`bt crawl: ${statusLine(crawler.stats())}`), 60_000)
    }

    let stopping: Promise<void> | undefined
    const stop = (code: number) => {
      if (stopping) process.exit(code)
      clearInterval(lineTimer)
      const hard = setTimeout(() => process.exit(code), 15_000)
      stopping = (async () => {
        await crawler.stop()
        unmount?.()
        if (mode === 'json') out(JSON.stringify({ event: 'stopped', ...crawler.stats() }))
        else if (mode === 'lines') info(`bt crawl: stopped: ${statusLine(crawler.stats())}`)
        await index.close().catch(() => {})
      })().finally(() => {
        clearTimeout(hard)
        process.exit(code)
      })
    }
    process.once('SIGINT', () => stop(ExitCode.interrupted))
    process.once('SIGTERM', () => stop(ExitCode.interrupted))
    if (durationS !== undefined) setTimeout(() => stop(ExitCode.ok), durationS * 1000)
    await new Promise<never>(() => {})
  },
}
