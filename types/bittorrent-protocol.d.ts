declare module 'bittorrent-protocol' {
  import { Duplex } from 'node:stream'

  export interface BitFieldLike {
    buffer: Uint8Array
    get(index: number): boolean
    set(index: number, value?: boolean): void
  }

  export interface WireRequest {
    piece: number
    offset: number
    length: number
    callback: (err: Error | null, buf?: Uint8Array) => void
  }

  export interface ExtensionInstance {
    name?: string
    onHandshake?(infoHash: string, peerId: string, extensions: Record<string, boolean>): void
    onExtendedHandshake?(handshake: Record<string, any>): void
    onMessage?(buf: Uint8Array): void
  }
  export type ExtensionClass = { new (wire: Wire): ExtensionInstance; prototype: { name: string } }

  export default class Wire extends Duplex {
    constructor(type?: string, peEnabled?: number)
    peerId: string | null
    peerIdBuffer: Uint8Array | null
    type: string
    amChoking: boolean
    amInterested: boolean
    peerChoking: boolean
    peerInterested: boolean
    peerPieces: BitFieldLike
    extensions: Record<string, boolean>
    peerExtensions: Record<string, boolean>
    requests: WireRequest[]
    peerRequests: WireRequest[]
    extendedMapping: Record<number, string>
    peerExtendedMapping: Record<string, number>
    extendedHandshake: Record<string, any>
    peerExtendedHandshake: Record<string, any>
    hasFast: boolean
    uploaded: number
    downloaded: number
    uploadSpeed(n?: number): number
    downloadSpeed(n?: number): number
    [ext: string]: any

    _write(chunk: any, ...rest: any[]): void
    setKeepAlive(enable: boolean): void
    setTimeout(ms: number, unref?: boolean): void
    destroy(err?: Error): this
    end(data?: any): this
    use(ext: ExtensionClass): void
    handshake(infoHash: string | Uint8Array, peerId: string | Uint8Array, extensions?: Record<string, boolean>): void
    choke(): void
    unchoke(): void
    interested(): void
    uninterested(): void
    have(index: number): void
    bitfield(bitfield: Uint8Array | BitFieldLike): void
    request(index: number, offset: number, length: number, cb?: (err: Error | null, buf?: Uint8Array) => void): void
    piece(index: number, offset: number, buffer: Uint8Array): void
    cancel(index: number, offset: number, length: number): void
    port(port: number): void
    haveAll(): void
    haveNone(): void
    reject(index: number, offset: number, length: number): void
    allowedFast(index: number): void
    extended(ext: string | number, obj: unknown): void
  }
}
