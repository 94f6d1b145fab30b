// What a Reader needs from a torrent: its layout, which pieces are on disk, a way to wait for one, verified reads,
// and piece-priority wishes. The session's Torrent implements this structurally once it has its metadata; tests use
// scripted stand-ins.

import type { Metainfo } from '../metainfo/metainfo.js'
import type { PriorityHandle } from '../session/priority.js'

export interface ReadableTorrent {
  readonly metainfo: Metainfo              // files, pieceLength, pieceCount, length
  hasPiece(index: number): boolean         // verified and on disk
  /** Resolves when piece `index` is verified (readAt can serve it, from memory while its write is pending); rejects (BtError) if the torrent is removed/destroyed or signal aborts. */
  waitPiece(index: number, signal?: AbortSignal): Promise<void>
  /** Read verified bytes at absolute torrent offset `position` into buf; returns bytes read. */
  readAt(buf: Buffer, position: number): Promise<number>
  /** A new set of piece-priority wishes; all handles combine (highest wins); release() drops them. */
  createPriorityHandle(): PriorityHandle
}

/**
 * What a Reader or createReadStream accepts: a ReadableTorrent, or a session Torrent as it is, whose metainfo is
 * there once it has its metadata (from its 'ready' event on). Reading one without metadata is an error.
 */
export type ReaderSource = Omit<ReadableTorrent, 'metainfo'> & { readonly metainfo?: Metainfo }
