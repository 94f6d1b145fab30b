// The launcher's fast path for `bt metainfo FILE [verb]` (bin/bt.js loads this module for any `bt metainfo …`):
// when the arguments are plainly that shape — a file, an optional verb, nothing else — it runs the command's own code
// (cmd/metainfo-inspect.ts) without yargs and the other command modules, ~15–20 ms of every start (issue 15).
// Anything else (an option, stdin, a magnet, a typo) goes to the full command line, which parses and reports it.

import { die } from './cli.js'
import { type Verb, VERBS, inspectTorrent, isRemote } from './metainfo-inspect.js'

/** The torrent and verb of `argv` (after `bt`) when it is plainly `metainfo FILE [verb]`, else undefined. */
export function plainMetainfo(argv: readonly string[]): { torrent: string; verb: Verb } | undefined {
  if (argv[0] !== 'metainfo' || argv.length < 2 || argv.length > 3) return undefined
  const torrent = argv[1]
  const verb = argv[2] ?? 'info'
  // An option, `-`/`--`, an empty name (yargs reads it as stdin) or a magnet: yargs' way.
  if (torrent === '' || torrent.startsWith('-') || isRemote(torrent)) return undefined
  if (!(VERBS as readonly string[]).includes(verb)) return undefined
  return { torrent, verb: verb as Verb }
}

const plain = plainMetainfo(process.argv.slice(2))
if (plain) await inspectTorrent({ ...plain, json: false }).catch((err) => die('bt', err))
else await import('./bt.js')
