// What a user may name as a torrent: a .torrent file, a magnet link, `infohash:HEX`, or a bare 40-hex/32-base32 hash.

import { BtError, ExitCode } from '../errors.js'
import { loadTorrentFile } from './load.js'
import { isMagnet, normalizeInfoHash, parseMagnet, type MagnetLink } from './magnet.js'
import type { Metainfo } from './metainfo.js'

export type TorrentSource = { kind: 'torrent'; metainfo: Metainfo } | { kind: 'magnet'; magnet: MagnetLink }

export async function resolveTorrentSource(arg: string): Promise<TorrentSource> {
  if (isMagnet(arg)) return { kind: 'magnet', magnet: parseMagnet(arg) }
  const hashArg = /^infohash:(.*)$/i.exec(arg)?.[1] ?? (/^[0-9a-fA-F]{40}$/.test(arg) ? arg : undefined)
  if (hashArg !== undefined) {
    const infoHash = normalizeInfoHash(hashArg)
    if (!infoHash) throw new BtError(`${arg}: not a valid info hash (40 hex or 32 base32 characters)`, ExitCode.usage)
    return { kind: 'magnet', magnet: { infoHash, trackers: [], webSeeds: [], peers: [] } }
  }
  return { kind: 'torrent', metainfo: await loadTorrentFile(arg) }
}
