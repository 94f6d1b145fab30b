// `bt download X…`: download torrents (files, magnets, info hashes) with progress, optionally seeding afterwards.
// Everything is validated (options, torrents, selections, where peers can come from) before the disk is touched.

import type { Argv, CommandModule } from 'yargs'
import { examples } from './cli.js'
import { sessionOptions, type SessionArgs } from './options.js'

interface Args extends SessionArgs {
  torrents: string[]
  output: string
  select?: string
  'select-glob': string[]
  seed: boolean
  verify: boolean
}

export const downloadCommand: CommandModule<object, Args> = {
  command: 'download <torrents..>',
  describe: 'Download torrents (.torrent files, magnet links, infohash:HEX)',
  builder: (y: Argv) =>
    examples(
      sessionOptions(
        y
          .positional('torrents', { type: 'string', array: true, demandOption: true, describe: '.torrent file, magnet link, infohash:HEX or a bare 40-hex info hash' })
          .option('output', { alias: 'o', type: 'string', requiresArg: true, default: '.', describe: 'download directory' })
          .option('select', { alias: 's', type: 'string', requiresArg: true, describe: 'file indices to download, e.g. 0,2-4 (see bt metainfo FILE files)' })
          .option('select-glob', { type: 'string', array: true, requiresArg: true, default: [], describe: "download files matching a glob, e.g. '*.mkv'" })
          .option('seed', { type: 'boolean', default: false, describe: 'keep seeding after the download until Ctrl-C' })
          .option('verify', { type: 'boolean', default: false, describe: 'hash-check all existing data instead of trusting resume state' }),
      ),
      [
        ['$0 download ubuntu.torrent', 'into the current directory'],
        ['$0 download ubuntu.torrent -o ~/Downloads', ''],
        ["$0 download 'magnet:?xt=urn:btih:…' -s 0,2-4", 'files 0, 2, 3, 4'],
        ['$0 download HASH --peer 10.0.0.2:6881 --no-dht', 'a 40-hex info hash'],
      ],
    ) as unknown as Argv<Args>,
  handler: async (args) => {
    const { runDownload } = await import('./download-run.js')
    await runDownload(args)
  },
}

export type DownloadArgs = Args
