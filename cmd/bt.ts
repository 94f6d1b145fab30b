// `bt`: the root command: global flags, help, version, and the command modules.
// Each command is registered with one `.command(valuesRequired(x))` line. A command module stays light: it imports its engine
// modules inside its handler with `await import(...)`, so `bt --help` loads yargs and these modules only.

import yargs, { hideBin } from './yargs.js'
import { die, helpWidth, packageVersion, setVerbose, skipHelpCache, valuesRequired, yargsFail } from './cli.js'
import { metainfoCommand } from './metainfo.js'
import { createCommand } from './create.js'
import { downloadCommand } from './download.js'
import { seedCommand } from './seed.js'
import { importCommand } from './import.js'
import { searchCommand } from './search.js'
import { serveCommand } from './serve.js'
import { trackerCommand } from './tracker.js'
import { crawlCommand } from './crawl.js'
import { classifyCommand } from './classify.js'

export async function main(argv: string[]): Promise<void> {
  setVerbose(argv.includes('--verbose') || argv.includes('-v'))
  const parser = yargs(argv)
    .scriptName('bt')
    .usage('$0 <command> [options]\n\nA BitTorrent toolkit: download and seed torrents, inspect and create them.')
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'more logging; stack traces on errors', global: true })
    .command(valuesRequired(metainfoCommand))
    .command(valuesRequired(createCommand))
    .command(valuesRequired(downloadCommand))
    .command(valuesRequired(seedCommand))
    .command(valuesRequired(importCommand))
    .command(valuesRequired(searchCommand))
    .command(valuesRequired(serveCommand))
    .command(valuesRequired(trackerCommand))
    .command(valuesRequired(classifyCommand))
    .command(valuesRequired(crawlCommand))
    .demandCommand(1, 'give a command (bt --help lists them)')
    .recommendCommands()
    .strict()
    .version(packageVersion())
    .help()
    .alias('help', 'h')
    .wrap(helpWidth())
    .epilogue('Exit codes: 0 ok, 1 internal error, 2 bad usage or input, 3 network, 4 file system, 130 interrupted.\nSee man bt.')
    .fail(yargsFail)
  await skipHelpCache(parser).parseAsync()
}

main(hideBin(process.argv)).catch((err) => die('bt', err))
