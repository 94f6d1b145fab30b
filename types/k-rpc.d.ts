declare module 'k-rpc' {
  import { EventEmitter } from 'node:events'
  import type { Socket } from 'node:dgram'

  export interface KrpcNode {
    id: Buffer
    host: string
    port: number
    token?: Buffer | null
    seen?: number
  }
  export interface KrpcPeer {
    host?: string
    address?: string
    port: number
    id?: Buffer
    token?: Buffer | null
  }
  export interface KrpcMessage {
    t?: Buffer
    y?: Buffer
    q?: Buffer | string
    a?: Record<string, any>
    r?: Record<string, any>
    e?: unknown
  }
  export interface KBucketLike {
    count(): number
    toArray(): KrpcNode[]
    closest(id: Uint8Array, n?: number): KrpcNode[]
    get(id: Uint8Array): KrpcNode | null
    add(node: KrpcNode): void
    remove(id: Uint8Array): void
  }
  export interface KrpcSocketLike extends EventEmitter {
    socket: Socket
    inflight: number
    timeout: number
  }
  export interface KrpcOptions {
    id?: Buffer
    nodeId?: Buffer
    idLength?: number
    /** host:port strings or {host, port}; [] for none (false also means none; undefined means the public routers). */
    bootstrap?: Array<string | { host: string; port: number }> | false
    nodes?: Array<string | { host: string; port: number }> | false
    concurrency?: number
    backgroundConcurrency?: number
    k?: number
    /** Query timeout in ms (k-rpc-socket); answers arrive after timeout..1.25*timeout at worst. */
    timeout?: number
    socket?: Socket
    krpcSocket?: KrpcSocketLike
    isIP?: (host: string) => number
  }
  export interface KRPC extends EventEmitter {
    id: Buffer
    nodes: KBucketLike
    k: number
    concurrency: number
    socket: KrpcSocketLike
    bootstrap: Array<{ host: string; port: number }>
    pending: unknown[]
    destroyed: boolean
    query(node: KrpcPeer, message: KrpcMessage, cb?: (err: Error | null, res: KrpcMessage | null, peer: KrpcPeer) => void): void
    queryAll(nodes: KrpcPeer[], message: KrpcMessage, visit: ((res: KrpcMessage, peer: KrpcPeer) => boolean | void) | null, cb: (err: Error | null, hits: number) => void): void
    response(peer: KrpcPeer, query: KrpcMessage, response: Record<string, any>, nodes?: KrpcNode[] | null, cb?: () => void): void
    error(peer: KrpcPeer, query: KrpcMessage, error: [number, string] | string, cb?: () => void): void
    closest(target: Buffer, message: KrpcMessage, visit: ((res: KrpcMessage, peer: KrpcPeer) => boolean | void) | null, cb: (err: Error | null, n: number) => void): void
    populate(target: Buffer, message: KrpcMessage, cb: (err: Error | null, n: number) => void): void
    bind(port?: number, address?: string, cb?: () => void): void
    address(): { address: string; family: string; port: number }
    destroy(cb?: () => void): void
    clear(): void
  }
  function krpc(opts?: KrpcOptions): KRPC
  export default krpc
}
