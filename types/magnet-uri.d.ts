declare module 'magnet-uri' {
  export interface MagnetData {
    infoHash?: string
    name?: string
    announce: string[]
    urlList: string[]
    peerAddresses: string[]
    so?: number[]
    [key: string]: unknown
  }
  export function decode(uri: string): MagnetData
  export function encode(data: Record<string, unknown>): string
  const magnetURIDecode: typeof decode
  export default magnetURIDecode
}
