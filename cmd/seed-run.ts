// The body of `bt seed`, loaded only when the command runs (it pulls in the engine).

import { basename, dirname, resolve } from 'node:path'
import { BtError, ExitCode } from '../src/errors.js'
import { createTorrent } from '../src/metainfo/create.js'
import { parseTorrent, type Metainfo } from '../src/metainfo/metainfo.js'
import { loadTorrentFile } from '../src/metainfo/load.js'
import { magnetOf } from '../src/metainfo/magnet.js'
import { trackerUrlProblem } from '../src/discovery/tracker-url.js'
import { formatBytes } from '../src/format.js'
import { out, writeOutput } from './cli.js'
import { ProgressView, jsonEvent, progressMode } from './progress.js'
import { bootstrapOption, exitOnSignal, makeClient, peersOption, reachableAddresses, usableTrackers, watchDht } from './session.js'
import type { SeedArgs } from './seed.js'

export async function runSeed(args: SeedArgs): Promise<void> {
  const mode = progressMode(args)
  const path = resolve(args.path)
  const peers = peersOption(args.peer)
  const warnings: string[] = []
  let m: Metainfo
  let dir: string
  let trackers: string[][] = []
  const isTorrent = args.path.endsWith('.torrent')
  if (isTorrent) {
    m = await loadTorrentFile(args.path)
    dir = resolve(args.dir ?? '.')
    // Trackers given on the command line are announced to, beside the torrent's own; unusable ones are named once.
    const warned = new Set<string>()
    usableTrackers(m.announce, (l) => warnings.push(l), warned)
    trackers = usableTrackers(args.tracker.map((u) => [u]), (l) => warnings.push(l), warned)
  } else {
    if (args.dir) throw new BtError('--dir goes with a .torrent file; a file or directory is seeded where it is', ExitCode.usage)
    // These trackers go into the torrent made here: a bad one is refused, as bt create does.
    for (const u of args.tracker) {
      const why = trackerUrlProblem(u)
      if (why) throw new BtError(`--tracker: "${u}": ${why}`, ExitCode.usage)
    }
    const bytes = await createTorrent(path, { trackers: args.tracker.map((u) => [u]) })
    m = parseTorrent(bytes, basename(path))
    dir = dirname(path)
    if (args['save-torrent']) await writeOutput(args['save-torrent'], bytes, { announce: false })
  }
  const client = makeClient(args)
  const port = await client.listen()
  const view = new ProgressView(mode, { verbose: args.verbose })
  exitOnSignal(client, { beforeStop: () => view.stop({ clear: true }), quiet: args.quiet || args.json })
  for (const w of warnings) view.warn(w)
  watchDht(client, args.dht ? bootstrapOption(args['dht-bootstrap']) : undefined, (line) => view.warn(line))
  const t = client.add(m, { dir, seed: true, stream: true, peers, trackers })
  view.add(t)
  await new Promise<void>((resolveReady, reject) => {
    t.once('ready', () => resolveReady())
    t.once('error', reject)
  }).catch(async (err) => {
    view.stop({ clear: true })
    await client.destroy()
    throw err
  })
  const s = t.stats()
  if (s.have === 0) {
    view.stop({ clear: true })
    await client.destroy()
    throw new BtError(`${m.name}: no data found in ${dir}`, ExitCode.usage)
  }
  // One magnet: the torrent's own, plus the addresses (x.pe) other hosts can really dial, if there are any.
  const addresses = await reachableAddresses(port, args.bind)
  const base = magnetOf(m)
  const magnet = addresses.length ? `${base}&${addresses.map((a) => `x.pe=${a}`).join('&')}` : base
  if (mode === 'json') jsonEvent('seeding', { infoHash: m.infoHash, name: m.name, port, addresses, magnet, have: s.have, length: s.wanted })
  else {
    out(magnet)
    if (s.have < s.wanted) view.log(`${m.name}: only ${formatBytes(s.have)} of ${formatBytes(s.wanted)} present; seeding that`)
    const where = addresses.length ? `reachable at ${addresses.join(', ')}` : 'reachable from this host only (no network interface)'
    view.log(`seeding ${m.name} (${formatBytes(s.have)}) on port ${port}, ${where}; magnet link on stdout`)
  }
  await new Promise(() => {})
}
