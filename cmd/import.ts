// `bt import FILE|DIR|-…`: add torrents to the search index from bitmagnet NDJSON, magnet links and .torrent files.

import type { Argv, CommandModule } from 'yargs'
import { fitExamples, info, out, stderrIsTTY } from './cli.js'

interface Args {
  inputs: string[]
  db?: string
  json: boolean
  quiet: boolean
  'batch-size'?: number
  jobs?: number
}

/** Warnings past this many are counted, not printed (a broken 1 GB file must not bury the summary). */
const MAX_WARNINGS = 100

export const dbOption = { type: 'string', describe: 'index: SQLite file or postgres://… URL (default $BT_DB, else $XDG_DATA_HOME/bt/index.db)' } as const

export const importCommand: CommandModule<object, Args> = {
  command: 'import [inputs..]',
  describe: 'Add torrents to the search index: NDJSON (bitmagnet format), magnet links, .torrent files or directories; - for stdin',
  builder: (y: Argv) =>
    y
      .positional('inputs', { type: 'string', array: true, default: [], describe: 'NDJSON or magnet-list file, .torrent file, directory of .torrent files, or - for stdin' })
      .option('db', dbOption)
      .option('batch-size', { type: 'number', describe: 'records per transaction (default: batches of 500, several to a transaction of up to 20000 records or 2 s)' })
      .option('jobs', { alias: 'j', type: 'number', describe: 'threads that parse, classify and encode records while the main thread writes (0: none; default cores − 1, at most 4)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON on stdout' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress, warnings or summary on stderr' })
      .example(fitExamples([
        ['$0 import bitmagnet-export.ndjson', 'import a bitmagnet export'],
        ['$0 import ~/torrents/', 'import every .torrent under a directory'],
        ['zcat dump.ndjson.gz | $0 import -', 'import from stdin'],
      ])) as unknown as Argv<Args>,
  handler: async (args) => {
    const { BtError, ExitCode } = await import('../src/errors.js')
    const { openIndex } = await import('../src/index/open.js')
    const { importInputs } = await import('../src/index/import/index.js')
    const { formatBytes } = await import('../src/format.js')
    // yargs drops a lone "-" from a variadic positional (or makes it ""): find it in the raw arguments.
    const inputs = args.inputs.map(String).filter((s) => s !== '')
    if (process.argv.slice(2).includes('-') && !inputs.includes('-')) inputs.push('-')
    if (inputs.length === 0) throw new BtError('give a file, directory or - for stdin (bt import --help)', ExitCode.usage)
    const batch = args['batch-size']
    if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 100_000)) {
      throw new BtError('--batch-size: give a whole number from 1 to 100000', ExitCode.usage)
    }
    if (args.jobs !== undefined && (!Number.isInteger(args.jobs) || args.jobs < 0 || args.jobs > 64)) {
      throw new BtError('--jobs: give a whole number from 0 to 64', ExitCode.usage)
    }
    const store = await openIndex(args.db)
    const started = Date.now()
    let warnings = 0
    let bar: import('cli-progress').SingleBar | undefined
    if (stderrIsTTY() && !args.quiet) {
      const cliProgress = (await import('cli-progress')).default
      bar = new cliProgress.SingleBar({
        format: '{input} [{bar}] {pct} {records} torrents, {rate}/s, {added} added, {updated} updated, {rejected} rejected',
        stream: process.stderr, hideCursor: true, fps: 4, barsize: 20,
      }, cliProgress.Presets.shades_classic)
      bar.start(1, 0, { input: '', pct: '', records: 0, rate: 0, added: 0, updated: 0, rejected: 0 })
    }
    const onWarning = (where: string, reason: string) => {
      if (args.quiet) return
      if (++warnings > MAX_WARNINGS) return
      const line = `bt import: ${where}: ${reason}`
      if (bar) {
        // Print above the bar: clear its line, write, and let it redraw.
        process.stderr.write('\r\x1b[K' + line + '\n')
        bar.render()
      } else {
        info(line)
      }
    }
    let summary
    try {
      summary = await importInputs(inputs, store, {
        batchSize: args['batch-size'],
        workers: args.jobs,
        onWarning,
        onProgress: (p) => {
          if (!bar) return
          const records = p.added + p.updated + p.rejected
          const secs = Math.max(0.001, (Date.now() - started) / 1000)
          const frac = p.bytesTotal ? Math.min(1, p.bytesRead / p.bytesTotal) : 0
          bar.update(frac, {
            input: p.input.length > 30 ? '…' + p.input.slice(-29) : p.input,
            pct: p.bytesTotal ? `${(100 * frac).toFixed(0)}% of ${formatBytes(p.bytesTotal)}` : '',
            records, rate: Math.round(records / secs), added: p.added, updated: p.updated, rejected: p.rejected,
          })
        },
      })
    } finally {
      bar?.stop()
      await store.close()
    }
    const secs = (Date.now() - started) / 1000
    const total = summary.added + summary.updated + summary.rejected
    if (args.json) out(JSON.stringify({ ...summary, seconds: Math.round(secs * 1000) / 1000 }))
    if (!args.quiet) {
      if (warnings > MAX_WARNINGS) info(`bt import: … and ${warnings - MAX_WARNINGS} more bad records`)
      info(`${summary.added} added, ${summary.updated} updated, ${summary.rejected} rejected in ${secs.toFixed(1)} s (${Math.round(total / Math.max(secs, 0.001))}/s) into ${store.location}`)
    }
  },
}
