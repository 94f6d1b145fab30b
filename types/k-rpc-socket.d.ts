declare module 'k-rpc-socket' {
  import { EventEmitter } from 'node:events'
  import type { Socket, RemoteInfo } from 'node:dgram'

  export interface KrpcSocketOptions {
    /** Query timeout in ms (default 2000); a query times out after timeout..1.25×timeout. */
    timeout?: number
    socket?: Socket
    isIP?: (host: string) => number
  }
  export interface KrpcSocketMessage {
    t: Buffer
    y: Buffer
    q?: Buffer
    a?: Record<string, any>
    r?: Record<string, any>
    e?: unknown
  }
  export interface KrpcSocket extends EventEmitter {
    socket: Socket
    inflight: number
    timeout: number
    destroyed: boolean
    query(peer: { host: string; port: number; id?: Buffer }, query: { q: string; a: Record<string, unknown> },
      cb?: (err: Error | null, res: KrpcSocketMessage | null, peer: RemoteInfo | { host: string; port: number }) => void): number
    response(peer: { host?: string; address?: string; port: number }, req: { t: Buffer }, res: Record<string, unknown>, cb?: () => void): void
    error(peer: { host?: string; address?: string; port: number }, req: { t: Buffer }, error: [number, string] | string, cb?: () => void): void
    bind(port?: number, address?: string, cb?: () => void): void
    address(): { address: string; family: string; port: number }
    destroy(cb?: () => void): void
    on(ev: 'query', fn: (msg: KrpcSocketMessage, rinfo: RemoteInfo) => void): this
    on(ev: 'warning' | 'error', fn: (err: Error) => void): this
    on(ev: string, fn: (...args: any[]) => void): this
  }
  function krpcSocket(opts?: KrpcSocketOptions): KrpcSocket
  export default krpcSocket
}
