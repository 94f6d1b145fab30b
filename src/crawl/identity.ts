// One DHT identity of the crawler: a node id on its own UDP port, speaking raw KRPC through k-rpc-socket (the
// transport half of the k-rpc package). Not bittorrent-dht, nor k-rpc's client: their k-bucket table and lookup
// machinery suit a node that serves one region of the keyspace, while a crawler keeps a flat table of thousands of
// nodes (NodeTable) and schedules its own queries; k-rpc's client also queues queries without bound. It answers
// ping, find_node, get_peers and announce_peer politely (no peers stored: answers carry nodes), hands on the info
// hashes others ask about, and checks every datagram strictly before k-rpc-socket sees it.

import { createHash, randomBytes } from 'node:crypto'
import dgram, { type RemoteInfo } from 'node:dgram'
import { createRequire } from 'node:module'
import type { KrpcSocket, KrpcSocketMessage, KrpcSocketOptions } from 'k-rpc-socket'
import { wellFormedKrpc } from '../discovery/dht.js'
import { encodeCompactNode, type AddressPolicy, type Endpoint } from './address.js'
import type { NodeTable } from './node-table.js'
import type { KeyedWindowLimiter } from './rate.js'

// k-rpc-socket is k-rpc's own transport (a dependency of the k-rpc package, not of bt): load it from there.
const requireHere = createRequire(import.meta.url)
const krpcSocket = createRequire(requireHere.resolve('k-rpc'))('k-rpc-socket') as (opts?: KrpcSocketOptions) => KrpcSocket

const TOKEN_ROTATE_MS = 5 * 60_000
const REPLY_NODES = 8

export interface IdentityCounters {
  queriesOut: number
  queriesIn: number
  answersOut: number
  dropped: number
  bytesIn: number
  bytesOut: number
}

export interface IdentityOptions {
  id?: Buffer
  host: string
  port: number
  policy: AddressPolicy
  table: NodeTable
  /** Answers per source IP (shared by all identities). */
  incomingLimiter?: KeyedWindowLimiter
  /** Query timeout in ms. */
  timeout?: number
  /** A node asked about this info hash, or announced a peer for it (then `peer` is that peer). */
  onHash: (hash: Buffer, from: Endpoint, via: 'get_peers' | 'announce_peer', peer?: Endpoint) => void
  /** A node that queried us, worth adding to the table. */
  onNode?: (id: Buffer, host: string, port: number) => void
}

export type QueryCallback = (err: Error | null, r?: Record<string, any>) => void

export class CrawlerIdentity {
  readonly id: Buffer
  readonly counters: IdentityCounters = { queriesOut: 0, queriesIn: 0, answersOut: 0, dropped: 0, bytesIn: 0, bytesOut: 0 }
  private readonly sock: KrpcSocket
  private readonly udp: dgram.Socket
  private secret = randomBytes(16)
  private oldSecret = this.secret
  private readonly rotateTimer: NodeJS.Timeout
  private closed = false

  constructor(private readonly opts: IdentityOptions) {
    this.id = opts.id && opts.id.length === 20 ? Buffer.from(opts.id) : randomBytes(20)
    this.udp = dgram.createSocket('udp4')
    this.sock = krpcSocket({ socket: this.udp, timeout: opts.timeout ?? 2000 })
    // k-rpc-socket decodes with a lenient decoder and trusts the shapes it finds; bittorrent-dht and k-rpc throw on
    // odd types. Drop anything that is not well-formed KRPC before it gets there.
    for (const listener of this.udp.listeners('message') as Array<(b: Buffer, r: RemoteInfo) => void>) {
      this.udp.off('message', listener)
      this.udp.on('message', (buf: Buffer, rinfo: RemoteInfo) => {
        this.counters.bytesIn += buf.length
        if (buf.length > 8192 || !wellFormedKrpc(buf)) {
          this.counters.dropped++
          return
        }
        try {
          listener(buf, rinfo)
        } catch {
          this.counters.dropped++
        }
      })
    }
    const send = this.udp.send.bind(this.udp) as (...args: any[]) => void
    ;(this.udp as unknown as { send: (...args: any[]) => void }).send = (buf: Buffer, ...rest: any[]) => {
      this.counters.bytesOut += buf.length
      send(buf, ...rest)
    }
    this.sock.on('query', (msg, rinfo) => this.onQuery(msg, rinfo))
    this.sock.on('warning', () => { this.counters.dropped++ })
    this.sock.on('error', () => { this.counters.dropped++ })
    this.rotateTimer = setInterval(() => {
      this.oldSecret = this.secret
      this.secret = randomBytes(16)
    }, TOKEN_ROTATE_MS)
    this.rotateTimer.unref()
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.udp.once('error', onError)
      this.sock.bind(this.opts.port, this.opts.host, () => {
        this.udp.off('error', onError)
        resolve(this.udp.address().port)
      })
    })
  }

  get port(): number {
    return this.udp.address().port
  }

  get inflight(): number {
    return this.sock.inflight
  }

  /** Sends a query (the caller applied the address policy and rate caps). `r` is the answer's dict. */
  query(to: Endpoint, q: string, args: Record<string, unknown>, cb: QueryCallback): void {
    if (this.closed) return cb(new Error('closed'))
    this.counters.queriesOut++
    this.sock.query({ host: to.host, port: to.port }, { q, a: { id: this.id, ...args } }, (err, res) => {
      if (err) return cb(err)
      const r = res?.r
      if (!r || !Buffer.isBuffer(r.id) || r.id.length !== 20) return cb(new Error('malformed answer'))
      cb(null, r)
    })
  }

  private token(host: string, secret = this.secret): Buffer {
    return createHash('sha1').update(secret).update(host).digest().subarray(0, 8)
  }

  private onQuery(msg: KrpcSocketMessage, rinfo: RemoteInfo): void {
    const host = rinfo.address
    this.counters.queriesIn++
    if (!this.opts.policy.allows(host, rinfo.port)) return
    // Applies to loopback too (a test can flood from 127.0.0.1); the default leaves room for a local test DHT.
    if (this.opts.incomingLimiter && !this.opts.incomingLimiter.allow(host)) return
    const a = msg.a as Record<string, any>
    const q = msg.q?.toString('latin1') ?? ''
    const peer = { address: host, port: rinfo.port }
    this.opts.onNode?.(a.id as Buffer, host, rinfo.port)
    const answer = (r: Record<string, unknown>) => {
      this.counters.answersOut++
      this.sock.response(peer, msg, { id: this.id, ...r })
    }
    const nodesNear = (target: Buffer) => Buffer.concat(
      this.opts.table.closest(target, REPLY_NODES).map((n) => encodeCompactNode(n.id, n.host, n.port)))
    switch (q) {
      case 'ping':
        return answer({})
      case 'find_node':
        return answer({ nodes: nodesNear(a.target as Buffer) })
      case 'get_peers': {
        const hash = a.info_hash as Buffer
        answer({ token: this.token(host), nodes: nodesNear(hash) })
        this.opts.onHash(Buffer.from(hash), { host, port: rinfo.port }, 'get_peers')
        return
      }
      case 'announce_peer': {
        const hash = a.info_hash as Buffer
        const token = a.token as Buffer | undefined
        if (!token || !(token.equals(this.token(host)) || token.equals(this.token(host, this.oldSecret)))) {
          this.counters.answersOut++
          this.sock.error(peer, msg, [203, 'bad token'])
          return
        }
        const port = a.implied_port === 1 ? rinfo.port : a.port
        answer({})
        const announced = typeof port === 'number' && this.opts.policy.allows(host, port) ? { host, port } : undefined
        this.opts.onHash(Buffer.from(hash), { host, port: rinfo.port }, 'announce_peer', announced)
        return
      }
      case 'sample_infohashes':
        // We store no peers, so we have nothing to sample; nodes help the asker go on.
        return answer({ interval: 21600, num: 0, samples: Buffer.alloc(0), nodes: nodesNear(a.target as Buffer ?? this.id) })
      default:
        this.counters.answersOut++
        this.sock.error(peer, msg, [204, 'Method Unknown'])
    }
  }

  destroy(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    clearInterval(this.rotateTimer)
    return new Promise((resolve) => {
      try {
        this.sock.destroy(() => resolve())
      } catch {
        resolve()
      }
    })
  }
}
