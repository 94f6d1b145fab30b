// `bt seed PATH|file.torrent`: verify existing data and seed it until Ctrl-C. A plain file or directory is made
// into a torrent on the fly and its magnet link printed, so others can fetch it at once.

import { basename, dirname, resolve } from 'node:path'
import type { Argv, CommandModule } from 'yargs'
import { BtError, ExitCode } from '../src/errors.js'
import { createTorrent } from '../src/metainfo/create.js'
import { parseTorrent, type Metainfo } from '../src/metainfo/metainfo.js'
import { loadTorrentFile } from '../src/metainfo/load.js'
import { magnetOf, formatMagnet } from '../src/metainfo/magnet.js'
import { formatBytes } from '../src/format.js'
import { out, writeOutput } from './cli.js'
import { ProgressView, jsonEvent, progressMode } from './progress.js'
import { exitOnSignal, makeClient, peersOption, sessionOptions, type SessionArgs } from './download.js'

interface Args extends SessionArgs {
  path: string
  dir?: string
  'save-torrent'?: string
  'piece-length'?: string
}

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed <path>',
  describe: 'Seed a .torrent (data in --dir) or a file/directory (made into a torrent)',
  builder: (y: Argv) =>
    sessionOptions(
      y
        .positional('path', { type: 'string', demandOption: true, describe: '.torrent file, or a file or directory to share' })
        .option('dir', { alias: 'd', type: 'string', describe: 'where the data of a .torrent is (default: current directory)' })
        .option('save-torrent', { type: 'string', describe: 'when sharing a file or directory, also write its .torrent here' })
        .example('$0 seed ubuntu.torrent -d ~/Downloads', 'seed data downloaded earlier')
        .example('$0 seed ./album -t udp://tracker.example:1337', 'share a directory; prints its magnet link'),
    ) as unknown as Argv<Args>,
  handler: async (args) => {
    const mode = progressMode(args)
    const path = resolve(args.path)
    let m: Metainfo
    let dir: string
    if (args.path.endsWith('.torrent')) {
      m = await loadTorrentFile(args.path)
      dir = resolve(args.dir ?? '.')
    } else {
      if (args.dir) throw new BtError('--dir goes with a .torrent file; a file or directory is seeded where it is', ExitCode.usage)
      const bytes = await createTorrent(path, { trackers: args.tracker.map((u) => [u]) })
      m = parseTorrent(bytes, basename(path))
      dir = dirname(path)
      if (args['save-torrent']) await writeOutput(args['save-torrent'], bytes, { announce: false })
    }
    const client = makeClient(args)
    const port = await client.listen()
    const view = new ProgressView(mode, args.verbose)
    exitOnSignal(client, view)
    // Trackers given on the command line are announced to; with a .torrent they add to its own.
    const t = client.add(m, { dir, seed: true, stream: true, peers: peersOption(args.peer), trackers: args.path.endsWith('.torrent') ? args.tracker.map((u) => [u]) : [] })
    view.add(t)
    // Tracker failures, bans and hash failures are reported (each tracker failure once); --quiet hides them.
    t.on('warning', (msg: string) => view.log(`${t.name}: ${msg}`))
    await new Promise<void>((resolveReady, reject) => {
      t.once('ready', () => resolveReady())
      t.once('error', reject)
    }).catch(async (err) => {
      view.stop()
      await client.destroy()
      throw err
    })
    const s = t.stats()
    if (s.have === 0) {
      view.stop()
      await client.destroy()
      throw new BtError(`${m.name}: no data found in ${dir}`, ExitCode.usage)
    }
    const magnet = magnetOf(m)
    if (mode === 'json') jsonEvent('seeding', { infoHash: m.infoHash, name: m.name, port, magnet, have: s.have, length: s.wanted })
    else {
      out(magnet)
      if (s.have < s.wanted) view.log(`${m.name}: only ${formatBytes(s.have)} of ${formatBytes(s.wanted)} present; seeding that`)
      view.log(`seeding ${m.name} (${formatBytes(s.have)}) on port ${port}; peers can also use ${formatMagnet({ infoHash: m.infoHash, name: m.name, trackers: [], webSeeds: [], peers: [`127.0.0.1:${port}`] })}`)
    }
    await new Promise(() => {})
  },
}
