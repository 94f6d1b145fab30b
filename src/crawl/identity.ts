// One DHT identity of the crawler: a node id on its own UDP port (a KrpcSocket). Not bittorrent-dht, nor k-rpc's
// client: their k-bucket table and lookup machinery suit a node that serves one region of the keyspace, while a
// crawler keeps a flat table of thousands of nodes (NodeTable) and schedules its own queries; k-rpc's client also
// queues queries without bound. It answers ping, find_node, get_peers and announce_peer politely (no peers stored:
// answers carry nodes), answers sample_infohashes with an empty sample, and hands on the info hashes others ask about.

import { createHash, randomBytes } from 'node:crypto'
import type { RemoteInfo } from 'node:dgram'
import { encodeCompactNode, type AddressPolicy, type Endpoint } from './address.js'
import { KrpcSocket, type AnswerCallback, type KrpcQuery } from './krpc-socket.js'
import type { NodeTable } from './node-table.js'
import type { KeyedWindowLimiter } from './rate.js'

const TOKEN_ROTATE_MS = 5 * 60_000
const REPLY_NODES = 8

export interface IdentityCounters {
  queriesOut: number
  queriesIn: number
  answersOut: number
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

export type QueryCallback = AnswerCallback

export class CrawlerIdentity {
  readonly id: Buffer
  readonly counters: IdentityCounters = { queriesOut: 0, queriesIn: 0, answersOut: 0 }
  private readonly sock: KrpcSocket
  private secret = randomBytes(16)
  private oldSecret = this.secret
  private readonly rotateTimer: NodeJS.Timeout
  private boundPort = 0

  constructor(private readonly opts: IdentityOptions) {
    this.id = opts.id && opts.id.length === 20 ? Buffer.from(opts.id) : randomBytes(20)
    this.sock = new KrpcSocket(opts.timeout ?? 2000, (q, rinfo) => this.onQuery(q, rinfo))
    this.rotateTimer = setInterval(() => {
      this.oldSecret = this.secret
      this.secret = randomBytes(16)
    }, TOKEN_ROTATE_MS)
    this.rotateTimer.unref()
  }

  async listen(): Promise<number> {
    this.boundPort = await this.sock.bind(this.opts.port, this.opts.host)
    return this.boundPort
  }

  get port(): number {
    return this.boundPort
  }

  get inflight(): number {
    return this.sock.inflight
  }

  /** Bytes in and out, malformed datagrams, late or misaddressed answers. */
  get socketCounters(): KrpcSocket['counters'] {
    return this.sock.counters
  }

  /** Sends a query (the caller applied the address policy and rate caps). `r` is the answer's dict. */
  query(to: Endpoint, q: string, args: Record<string, unknown>, cb: QueryCallback): void {
    this.counters.queriesOut++
    this.sock.query(to.host, to.port, q, { id: this.id, ...args }, cb)
  }

  private token(host: string, secret = this.secret): Buffer {
    return createHash('sha1').update(secret).update(host).digest().subarray(0, 8)
  }

  private onQuery(msg: KrpcQuery, rinfo: RemoteInfo): void {
    const host = rinfo.address
    const port = rinfo.port
    this.counters.queriesIn++
    if (!this.opts.policy.allows(host, port)) return
    // Applies to loopback too (a test can flood from 127.0.0.1); the default leaves room for a local test DHT.
    if (this.opts.incomingLimiter && !this.opts.incomingLimiter.allow(host)) return
    const a = msg.a
    this.opts.onNode?.(a.id as Buffer, host, port)
    const answer = (r: Record<string, unknown>) => {
      this.counters.answersOut++
      this.sock.answer(host, port, msg.t, { id: this.id, ...r })
    }
    const nodesNear = (target: Buffer) => Buffer.concat(
      this.opts.table.closest(target, REPLY_NODES).map((n) => encodeCompactNode(n.id, n.host, n.port)))
    switch (msg.q) {
      case 'ping':
        return answer({})
      case 'find_node':
        return answer({ nodes: nodesNear(a.target as Buffer) })
      case 'get_peers': {
        const hash = a.info_hash as Buffer
        answer({ token: this.token(host), nodes: nodesNear(hash) })
        this.opts.onHash(Buffer.from(hash), { host, port }, 'get_peers')
        return
      }
      case 'announce_peer': {
        const hash = a.info_hash as Buffer
        const token = a.token as Buffer | undefined
        if (!token || !(token.equals(this.token(host)) || token.equals(this.token(host, this.oldSecret)))) {
          this.counters.answersOut++
          this.sock.error(host, port, msg.t, 203, 'bad token')
          return
        }
        const peerPort = a.implied_port === 1 ? port : a.port
        answer({})
        const announced = typeof peerPort === 'number' && this.opts.policy.allows(host, peerPort) ? { host, port: peerPort } : undefined
        this.opts.onHash(Buffer.from(hash), { host, port }, 'announce_peer', announced)
        return
      }
      case 'sample_infohashes':
        // We store no peers, so we have nothing to sample; nodes help the asker go on.
        return answer({ interval: 21600, num: 0, samples: Buffer.alloc(0), nodes: nodesNear((a.target as Buffer | undefined) ?? this.id) })
      default:
        this.counters.answersOut++
        this.sock.error(host, port, msg.t, 204, 'Method Unknown')
    }
  }

  destroy(): Promise<void> {
    clearInterval(this.rotateTimer)
    return this.sock.close()
  }
}
