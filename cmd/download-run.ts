// The body of `bt download`, loaded only when the command runs (it pulls in the engine).

import { join, resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { BtError, ExitCode, errorMessage } from '../src/errors.js'
import { resolveTorrentSource } from '../src/metainfo/source.js'
import type { Metainfo } from '../src/metainfo/metainfo.js'
import type { MagnetLink } from '../src/metainfo/magnet.js'
import type { PeerAddress } from '../src/discovery/peer-address.js'
import type { Torrent } from '../src/session/torrent.js'
import { parseIndexList, resolveSelection } from '../src/session/select.js'
import { formatBytes } from '../src/format.js'
import { makeDirectory, out, warnLine } from './cli.js'
import { ProgressView, jsonEvent, progressMode } from './progress.js'
import {
  NO_PEER_SOURCE, bootstrapOption, checkPeerSources, exitOnSignal, makeClient, metadataTimeout, peersOption,
  usablePeers, usableTrackers, watchDht,
} from './session.js'
import type { DownloadArgs } from './download.js'

type Planned =
  | { kind: 'torrent'; metainfo: Metainfo; select?: number[]; trackers: string[][]; nowhere: boolean }
  | { kind: 'magnet'; magnet: MagnetLink; trackers: string[][]; peers: PeerAddress[] }

/** Wait until the torrent is done, rejecting on its first fatal error. */
function whenDone(t: Torrent): Promise<void> {
  return new Promise((resolve, reject) => {
    if (t.done) return resolve()
    t.once('done', () => resolve())
    t.once('error', (err: unknown) => reject(err))
  })
}

export async function runDownload(args: DownloadArgs): Promise<void> {
  const mode = progressMode(args)
  const indices = args.select !== undefined ? parseIndexList(args.select) : undefined
  const globs = args['select-glob']
  const extraPeers = peersOption(args.peer)
  const bootstrap = args.dht ? bootstrapOption(args['dht-bootstrap']) : undefined
  // Warnings found while planning are shown once the progress view exists.
  const warnings: string[] = []
  const warned = new Set<string>()
  const warn = (line: string) => warnings.push(line)
  const extraTrackers = usableTrackers(args.tracker.map((u) => [u]), warn, warned)

  const planned: Planned[] = []
  try {
    await plan(args, planned, { indices, globs, extraPeers, extraTrackers, warn, warned })
  } catch (err) {
    // The trackers and peers that were left out may be why there is nowhere to look: say which before failing.
    if (!args.quiet && !args.json) for (const w of warnings) warnLine('bt', w)
    throw err
  }

  // Listen before making the output directory: a port in use must not leave an empty -o directory behind.
  const client = makeClient(args)
  await client.listen()
  const dir = resolve(args.output)
  await makeDirectory(dir, args.output)
  const view = new ProgressView(mode, { verbose: args.verbose })
  exitOnSignal(client, { beforeStop: () => view.stop({ clear: true }), quiet: args.quiet || args.json })
  for (const w of warnings) view.warn(w)
  watchDht(client, bootstrap, (line) => view.warn(line))
  if (args.verbose) view.log(`listening on port ${client.port()}`)
  const torrents: Torrent[] = []
  const deferred: string[] = []
  for (const p of planned) {
    let t: Torrent
    const common = { dir, seed: args.seed, verify: args.verify, trackers: p.trackers }
    if (p.kind === 'torrent') {
      t = client.add(p.metainfo, { ...common, peers: extraPeers, select: p.select })
      if (p.nowhere) {
        t.once('ready', () => process.nextTick(() => {
          if (!t.done) t.emit('error', new BtError(`${t.name}: ${NO_PEER_SOURCE}`, ExitCode.usage))
        }))
      }
    } else {
      const magnet = p.magnet
      // Trackers and peers were checked above: the Client gets only the usable ones.
      t = client.add({ ...magnet, trackers: [], peers: [] }, { ...common, peers: p.peers, name: magnet.name })
      metadataTimeout(t, args['metadata-timeout'])
      // A magnet's file list is known only with the metadata: apply the selection then.
      if (indices || globs.length || magnet.select) {
        t.once('metadata', () => {
          try {
            t.select(resolveSelection(t.metainfo!, indices ? { indices, globs } : { fileIndices: magnet.select, globs }))
          } catch (err) {
            t.emit('error', err)
          }
        })
      }
    }
    view.add(t) // which reports its warnings
    torrents.push(t)
  }
  try {
    await Promise.all(torrents.map(async (t) => {
      await whenDone(t)
      const path = join(dir, t.metainfo!.name)
      const s = t.stats()
      if (mode === 'json') jsonEvent('done', { infoHash: t.infoHash, name: t.name, path, length: s.wanted })
      else {
        view.log(`${t.name}: done, ${formatBytes(s.wanted)}`)
        // With live lines on the same terminal, a path written now would be drawn over; print it once they stop.
        if (mode === 'bars' && process.stdout.isTTY && !args.seed) deferred.push(path)
        else out(path)
      }
    }))
  } catch (err) {
    view.stop({ clear: true })
    if (mode === 'json') jsonEvent('error', { message: errorMessage(err) })
    await client.destroy()
    throw err
  }
  if (args.seed) {
    view.log(`seeding on port ${client.port()}; Ctrl-C to stop`)
    await new Promise(() => {}) // until a signal
  }
  view.stop()
  for (const path of deferred) out(path)
  await client.destroy()
}

interface PlanInput {
  indices?: number[]
  globs: string[]
  extraPeers: PeerAddress[]
  extraTrackers: string[][]
  warn: (line: string) => void
  warned: Set<string>
}

/** Every torrent named, resolved and checked: its selection, usable trackers and peers, and somewhere to find peers. */
async function plan(args: DownloadArgs, planned: Planned[], p: PlanInput): Promise<void> {
  const { indices, globs, extraPeers, extraTrackers, warn, warned } = p
  const seen = new Set<string>()
  for (const x of args.torrents) {
    const src = await resolveTorrentSource(x)
    const hash = src.kind === 'torrent' ? src.metainfo.infoHash : src.magnet.infoHash
    if (seen.has(hash)) continue // the same torrent named twice is downloaded (and printed) once
    seen.add(hash)
    if (src.kind === 'torrent') {
      const m = src.metainfo
      const select = resolveSelection(m, { indices, globs })
      const own = usableTrackers(m.announce, warn, warned)
      let nowhere = false
      try {
        checkPeerSources({ dht: args.dht, trackers: [...own, ...extraTrackers], peers: extraPeers, webSeeds: m.urlList, private: m.private })
      } catch (err) {
        // With its data already there it may need no peers: decided after the check. Without, fail now.
        if (!existsSync(join(resolve(args.output), m.name))) throw err
        nowhere = true
      }
      planned.push({ kind: 'torrent', metainfo: m, select, trackers: extraTrackers, nowhere })
    } else {
      const magnet = src.magnet
      const trackers = [...extraTrackers, ...usableTrackers(magnet.trackers.map((u) => [u]), warn, warned)]
      const peers = [...extraPeers, ...usablePeers(magnet.peers, warn)]
      checkPeerSources({ dht: args.dht, trackers, peers }, planned.length || args.torrents.length > 1 ? (magnet.name ?? magnet.infoHash) : undefined)
      planned.push({ kind: 'magnet', magnet, trackers, peers })
    }
  }
}
