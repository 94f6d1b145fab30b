// `bt metainfo FILE [magnet|info|files|pieces|json|save]`: inspect a torrent file, or fetch a magnet's metadata first.
// Engine modules are loaded in the handler, and the session only for a magnet, so reading a file stays fast.

import type { Argv, CommandModule } from 'yargs'
import type { Metainfo } from '../src/metainfo/metainfo.js'
import { examples, stderrIsTTY } from './cli.js'
import { discoveryOptions } from './options.js'
import { type InspectArgs, type Verb, VERBS, inspectTorrent } from './metainfo-inspect.js'

interface Args extends InspectArgs {
  port?: number
  peer: string[]
  tracker: string[]
  dht: boolean
  'dht-port'?: number
  'dht-bootstrap'?: string
  'metadata-timeout': number
  quiet: boolean
}

/** Fetch a magnet's metadata from the swarm (DHT, trackers, x.pe, --peer): the bytes of a .torrent file. */
async function fetchTorrent(args: Args): Promise<Buffer> {
  const { resolveTorrentSource } = await import('../src/metainfo/source.js')
  const { torrentFileFromInfo } = await import('../src/metainfo/metainfo.js')
  const { statusFields } = await import('./progress.js')
  const { LiveArea } = await import('./terminal.js')
  const { fitFields } = await import('../src/format.js')
  const session = await import('./session.js')
  const src = await resolveTorrentSource(args.torrent)
  if (src.kind !== 'magnet') throw new Error('unreachable')
  const magnet = src.magnet
  const warnings: string[] = []
  const warn = (l: string) => warnings.push(l)
  const trackers = session.usableTrackers([...args.tracker, ...magnet.trackers].map((u) => [u]), warn, new Set())
  const peers = [...session.peersOption(args.peer), ...session.usablePeers(magnet.peers, warn)]
  session.checkPeerSources({ dht: args.dht, trackers, peers })
  const client = session.makeClient(args, { port: 0 })
  await client.listen()
  const live = !args.quiet && stderrIsTTY()
    ? new LiveArea((width) => [fitFields(statusFields(t.stats()), width)])
    : undefined
  const say = (line: string) => {
    if (args.quiet) return
    if (live) live.log(`bt: ${line}`)
    else process.stderr.write(`bt: ${line}\n`)
  }
  session.exitOnSignal(client, { beforeStop: () => live?.stop({ clear: true }), quiet: args.quiet, saves: false })
  for (const w of warnings) say(w)
  session.watchDht(client, args.dht ? session.bootstrapOption(args['dht-bootstrap']) : undefined, say)
  const t = client.add({ ...magnet, trackers: [], peers: [] }, { dir: '.', metadataOnly: true, peers, trackers })
  const said = new Set<string>()
  t.on('warning', (msg: string) => {
    if (!said.has(msg)) say(msg)
    said.add(msg)
  })
  session.metadataTimeout(t, args['metadata-timeout'])
  const timer = live ? setInterval(() => live.draw(), 250) : undefined
  try {
    const m = await new Promise<Metainfo>((resolve, reject) => {
      t.once('metadata', resolve)
      t.once('error', reject)
    })
    return torrentFileFromInfo(m.infoBuffer, { announce: trackers.flat().filter((u) => magnet.trackers.includes(u)).map((u) => [u]), urlList: magnet.webSeeds })
  } finally {
    clearInterval(timer)
    live?.stop({ clear: true })
    await client.destroy()
  }
}

export const metainfoCommand: CommandModule<object, Args> = {
  command: 'metainfo <torrent> [verb]',
  describe: 'Inspect a torrent file (- for stdin) or a magnet link (fetches its metadata)',
  builder: (y: Argv) =>
    examples(
      discoveryOptions(
        y
          .positional('torrent', { type: 'string', describe: '.torrent file, - for stdin, magnet link, infohash:HEX or a 40-hex info hash', demandOption: true })
          .positional('verb', { choices: VERBS, default: 'info' as Verb, describe: 'what to print' })
          .option('json', { type: 'boolean', default: false, describe: 'print data as JSON (info, files, pieces)' })
          .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'save: write the .torrent here (default NAME.torrent; - for stdout)' }),
        'magnets: ',
      ),
      [
        ["$0 metainfo 'magnet:?xt=urn:btih:…' save", 'fetch a magnet\'s .torrent'],
        ['$0 metainfo ubuntu.torrent magnet', 'print the magnet link'],
        ['$0 metainfo ubuntu.torrent files --json', 'list files as JSON'],
      ],
    ) as unknown as Argv<Args>,
  // The same code as the fast path of bin/bt.js (cmd/metainfo-fast.ts), which skips yargs for a file.
  handler: (args) => inspectTorrent(args, fetchTorrent),
}
