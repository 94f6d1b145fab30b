// `bt`: the root command: global flags, help, version, and the command modules.

import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { BtError, ExitCode } from '../src/errors.js'
import { die, packageVersion, setVerbose } from './cli.js'
import { metainfoCommand } from './metainfo.js'
import { createCommand } from './create.js'
import { downloadCommand } from './download.js'
import { seedCommand } from './seed.js'
import { importCommand } from './import.js'
import { searchCommand } from './search.js'
import { serveCommand } from './serve.js'
import { crawlCommand } from './crawl.js'

export async function main(argv: string[]): Promise<void> {
  setVerbose(argv.includes('--verbose') || argv.includes('-v'))
  const parser = yargs(argv)
    .scriptName('bt')
    .usage('$0 <command> [options]\n\nA BitTorrent toolkit: download and seed torrents, inspect and create them.')
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'more logging; stack traces on errors', global: true })
    .command(metainfoCommand)
    .command(createCommand)
    .command(downloadCommand)
    .command(seedCommand)
    .command(importCommand)
    .command(searchCommand)
    .command(serveCommand)
    .command(crawlCommand)
    .demandCommand(1, 'give a command (bt --help lists them)')
    .recommendCommands()
    .strict()
    .version(packageVersion())
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 ok, 1 internal error, 2 bad usage or input, 3 network, 4 file system, 130 interrupted.\nSee man bt.')
    .fail((msg, err) => {
      if (err) throw err
      throw new BtError(msg, ExitCode.usage)
    })
  await parser.parseAsync()
}

main(hideBin(process.argv)).catch((err) => die('bt', err))
