// The running side of download, seed and metainfo-of-a-magnet: building the Client from validated options, checking
// that there is somewhere to find peers, reporting a DHT that found nobody, and stopping cleanly on signals.
// Imported with `await import()` from command handlers only: it loads the engine.

import { BtError, ExitCode } from '../src/errors.js'
import { parsePeerAddress, type PeerAddress } from '../src/discovery/peer-address.js'
import { trackerUrlProblem } from '../src/discovery/tracker-url.js'
import { Client } from '../src/session/client.js'
import type { Torrent } from '../src/session/torrent.js'
import type { SessionArgs } from './options.js'
import { isTerminal, warnLine } from './cli.js'
import { transportOptions } from './transport-option.js'

/** --dht-bootstrap, else $BT_DHT_BOOTSTRAP, else the public routers (undefined). `none` means no bootstrap. */
export function bootstrapOption(v: string | undefined): string[] | false | undefined {
  const s = v ?? process.env.BT_DHT_BOOTSTRAP
  if (s === undefined || s === '') return undefined
  if (s === 'none') return false
  return s.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
    if (!/^[^\s:]+:\d{1,5}$/.test(x) && !parsePeerAddress(x)) throw new BtError(`--dht-bootstrap: "${x}" is not host:port`, ExitCode.usage)
    return x
  })
}

export function peersOption(list: string[]): PeerAddress[] {
  return list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean).map((s) => {
    const p = parsePeerAddress(s)
    if (!p) throw new BtError(`--peer: "${s}" is not host:port (port 1-65535)`, ExitCode.usage)
    return p
  })
}

/** The usable trackers among `tiers`, warning once about each one left out. */
export function usableTrackers(tiers: string[][], warn: (line: string) => void, warned: Set<string>): string[][] {
  const out: string[][] = []
  for (const tier of tiers) {
    const ok = tier.filter((u) => {
      const why = trackerUrlProblem(u)
      if (why && !warned.has(u)) {
        warned.add(u)
        warn(`ignoring tracker "${u}": ${why}`)
      }
      return !why
    })
    if (ok.length) out.push(ok)
  }
  return out
}

/** A magnet's x.pe peers that parse, warning once about each one that does not. */
export function usablePeers(list: string[], warn: (line: string) => void): PeerAddress[] {
  const out: PeerAddress[] = []
  for (const s of list) {
    const p = parsePeerAddress(s)
    if (p) out.push(p)
    else warn(`ignoring peer "${s}" (x.pe): not host:port`)
  }
  return out
}

export const NO_PEER_SOURCE = 'no way to find peers: give --peer or a tracker, or enable the DHT'

/** Fail at once when a torrent has nowhere to look for peers: no DHT (or a private torrent), no tracker, no peer, no web seed. */
export function checkPeerSources(s: { dht: boolean; trackers: string[][]; peers: PeerAddress[]; webSeeds?: string[]; private?: boolean }, name?: string): void {
  const dht = s.dht && !s.private
  if (dht || s.trackers.some((t) => t.length > 0) || s.peers.length > 0 || (s.webSeeds?.length ?? 0) > 0) return
  throw new BtError(name ? `${name}: ${NO_PEER_SOURCE}` : NO_PEER_SOURCE, ExitCode.usage)
}

export function makeClient(args: Pick<SessionArgs, 'port' | 'dht' | 'dht-port' | 'dht-bootstrap'> & Partial<SessionArgs>, extra: { port?: number } = {}): Client {
  const client = new Client({
    port: args.port ?? extra.port,
    hosts: args.bind,
    dht: args.dht ? { port: args['dht-port'], bootstrap: bootstrapOption(args['dht-bootstrap']) } : false,
    downloadLimit: args['download-limit'],
    uploadLimit: args['upload-limit'],
    maxPeersPerTorrent: args['max-peers'],
    encryption: args.encryption,
    ...transportOptions(args.utp, args.tcp),
  })
  // Client-level warnings are rare and matter (uTP unavailable, a listen socket failing): say them once, on stderr.
  client.on('warning', (m: string) => warnLine('bt', m))
  return client
}

/**
 * Say once when the DHT found no node at all after its first walk (no route, every bootstrap node silent): otherwise
 * a magnet would wait in silence. Nothing is said when the user asked for no bootstrap and no node was known.
 */
export function watchDht(client: Client, bootstrap: string[] | false | undefined, warn: (line: string) => void): void {
  const nodes = client.dhtNodes()
  if (!nodes.length) return
  // IPv4 and IPv6 nodes: one bootstrap list serves both, and it may hold addresses of one family only.
  void Promise.all(nodes.map((d) => d.ready())).then(() => {
    if (nodes.some((d) => d.nodeCount > 0)) return
    if (bootstrap === false) return
    const routers = bootstrap ?? ['the public routers']
    warn(`DHT: no node answered (bootstrap: ${routers.join(', ')}); peers come from trackers and --peer only until one does`)
  })
}

/** Fail a magnet torrent that has no metadata after `seconds` (0: never). */
export function metadataTimeout(t: Torrent, seconds: number): void {
  if (!seconds || t.metainfo) return
  const timer = setTimeout(() => {
    if (t.metainfo) return
    const s = t.stats()
    t.emit('error', new BtError(`${t.name}: no metadata after ${seconds} s (${s.peers} peers connected, ${s.knownPeers} known)`, ExitCode.network))
  }, seconds * 1000)
  timer.unref()
  t.once('metadata', () => clearTimeout(timer))
  t.once('stopped', () => clearTimeout(timer))
}

/**
 * Stop on a signal: the client is destroyed (which saves resume state), then bt exits — 130 after Ctrl-C (SIGINT),
 * 0 after SIGTERM or SIGHUP (a service manager or a closed terminal asking us to stop, as torrentfs does). On a
 * terminal one line says what happened. A second signal exits at once.
 */
export function exitOnSignal(client: Client, opts: { beforeStop?: () => void; quiet?: boolean; saves?: boolean } = {}): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.ok
    if (stopping) process.exit(code)
    stopping = true
    // After SIGHUP the terminal may be gone: a failed write must not turn a clean stop into a crash.
    process.stderr.on('error', () => {})
    opts.beforeStop?.()
    const hard = setTimeout(() => process.exit(code), 5000)
    void client.destroy().finally(() => {
      clearTimeout(hard)
      if (!opts.quiet && isTerminal(process.stderr)) {
        try {
          process.stderr.write(opts.saves === false ? 'interrupted\n' : 'interrupted; resume state saved\n')
        } catch {}
      }
      process.exit(code)
    })
  }
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal)
}

/**
 * host:port strings other machines could dial to reach our listen sockets at `port`: the addresses of this host's
 * non-loopback interfaces (IPv6 link-local ones need a scope and are left out), or, with --bind, those among them.
 */
export async function reachableAddresses(port: number, bind?: string[]): Promise<string[]> {
  const { networkInterfaces } = await import('node:os')
  const { normalizeHost } = await import('../src/discovery/peer-address.js')
  const bound = bind && new Set(bind.map(normalizeHost))
  const any = bound && [...bound].some((h) => h === '0.0.0.0' || h === '::')
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue
      if (a.family === 'IPv6' && /^fe80:/i.test(a.address)) continue
      if (bound && !any && !bound.has(normalizeHost(a.address))) continue
      out.push(a.family === 'IPv6' ? `[${a.address}]:${port}` : `${a.address}:${port}`)
    }
  }
  return [...new Set(out)]
}
