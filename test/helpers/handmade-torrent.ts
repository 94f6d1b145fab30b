// Hand-built multi-file torrents with seeded contents (pad files zero), for storage tests.
import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { parseTorrent, type Metainfo } from '../../src/metainfo/metainfo.js'
import { seededBytes } from './tmp.js'

export interface FileSpec {
  path: string[]
  length: number
  pad?: boolean
}

/** A hand-built multi-file torrent named `tor` (seeded contents, pad ranges zero) and its whole byte stream. */
export function buildTorrent(files: FileSpec[], pieceLength: number, seed = 5): { m: Metainfo; payload: Buffer } {
  const total = files.reduce((s, f) => s + f.length, 0)
  const payload = seededBytes(total, seed)
  let off = 0
  for (const f of files) {
    if (f.pad) payload.fill(0, off, off + f.length)
    off += f.length
  }
  const hashes: Buffer[] = []
  for (let p = 0; p < total; p += pieceLength) hashes.push(createHash('sha1').update(payload.subarray(p, p + pieceLength)).digest())
  const info = {
    name: 'tor',
    'piece length': pieceLength,
    pieces: Buffer.concat(hashes),
    files: files.map((f) => ({ length: f.length, path: f.path, ...(f.pad ? { attr: 'p' } : {}) })),
  }
  return { m: parseTorrent(Buffer.from(bencode.encode({ info }))), payload }
}
