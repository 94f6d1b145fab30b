declare module 'bencode' {
  function encode(data: unknown, buffer?: Uint8Array, offset?: number): Uint8Array
  function decode(data: Uint8Array, start?: number, end?: number, encoding?: string): any
  function byteLength(value: unknown): number
  const bencode: { encode: typeof encode; decode: typeof decode; byteLength: typeof byteLength; encodingLength: typeof byteLength }
  export default bencode
}
