// The JSON shapes of the REST API: a torrent's summary (the list), its details (files, peers, trackers) and
// per-file progress. Pure functions of a daemon Entry, shared by REST, SSE and the Transmission mapping.

import { magnetOf } from '../metainfo/magnet.js'
import type { Daemon, Entry } from './daemon.js'

export interface FileProgress {
  index: number
  path: string
  length: number
  bytesCompleted: number
  selected: boolean
}

/** Verified bytes of each file, from the piece map (pad files included, as Transmission lists them). */
export function fileProgress(e: Entry): FileProgress[] {
  const m = e.metainfo
  if (!m) return []
  const have = e.torrent?.picker?.have
  return m.files.map((f, index) => {
    let done = 0
    if (have && f.length > 0) {
      const first = Math.floor(f.offset / m.pieceLength)
      const last = Math.floor((f.offset + f.length - 1) / m.pieceLength)
      for (let p = first; p <= last; p++) {
        if (!have[p]) continue
        const from = Math.max(f.offset, p * m.pieceLength)
        const to = Math.min(f.offset + f.length, (p + 1) * m.pieceLength)
        done += to - from
      }
    } else if (!have && e.record.doneDate && e.selected(index)) {
      done = f.length // paused after completion: the data is there
    }
    return { index, path: f.path.join('/'), length: f.length, bytesCompleted: done, selected: e.selected(index) }
  })
}

/** Bytes wanted (selected files) and verified, live or estimated for a paused torrent. */
export function sizes(e: Entry, s = e.stats()): { total: number; wanted: number; have: number } {
  const m = e.metainfo
  const total = m?.length ?? 0
  if (s && e.torrent?.picker) return { total, wanted: s.wanted, have: s.have }
  if (!m) return { total, wanted: 0, have: 0 }
  let wanted = 0
  m.files.forEach((f, i) => {
    if (!f.padding && e.selected(i)) wanted += f.length
  })
  // Without a live piece map, a paused torrent counts as complete only if it once finished.
  return { total, wanted, have: e.record.doneDate ? wanted : 0 }
}

export function summary(d: Daemon, e: Entry) {
  const r = e.record
  const s = e.stats()
  const z = sizes(e, s)
  const tot = d.totals(e)
  const rateDown = s?.downloadRate ?? 0
  const left = Math.max(0, z.wanted - z.have)
  const ratioBase = tot.downloaded > 0 ? tot.downloaded : z.have
  return {
    id: r.id,
    infoHash: r.infoHash,
    name: e.metainfo?.name ?? r.name,
    state: e.status,
    progress: z.wanted > 0 ? z.have / z.wanted : e.metainfo && z.wanted === 0 ? 1 : 0,
    checkProgress: e.status === 'checking' ? e.checked : undefined,
    size: z.wanted,
    totalSize: z.total,
    have: z.have,
    downloaded: tot.downloaded,
    uploaded: tot.uploaded,
    downloadRate: Math.round(rateDown),
    uploadRate: Math.round(s?.uploadRate ?? 0),
    ratio: ratioBase > 0 ? tot.uploaded / ratioBase : 0,
    eta: !e.metainfo ? null : left === 0 ? 0 : rateDown > 1 ? Math.round(left / rateDown) : null,
    peers: s?.peers ?? 0,
    seeds: s?.seeds ?? 0,
    error: r.error ?? null,
    paused: r.paused,
    downloadDir: r.downloadDir,
    downloadLimit: r.downloadLimit,
    uploadLimit: r.uploadLimit,
    labels: r.labels,
    addedAt: r.addedDate,
    doneAt: r.doneDate || null,
    magnet: e.metainfo ? magnetOf(e.metainfo) : r.magnet ?? `magnet:?xt=urn:btih:${r.infoHash}`,
  }
}

export function details(d: Daemon, e: Entry) {
  const m = e.metainfo
  const t = e.torrent
  const peers = t
    ? [...t.peers.values()].map((p) => ({
        address: p.key,
        incoming: p.incoming,
        progress: m ? (p.seed ? 1 : p.haveCount / m.pieceCount) : 0,
        downloadRate: Math.round(p.down.rate()),
        uploadRate: Math.round(p.up.rate()),
        choked: p.wire.peerChoking,
        interested: p.wire.amInterested,
      }))
    : []
  const trackers = m ? m.announce.flat() : []
  return {
    ...summary(d, e),
    pieceLength: m?.pieceLength ?? null,
    pieceCount: m?.pieceCount ?? null,
    private: m?.private ?? false,
    comment: m?.comment ?? null,
    files: fileProgress(e).filter((_, i) => !m!.files[i].padding),
    peerList: peers,
    trackers,
  }
}
