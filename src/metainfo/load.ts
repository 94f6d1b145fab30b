// Read a .torrent file from disk (or bytes from anywhere) with errors a user can act on.

import { readFile } from 'node:fs/promises'
import { BtError, ExitCode, fromSystemError } from '../errors.js'
import { parseTorrent, type Metainfo } from './metainfo.js'

const MAX_TORRENT_FILE = 64 * 1024 * 1024

export async function readTorrentBytes(path: string): Promise<Buffer> {
  try {
    const buf = await readFile(path)
    if (buf.length > MAX_TORRENT_FILE) throw new BtError(`${path}: not a valid torrent: larger than 64 MiB`, ExitCode.usage)
    return buf
  } catch (err) {
    if (err instanceof BtError) throw err
    const code = (err as NodeJS.ErrnoException).code
    // A torrent named on the command line that cannot be read is bad input (2), not a failing disk (4).
    if (code === 'EISDIR') throw new BtError(`${path}: is a directory, not a torrent file`, ExitCode.usage)
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') throw fromSystemError(err, path, ExitCode.usage)
    throw fromSystemError(err, path)
  }
}

export async function loadTorrentFile(path: string): Promise<Metainfo> {
  return parseTorrent(await readTorrentBytes(path), path)
}
