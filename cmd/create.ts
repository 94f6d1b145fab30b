// `bt create PATH`: make a torrent of a file or directory, with a progress bar while hashing.

import type { Argv, CommandModule } from 'yargs'
import cliProgress from 'cli-progress'
import { BtError, ExitCode } from '../src/errors.js'
import { createTorrent } from '../src/metainfo/create.js'
import { parseTorrent } from '../src/metainfo/metainfo.js'
import { formatBytes, parseSize } from '../src/format.js'
import { info, stderrIsTTY, writeOutput } from './cli.js'

interface Args {
  path: string
  output?: string
  tracker: string[]
  'piece-length': string
  private: boolean
  comment?: string
  'web-seed': string[]
  name?: string
  source?: string
  date: boolean
  quiet: boolean
}

function pieceLengthArg(s: string): number | 'auto' {
  if (s === 'auto') return 'auto'
  // mktorrent-style exponent (18 = 256 KiB) or a size (256k, 1M, 262144).
  const n = /^\d{1,2}$/.test(s) && Number(s) <= 30 ? 2 ** Number(s) : parseSize(s)
  if (n === undefined || n < 16384 || (n & (n - 1)) !== 0) {
    throw new BtError(`--piece-length: "${s}" is not auto or a power of two of at least 16k`, ExitCode.usage)
  }
  return n
}

export const createCommand: CommandModule<object, Args> = {
  command: 'create <path>',
  describe: 'Make a torrent of a file or directory',
  builder: (y: Argv) =>
    y
      .positional('path', { type: 'string', demandOption: true, describe: 'file or directory' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the torrent here (default NAME.torrent; - for stdout)' })
      .option('tracker', { alias: 't', type: 'string', array: true, default: [], describe: 'tracker URL; repeat for more tiers, comma-separate URLs of one tier' })
      .option('piece-length', { alias: 'l', type: 'string', default: 'auto', describe: 'auto, a size (256k, 1M) or a power of two exponent (18)' })
      .option('private', { alias: 'p', type: 'boolean', default: false, describe: 'set the private flag (no DHT/PEX)' })
      .option('comment', { alias: 'c', type: 'string', describe: 'comment' })
      .option('web-seed', { alias: 'w', type: 'string', array: true, default: [], describe: 'web seed URL (BEP 19)' })
      .option('name', { alias: 'n', type: 'string', describe: 'torrent name (default: the file or directory name)' })
      .option('source', { type: 'string', describe: 'info source tag (changes the info hash)' })
      .option('date', { type: 'boolean', default: true, describe: 'include the creation date (--no-date for reproducible output)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress' })
      .example('$0 create ./album -t http://tracker.example/announce', 'writes album.torrent') as unknown as Argv<Args>,
  handler: async (args) => {
    const pieceLength = pieceLengthArg(args['piece-length'])
    const showBar = stderrIsTTY() && !args.quiet
    const bar = showBar
      ? new cliProgress.SingleBar({ format: 'hashing [{bar}] {percentage}% {done}/{size}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      : undefined
    let started = false
    const torrent = await createTorrent(args.path, {
      name: args.name,
      pieceLength,
      trackers: args.tracker.map((t) => t.split(',').map((u) => u.trim()).filter(Boolean)),
      webSeeds: args['web-seed'],
      private: args.private,
      comment: args.comment,
      source: args.source,
      creationDate: args.date ? undefined : null,
      onProgress: (done, total) => {
        if (!bar) return
        if (!started) {
          bar.start(total, 0, { size: formatBytes(total), done: formatBytes(0) })
          started = true
        }
        bar.update(done, { done: formatBytes(done) })
      },
    })
    bar?.stop()
    const m = parseTorrent(torrent, 'created torrent')
    await writeOutput(args.output ?? `${m.name}.torrent`, torrent)
    if (!args.quiet) info(`${m.name}: ${m.infoHash}, ${formatBytes(m.length)} in ${m.pieceCount} pieces of ${formatBytes(m.pieceLength)}`)
  },
}
