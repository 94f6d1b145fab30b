declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'
  import type { KRPC, KBucketLike } from 'k-rpc'

  export interface DHTOptions {
    nodeId?: Buffer | string
    /** Bootstrap nodes (used only when krpc is not given), or false to skip the initial find_node walk. */
    bootstrap?: Array<string | { host: string; port: number }> | false
    /** Our public IP: announce() then also stores us in our own peer store. */
    host?: string | false
    concurrency?: number
    krpc?: KRPC
    timeBucketOutdated?: number
    maxAge?: number
    maxPeers?: number
    maxTables?: number
    maxValues?: number
  }

  export default class DHT extends EventEmitter {
    constructor(opts?: DHTOptions)
    nodeId: Buffer
    nodes: KBucketLike
    listening: boolean
    destroyed: boolean
    ready?: boolean
    _rpc: KRPC
    _onquery(query: any, peer: { address: string; port: number }): void
    _ongetpeers(query: any, peer: { address: string; port: number }): void
    _peers: { get(key: string, n?: number): Buffer[]; add(key: string, value: Buffer): void }
    _generateToken(host: string, secret?: Buffer): Buffer
    addNode(node: { host: string; port: number; id?: Buffer | string }): void
    removeNode(id: Buffer | string): void
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, n?: number) => void): () => void
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null, n?: number) => void): void
    announce(infoHash: Buffer | string, cb?: (err: Error | null, n?: number) => void): void
    address(): { address: string; family: string; port: number }
    listen(port?: number, address?: string, cb?: () => void): void
    toJSON(): { nodes: Array<{ host: string; port: number }>; values: Record<string, unknown> }
    destroy(cb?: () => void): void
  }
}
