// `bt create PATH`: make a torrent of a file or directory, with a progress line while hashing.
// Everything is checked (piece length, tracker and web seed URLs, the output file) before hashing starts.

import { stat } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { BtError, ExitCode } from '../src/errors.js'
import { formatBytes, parseSize } from '../src/format.js'
import { examples, info, stderrIsTTY, writeOutput } from './cli.js'

interface Args {
  path: string
  output?: string
  force: boolean
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

/** -t values: each is one tier of comma-separated URLs, every one of them a tracker bt could announce to. */
async function trackerTiers(values: string[]): Promise<string[][]> {
  const { trackerUrlProblem } = await import('../src/discovery/tracker-url.js')
  return values.map((v) => v.split(',').map((u) => {
    const why = trackerUrlProblem(u.trim())
    if (why) throw new BtError(`--tracker: "${u}": ${why}`, ExitCode.usage)
    return u.trim()
  }))
}

function webSeedArg(u: string): string {
  let url: URL | undefined
  try {
    url = new URL(u)
  } catch {}
  if (!url || !/^https?:$/.test(url.protocol) || !url.hostname) throw new BtError(`--web-seed: "${u}" is not an http or https URL`, ExitCode.usage)
  return u
}

export const createCommand: CommandModule<object, Args> = {
  command: 'create <path>',
  describe: 'Make a torrent of a file or directory',
  builder: (y: Argv) =>
    examples(
      y
        .positional('path', { type: 'string', demandOption: true, describe: 'file or directory' })
        .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'write the torrent here (default NAME.torrent; - for stdout)' })
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'overwrite the output file if it exists' })
        .option('tracker', { alias: 't', type: 'string', array: true, requiresArg: true, default: [], describe: 'tracker URL; repeat for more tiers, comma-separate URLs of one tier' })
        .option('piece-length', { alias: 'l', type: 'string', requiresArg: true, default: 'auto', describe: 'auto, a size (256k, 1M) or a power of two exponent (18)' })
        .option('private', { alias: 'p', type: 'boolean', default: false, describe: 'set the private flag (no DHT/PEX)' })
        .option('comment', { alias: 'c', type: 'string', requiresArg: true, describe: 'comment' })
        .option('web-seed', { alias: 'w', type: 'string', array: true, requiresArg: true, default: [], describe: 'web seed URL (BEP 19)' })
        .option('name', { alias: 'n', type: 'string', requiresArg: true, describe: 'torrent name (default: the file or directory name)' })
        .option('source', { type: 'string', requiresArg: true, describe: 'info source tag (changes the info hash)' })
        .option('date', { type: 'boolean', default: true, describe: 'include the creation date (--no-date for reproducible output)' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress' }),
      [
        ['$0 create ./album', 'writes album.torrent'],
        ['$0 create ./album -t udp://tr.example:1337', 'with a tracker'],
        ['$0 create big.iso -l 1M -o big.torrent --force', ''],
      ],
    ) as unknown as Argv<Args>,
  handler: async (args) => {
    const pieceLength = pieceLengthArg(args['piece-length'])
    const trackers = await trackerTiers(args.tracker)
    const webSeeds = args['web-seed'].map(webSeedArg)
    if (args.name !== undefined && (args.name === '' || args.name.includes('/') || args.name === '.' || args.name === '..')) {
      throw new BtError(`--name: "${args.name}" is not a file name`, ExitCode.usage)
    }
    // The output is known before hashing when -o is given: refuse a directory or an existing file now, not after.
    if (args.output !== undefined && args.output !== '-') {
      const st = await stat(args.output).catch(() => undefined)
      if (st?.isDirectory()) throw new BtError(`${args.output}: is a directory; give a file name to write`, ExitCode.usage)
      if (st && !args.force) throw new BtError(`${args.output}: already exists (--force to overwrite)`, ExitCode.usage)
    }
    const { createTorrent } = await import('../src/metainfo/create.js')
    const { parseTorrent } = await import('../src/metainfo/metainfo.js')
    let live: import('./terminal.js').LiveArea | undefined
    let done = 0
    let total = 0
    if (stderrIsTTY() && !args.quiet) {
      const { LiveArea } = await import('./terminal.js')
      const { progressLine } = await import('./progress.js')
      live = new LiveArea((width) => [progressLine('hashing', total ? done / total : 0, [
        { text: `${total ? Math.floor((100 * done) / total) : 0}%`, priority: 0 },
        { text: `${formatBytes(done)}/${formatBytes(total)}`, priority: 1 },
      ], width)])
    }
    let last = 0
    const torrent = await createTorrent(args.path, {
      name: args.name,
      pieceLength,
      trackers,
      webSeeds,
      private: args.private,
      comment: args.comment,
      source: args.source,
      creationDate: args.date ? undefined : null,
      onProgress: (d, t) => {
        done = d
        total = t
        const now = Date.now()
        if (live && (now - last >= 100 || d === t)) {
          last = now
          live.draw()
        }
      },
    }).finally(() => live?.stop({ clear: true }))
    const m = parseTorrent(torrent, 'created torrent')
    await writeOutput(args.output ?? `${m.name}.torrent`, torrent, { exclusive: !args.force })
    if (!args.quiet) info(`${m.name}: ${m.infoHash}, ${formatBytes(m.length)} in ${m.pieceCount} pieces of ${formatBytes(m.pieceLength)}`)
  },
}
