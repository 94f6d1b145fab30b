// The iterative Kademlia walk (find_node / get_peers) behind every DHT lookup, announce and table refresh. It
// replaces k-rpc's own walk, which waits the full query timeout on every dead node, ignores the bootstrap nodes
// whenever the table holds a few (possibly stale) entries, and drops an answer whose node id changed.

import type { KrpcMessage, KrpcPeer } from 'k-rpc'
import { nodesKey, parseNodes, type Family } from './dht-family.js'

/** A query unanswered this long stops counting against the walk's parallelism (it may still answer). */
export const SOFT_TIMEOUT = 500
/** Queries in flight per walk that have not gone past the soft timeout. */
export const ALPHA = 8
/** At most this many of them to saved nodes not yet heard from this session (they may all be gone). */
const ALPHA_UNVERIFIED = 4
/** Hard cap on queries in flight per walk, slow ones included. */
const MAX_INFLIGHT = ALPHA * 8
/** Contacts remembered per walk (the closest are kept). */
const MAX_ENTRIES = 256

export interface WalkContact {
  id?: Buffer
  host: string
  port: number
  /** From the saved table and not heard from this session: queried with fewer slots. */
  unverified?: boolean
}

export interface WalkSeeds {
  /** Known nodes (with ids), ordered or not: the walk sorts them by distance. */
  nodes: WalkContact[]
  /** Nodes without a known id (bootstrap routers): all queried at once when the walk starts. */
  routers: WalkContact[]
}

/** What the walk needs from the DHT node that runs it. */
export interface WalkHost {
  readonly id: Buffer
  readonly k: number
  readonly softTimeout: number
  /** The family of the socket: replies name nodes of it in `nodes` (IPv4) or `nodes6` (IPv6, BEP 32). */
  readonly family?: Family
  /** Send a query; cb gets the reply (err set on timeout, error reply or cancel). */
  send(to: { host: string; port: number }, message: KrpcMessage, cb: (err: Error | null, res: KrpcMessage | null) => void): void
  seeds(target: Buffer, n: number): WalkSeeds
  /** A contact answered with this id (expected: the id we knew it by, if any). */
  answered(contact: WalkContact, id: Buffer, expected?: Buffer): void
  /** A contact did not answer in the hard timeout. */
  failed(contact: WalkContact): void
  walkStarted(): void
  walkEnded(): void
}

type State = 'new' | 'sent' | 'slow' | 'ok' | 'dead'

interface Entry extends WalkContact {
  key: string
  dist?: Buffer
  state: State
}

export type Visit = (res: KrpcMessage, peer: KrpcPeer) => boolean | void

/**
 * Walks towards `target`, calling visit for every answer (return false to stop early) and cb with the number of
 * nodes that answered. Done when the k closest live contacts have all answered and nothing but slow queries is left.
 */
export function walk(host: WalkHost, target: Buffer, message: KrpcMessage, visit: Visit | null, cb: (err: Error | null, n: number) => void): void {
  if (!message.a) message.a = {}
  if (!message.a.id) message.a.id = host.id
  const entries: Entry[] = [] // with ids, closest first
  const byKey = new Map<string, Entry>()
  let active = 0
  let activeUnverified = 0
  let inflight = 0
  let slowSeen = 0 // each query that went slow widens the walk by one: dead contacts cost one soft timeout per round
  let answered = 0
  let finished = false
  let stopped = false
  host.walkStarted()

  const add = (c: WalkContact, state: State = 'new'): Entry | undefined => {
    const key = `${c.host}:${c.port}`
    if (byKey.has(key)) return undefined
    if (c.id && c.id.equals(host.id)) return undefined
    const e: Entry = { ...c, key, state, dist: c.id ? xor(c.id, target) : undefined }
    byKey.set(key, e)
    if (e.dist) insertSorted(entries, e)
    if (entries.length > MAX_ENTRIES) {
      // Forget the farthest contact not in flight.
      for (let i = entries.length - 1; i >= 0; i--) {
        if (entries[i].state === 'new' || entries[i].state === 'dead') {
          byKey.delete(entries[i].key)
          entries.splice(i, 1)
          break
        }
      }
    }
    return e
  }

  const send = (e: Entry) => {
    e.state = 'sent'
    active++
    inflight++
    if (e.unverified) activeUnverified++
    let soft: NodeJS.Timeout | undefined = setTimeout(() => {
      soft = undefined
      if (e.state !== 'sent') return
      e.state = 'slow'
      slowSeen++
      release(e)
      kick()
    }, host.softTimeout)
    soft.unref?.()
    host.send({ host: e.host, port: e.port }, message, (err, res) => {
      if (soft) clearTimeout(soft)
      inflight--
      if (e.state === 'sent') release(e)
      const r = res?.r
      const rid = r && Buffer.isBuffer(r.id) && r.id.length === host.id.length ? r.id as Buffer : undefined
      if (err || !rid) {
        e.state = 'dead'
        // An error reply is an answer from a live node; only silence evicts.
        if (!res) host.failed(e)
        return kick()
      }
      host.answered(e, rid, e.id)
      e.unverified = false
      if (!e.id || !e.id.equals(rid)) {
        // A router told us its id, or the node behind this address is a new one: place it by its real id.
        const i = entries.indexOf(e)
        if (i >= 0) entries.splice(i, 1)
        e.id = rid
        e.dist = xor(rid, target)
        insertSorted(entries, e)
      }
      e.state = 'ok'
      answered++
      if (!finished && !stopped) {
        const family = host.family ?? 4
        const nodes = r![nodesKey(family)]
        if (Buffer.isBuffer(nodes)) for (const n of parseNodes(nodes, family, host.id.length)) add(n)
        if (visit && visit(res!, { id: rid, host: e.host, address: e.host, port: e.port } as KrpcPeer) === false) stopped = true
      }
      kick()
    })
  }

  const release = (e: Entry) => {
    active--
    if (e.unverified) activeUnverified--
  }

  const kick = () => {
    if (finished) return
    if (!stopped) {
      let considered = 0
      for (const e of entries) {
        if (active >= ALPHA + slowSeen || inflight >= MAX_INFLIGHT) break
        if (e.state === 'dead' || e.state === 'slow') continue
        if (considered++ >= host.k) break
        if (e.state !== 'new') continue
        if (e.unverified && activeUnverified >= ALPHA_UNVERIFIED + slowSeen) continue
        send(e)
      }
      if (active > 0) return
      // Nothing useful in flight: done unless some close contact is still waiting for a free slot.
      let waiting = false
      considered = 0
      for (const e of entries) {
        if (e.state === 'dead' || e.state === 'slow') continue
        if (considered++ >= host.k) break
        if (e.state === 'new') { waiting = true; break }
      }
      if (waiting) return
    } else if (active > 0) {
      return
    }
    finished = true
    host.walkEnded()
    process.nextTick(() => cb(null, answered))
  }

  const seeds = host.seeds(target, host.k)
  for (const n of seeds.nodes) add(n)
  for (const r of seeds.routers) {
    const e = add(r)
    if (e && !e.dist) send(e)
  }
  kick()
}

function insertSorted(list: Entry[], e: Entry): void {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (Buffer.compare(list[mid].dist!, e.dist!) < 0) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, e)
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i]
  return out
}
