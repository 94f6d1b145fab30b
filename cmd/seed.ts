// `bt seed PATH|file.torrent`: verify existing data and seed it until Ctrl-C. A plain file or directory is made
// into a torrent on the fly and its magnet link printed, so others can fetch it at once.

import type { Argv, CommandModule } from 'yargs'
import { examples } from './cli.js'
import { sessionOptions, type SessionArgs } from './options.js'

interface Args extends SessionArgs {
  path: string
  dir?: string
  'save-torrent'?: string
}

export type SeedArgs = Args

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed <path>',
  describe: 'Seed a .torrent (data in --dir) or a file/directory (made into a torrent)',
  builder: (y: Argv) =>
    examples(
      sessionOptions(
        y
          .positional('path', { type: 'string', demandOption: true, describe: '.torrent file, or a file or directory to share' })
          .option('dir', { alias: 'd', type: 'string', requiresArg: true, describe: 'where the data of a .torrent is (default: current directory)' })
          .option('save-torrent', { type: 'string', requiresArg: true, describe: 'when sharing a file or directory, also write its .torrent here' }),
      ),
      [
        ['$0 seed ./album', 'share a directory; prints its magnet link'],
        ['$0 seed ubuntu.torrent -d ~/Downloads', 'seed data downloaded earlier'],
        ['$0 seed ./album -t udp://tracker.example:1337', 'with a tracker'],
      ],
    ) as unknown as Argv<Args>,
  handler: async (args) => {
    const { runSeed } = await import('./seed-run.js')
    await runSeed(args)
  },
}
