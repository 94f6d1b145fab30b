// Where torrentfs gets its torrents: a provider turns a .torrent or .magnet file into a readable torrent and drops it
// again. ClientTorrentProvider (the session Client) is the one torrentfs uses.

import type { ReadableTorrent } from '../stream/source.js'
import type { FileLease } from '../storage/file-storage.js'

/** A torrent torrentfs can show: readable, with the name of its top-level entry in the mount. */
export type MountedTorrent = ReadableTorrent & {
  readonly name: string
  /** One line on the torrent's state (peers, pieces in flight) for diagnostics; optional. */
  describe?(): string
  /**
   * File `index` of the torrent open for reading (a descriptor the caller reads itself, held until release). For
   * files whose every piece is verified, so torrentfs can answer the kernel with one pread; optional.
   */
  openForRead?(index: number): Promise<FileLease>
}

export type MetainfoKind = 'torrent' | 'magnet'

export interface TorrentProvider {
  /**
   * Start serving the torrent described by the file at `path` (a .torrent, or a .magnet holding a magnet link).
   * Resolves once its metadata is known; rejects with BtError if the file is bad. `signal` aborts a pending add
   * (the file was removed while its metadata was still being fetched).
   */
  add(path: string, kind: MetainfoKind, signal?: AbortSignal): Promise<MountedTorrent>
  /** Stop serving `t`; its waiting reads reject. */
  remove(t: MountedTorrent): Promise<void>
  /** Stop serving everything (shutdown). */
  close(): Promise<void>
}
