// A running standalone tracker: the core, its saved state, the whitelist, and HTTP and UDP listeners on each host.
// `bt tracker` is a thin shell around startTracker(); tests start it in-process the same way.

import { availableParallelism } from 'node:os'
import { BtError, ExitCode, systemText } from '../errors.js'
import { listenHttp, type HttpServer } from './http-server.js'
import { TrackerStore } from './store.js'
import { Tracker, type TrackerOptions } from './swarm.js'
import { ConnectionIds, listenUdp, type UdpServer } from './udp.js'
import { listenUdpWorkers } from './udp-workers.js'
import { listenUdpNative, loadUdpBatch, nativeUdpMissing } from './udp-batch.js'
import { Whitelist } from './whitelist.js'
import { resolveListenHosts } from './hosts.js'

export interface TrackerServiceOptions extends TrackerOptions {
  /** IP literals or host names (resolved to all their addresses: hosts.ts); default 127.0.0.1. */
  hosts?: string[]
  /** 0 picks a free port; -1 turns the front end off. */
  httpPort?: number
  udpPort?: number
  /** SQLite file; undefined keeps state in memory only. */
  statePath?: string
  whitelist?: string
  flushMs?: number
  /** Threads for UDP I/O (udp-worker.ts); 0 (the default) does it on the swarm thread; 'auto' see autoUdpWorkers. */
  udpWorkers?: number | 'auto'
  /** Batched native UDP I/O when the module is built (default); false: node's dgram. */
  udpBatch?: boolean
  /**
   * With batched I/O and no UDP workers: replies are sent by a native thread of their own (sendmmsg, the largest
   * single cost of an announce, on the other core). Default: when there is more than one CPU.
   */
  udpSendThread?: boolean
  /** Loads the native module from this file instead (tests: a missing module). */
  udpBatchModule?: string
  log?: (msg: string) => void
}

export interface TrackerService {
  tracker: Tracker
  http: HttpServer[]
  udp: UdpServer[]
  store: TrackerStore | undefined
  whitelist: Whitelist | undefined
  restored: { peers: number; swarms: number; registrations: number }
  /** Stops listening, saves the state, closes the file. */
  close(): Promise<void>
}

export async function startTracker(opts: TrackerServiceOptions = {}): Promise<TrackerService> {
  const log = opts.log ?? (() => {})
  const tracker = new Tracker({ ...opts, private: opts.private || Boolean(opts.whitelist) })
  const http: HttpServer[] = []
  const udp: UdpServer[] = []
  let store: TrackerStore | undefined
  let whitelist: Whitelist | undefined
  let restored = { peers: 0, swarms: 0, registrations: 0 }
  const close = async () => {
    whitelist?.stop()
    await Promise.allSettled(udp.map((s) => s.close())) // first: UDP worker threads share a descriptor (udp-workers.ts)
    await Promise.allSettled(http.map((s) => s.close()))
    tracker.stop()
    await store?.close()
  }
  try {
    if (opts.statePath) {
      store = new TrackerStore(tracker, opts.statePath, { flushMs: opts.flushMs })
      restored = store.open()
    }
    if (opts.whitelist) {
      whitelist = new Whitelist(tracker, opts.whitelist, log)
      await whitelist.start()
    }
    const ids = new ConnectionIds()
    // Batched UDP I/O when the native module is there; dgram (and one warning) otherwise.
    const wantBatch = (opts.udpPort ?? 0) >= 0 && opts.udpBatch !== false
    const native = wantBatch ? loadUdpBatch(opts.udpBatchModule) : undefined
    if (wantBatch && !native && process.env.BT_UDP_NATIVE !== '0') log(`warning: no batched UDP I/O, using node's dgram (more CPU per announce): ${nativeUdpMissing()}`)
    // No hosts (bt serve --tracker): the core only, answering through serve's own HTTP listener.
    const hosts = opts.hosts ?? ['127.0.0.1']
    for (const host of hosts.length > 0 ? await resolveListenHosts(hosts) : []) {
      // The first listener of each kind may pick a port (0); the others of that kind reuse it.
      if ((opts.httpPort ?? 0) >= 0) {
        const port = http[0]?.address.port ?? opts.httpPort ?? 0
        http.push(await listenHttp(tracker, host, port).catch((err) => { throw listenError('HTTP', host, port, err) }))
      }
      if ((opts.udpPort ?? 0) >= 0) {
        const port = udp[0]?.address.port ?? opts.udpPort ?? 0
        const workers = opts.udpWorkers === 'auto' ? autoUdpWorkers(Boolean(native)) : opts.udpWorkers ?? 0
        const listen = workers > 0
          ? listenUdpWorkers(tracker, ids.secret, host, port, workers, native)
          : native ? Promise.resolve().then(() => listenUdpNative(native, tracker, ids, host, port, opts.udpSendThread ?? availableParallelism() > 1)) : listenUdp(tracker, ids, host, port)
        udp.push(await listen.catch((err) => { throw listenError('UDP', host, port, err) }))
      }
    }
  } catch (err) {
    await close()
    throw err
  }
  return { tracker, http, udp, store, whitelist, restored, close }
}

/**
 * UDP threads when not told. With batched I/O none: the swarm thread reads and answers each batch itself and a native
 * thread sends the replies (udpSendThread), which on 2 CPUs gave ~2x the announces/s of 2 workers at ~0.7x their CPU
 * per announce (bench/tracker.js, loaded machine: a worker's hand-off costs more than the syscalls it moves). With
 * dgram one per spare CPU, as measured before batching.
 */
export function autoUdpWorkers(batched: boolean): number {
  return batched ? 0 : Math.min(4, availableParallelism() - 1)
}

function listenError(kind: string, host: string, port: number, err: unknown): BtError {
  return new BtError(`cannot listen for ${kind} on ${host}:${port}: ${systemText(err)}`, ExitCode.network)
}
