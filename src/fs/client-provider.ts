// torrentfs's source of torrents: the session Client. Each .torrent or .magnet file becomes a stream-mode torrent,
// which fetches only what Readers ask for (plus their readahead) and serves what is already on disk at once.

import { readFile } from 'node:fs/promises'
import { BtError, ExitCode, errorMessage } from '../errors.js'
import { loadTorrentFile } from '../metainfo/load.js'
import { parseMagnet } from '../metainfo/magnet.js'
import type { Metainfo } from '../metainfo/metainfo.js'
import type { PeerAddress } from '../discovery/peer-address.js'
import type { Client } from '../session/client.js'
import type { Torrent } from '../session/torrent.js'
import type { PriorityHandle } from '../session/priority.js'
import type { FileLease } from '../storage/file-storage.js'
import type { MetainfoKind, MountedTorrent, TorrentProvider } from './provider.js'

/** A session Torrent whose metadata is known, seen through the ReadableTorrent interface. */
class ClientMountedTorrent implements MountedTorrent {
  readonly metainfo: Metainfo
  readonly name: string
  constructor(readonly torrent: Torrent) {
    this.metainfo = torrent.metainfo!
    this.name = this.metainfo.name
  }
  hasPiece(i: number): boolean {
    return this.torrent.hasPiece(i)
  }
  waitPiece(i: number, signal?: AbortSignal): Promise<void> {
    return this.torrent.waitPiece(i, signal)
  }
  readAt(buf: Buffer, position: number): Promise<number> {
    return this.torrent.readAt(buf, position)
  }
  createPriorityHandle(): PriorityHandle {
    return this.torrent.createPriorityHandle()
  }
  openForRead(index: number): Promise<FileLease> {
    if (!this.torrent.storage) return Promise.reject(new BtError(`${this.name}: no storage`, ExitCode.io))
    return this.torrent.storage.openForRead(index)
  }
  describe(): string {
    const t = this.torrent
    const p = t.picker
    const inFlight = p ? [...p.inProgress.values()].map((x) => `${x.index}${x.complete ? '(written?)' : `(${x.receivedCount}/${x.blocks} got, ${x.pending} asked)`}`) : []
    const peers = [...t.peers.values()].map((peer) => {
      const w = peer.wire
      const s = peer.socket as { bytesRead?: number; bytesWritten?: number; localPort?: number; remotePort?: number; writableLength: number; _handle?: { reading?: boolean } }
      return `${peer.key}${w.peerChoking ? ' choking us' : ''}${w.amInterested ? '' : ' not interested'} ${peer.outstanding.size} asked (wire ${w.requests.length}), got ${w.downloaded} B; ${s.bytesRead === undefined ? 'uTP' : `TCP ${s.localPort}->${s.remotePort} read ${s.bytesRead} B wrote ${s.bytesWritten} B reading ${s._handle?.reading}`} backlog ${w.backlog}+${s.writableLength}`
    })
    return `${t.state}, have ${p?.haveCount ?? 0}/${this.metainfo.pieceCount}, peers [${peers.join('; ')}], pieces in flight [${inFlight.join(' ')}]`
  }
}

export interface ClientProviderOptions {
  downloadDir: string
  /** Extra peers and trackers for every torrent (torrentfs --peer, --tracker). */
  peers?: PeerAddress[]
  trackers?: string[][]
  onWarning?: (message: string) => void
}

export class ClientTorrentProvider implements TorrentProvider {
  private readonly mounted = new Map<MountedTorrent, Torrent>()

  constructor(private readonly client: Client, private readonly opts: ClientProviderOptions) {}

  async add(path: string, kind: MetainfoKind, signal?: AbortSignal): Promise<MountedTorrent> {
    const common = { dir: this.opts.downloadDir, stream: true, peers: this.opts.peers, trackers: this.opts.trackers }
    let t: Torrent
    if (kind === 'torrent') {
      t = this.client.add(await loadTorrentFile(path), common)
    } else {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (err) {
        throw new BtError(`${path}: ${errorMessage(err)}`, ExitCode.io)
      }
      const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? ''
      let link
      try {
        link = parseMagnet(line)
      } catch (err) {
        throw new BtError(`${path}: ${errorMessage(err)}`, ExitCode.usage)
      }
      t = this.client.add(link, { ...common, name: link.name })
    }
    if ([...this.mounted.values()].includes(t)) throw new BtError(`${path}: the same torrent is already mounted`, ExitCode.usage)
    t.on('warning', (m: string) => this.opts.onWarning?.(`${t.name}: ${m}`))
    // Readers need the piece map: wait for metadata and the check of existing data.
    try {
      await new Promise<void>((resolve, reject) => {
        if (t.picker) return resolve()
        const onAbort = () => reject(new BtError(`${path}: removed before its metadata arrived`, ExitCode.usage))
        signal?.addEventListener('abort', onAbort, { once: true })
        t.once('ready', () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        })
        t.once('error', (err: unknown) => reject(err))
      })
    } catch (err) {
      await this.client.remove(t)
      throw err
    }
    const mt = new ClientMountedTorrent(t)
    this.mounted.set(mt, t)
    return mt
  }

  async remove(mt: MountedTorrent): Promise<void> {
    const t = this.mounted.get(mt)
    if (!t) return
    this.mounted.delete(mt)
    await this.client.remove(t)
  }

  async close(): Promise<void> {
    this.mounted.clear()
    await this.client.destroy()
  }
}
