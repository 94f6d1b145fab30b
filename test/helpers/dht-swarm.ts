// A local DHT of n nodes on 127.0.0.1 that never contacts the public routers: node 0 starts alone, the others
// bootstrap from it. Tests join it with `new DhtNode({ host: '127.0.0.1', bootstrap: swarm.bootstrap })`.
// `ports` restarts a DHT on the ports of an earlier one (new node ids, same addresses). `host: '::1'` makes an IPv6
// DHT (BEP 32) instead.
import { DhtNode } from '../../src/discovery/dht.js'
import { within } from './wait.js'

export interface DhtSwarm {
  /** ['127.0.0.1:PORT'] (or ['[::1]:PORT']) of node 0. */
  bootstrap: string[]
  nodes: DhtNode[]
  /** The UDP port of each node, node 0 first. */
  ports: number[]
  stop(): Promise<void>
}

const READY_TIMEOUT = 10_000

export async function startDhtSwarm(n: number, opts: { ports?: number[]; host?: '127.0.0.1' | '::1' } = {}): Promise<DhtSwarm> {
  if (n < 1) throw new Error('a swarm needs at least one node')
  const host = opts.host ?? '127.0.0.1'
  const portOf = (i: number) => opts.ports?.[i] ?? 0
  const nodes: DhtNode[] = [new DhtNode({ host, port: portOf(0), bootstrap: false })]
  const stop = async () => {
    await Promise.all(nodes.map((d) => d.destroy()))
  }
  try {
    const port = await nodes[0].listen()
    const bootstrap = [host === '::1' ? `[::1]:${port}` : `127.0.0.1:${port}`]
    for (let i = 1; i < n; i++) nodes.push(new DhtNode({ host, port: portOf(i), bootstrap }))
    await Promise.all(nodes.slice(1).map(async (d) => {
      await d.listen()
      await within(d.ready(), READY_TIMEOUT, 'dht swarm node did not finish bootstrapping')
    }))
    for (const d of nodes) addLatency(d)
    return { bootstrap, nodes, ports: nodes.map((d) => d.port!), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

let latency = 0

/** Delay every datagram sent by nodes given to addLatency (swarm nodes are) by ms; 0 (the default) for none. */
export function setDhtLatency(ms: number): void {
  latency = ms
}

/** Make a listening node's sends obey setDhtLatency, so round trips can cost what they do on a network. */
export function addLatency(d: DhtNode): void {
  const udp = d.krpc!.socket.socket
  const send = udp.send.bind(udp) as (...args: unknown[]) => void
  ;(udp as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
    if (latency > 0) setTimeout(() => { try { send(...args) } catch {} }, latency)
    else send(...args)
  }
}

/**
 * Watches the swarm for announce_peer messages for infoHash; the returned function resolves once some node has
 * stored one for that port. A test that checks what a lookup finds waits for this first: another client's announce
 * comes after its own get_peers walk, so a lookup started as soon as that client is up can run before the announce
 * lands, and then finds it only at a retry round seconds later. Start watching before the announcing client starts
 * (it may announce before it reports itself ready).
 */
export function watchAnnounces(swarm: DhtSwarm, infoHash: Buffer): (port: number) => Promise<void> {
  const seen = new Set<number>()
  const waiters: Array<{ port: number; resolve: () => void }> = []
  for (const d of swarm.nodes) {
    d.dht!.on('announce', (peer: { host: string; port: number }, hash: Buffer) => {
      if (!hash.equals(infoHash)) return
      seen.add(peer.port)
      for (const w of waiters) if (w.port === peer.port) w.resolve()
    })
  }
  return (port) => seen.has(port) ? Promise.resolve() : new Promise((resolve) => waiters.push({ port, resolve }))
}
