// Transmission's torrent-get fields (RPC version 17, Transmission 4.0 names: camelCase with a few kebab-case) computed
// from a daemon Entry. Each field is a small function of one per-torrent context, so a request for a few fields of
// many torrents does little work, and the costly ones (files, pieces, peers) only run when asked for.

import { magnetOf } from '../metainfo/magnet.js'
import type { Daemon, Entry } from './daemon.js'
import { fileProgress, sizes } from './views.js'
import { contentType } from './range.js'

/** tr_torrent_activity */
export const TR_STATUS = { stopped: 0, checkWait: 1, check: 2, downloadWait: 3, download: 4, seedWait: 5, seed: 6 } as const

export class FieldContext {
  private _sizes?: ReturnType<typeof sizes>
  private _files?: ReturnType<typeof fileProgress>
  private _totals?: { downloaded: number; uploaded: number }
  private _stats?: ReturnType<Entry['stats']> | null
  constructor(readonly d: Daemon, readonly e: Entry, readonly now: number) {}
  /** Torrent.stats() walks the piece map: once per torrent per request, and only if a field needs it. */
  get stats() {
    if (this._stats === undefined) this._stats = this.e.stats() ?? null
    return this._stats ?? undefined
  }
  get sizes() {
    return (this._sizes ??= sizes(this.e, this.stats))
  }
  get files() {
    return (this._files ??= fileProgress(this.e))
  }
  get totals() {
    return (this._totals ??= this.d.totals(this.e))
  }
  get left(): number {
    return Math.max(0, this.sizes.wanted - this.sizes.have)
  }
  get rateDown(): number {
    return Math.round(this.stats?.downloadRate ?? 0)
  }
  get rateUp(): number {
    return Math.round(this.stats?.uploadRate ?? 0)
  }
  get status(): number {
    switch (this.e.status) {
      case 'checking':
        return TR_STATUS.check
      case 'metadata':
      case 'downloading':
        return TR_STATUS.download
      case 'seeding':
        return TR_STATUS.seed
      default:
        return TR_STATUS.stopped
    }
  }
  get ratio(): number {
    const base = this.totals.downloaded > 0 ? this.totals.downloaded : this.sizes.have
    return base > 0 ? this.totals.uploaded / base : this.totals.uploaded > 0 ? -2 : -1
  }
  get eta(): number {
    if (this.e.status !== 'downloading' && this.e.status !== 'metadata') return -1 // TR_ETA_NOT_AVAIL
    return this.rateDown > 0 ? Math.round(this.left / this.rateDown) : -2 // TR_ETA_UNKNOWN
  }
}

const kib = (n: number) => Math.round(n / 1024)

function bitfield(c: FieldContext): string {
  const m = c.e.metainfo
  const have = c.e.torrent?.picker?.have
  if (!m) return ''
  const out = Buffer.alloc(Math.ceil(m.pieceCount / 8))
  if (have) for (let i = 0; i < have.length; i++) if (have[i]) out[i >> 3] |= 0x80 >> (i & 7)
  return out.toString('base64')
}

function peers(c: FieldContext) {
  const t = c.e.torrent
  const m = c.e.metainfo
  if (!t) return []
  return [...t.peers.values()].map((p) => ({
    address: p.address.host,
    port: p.address.port,
    clientName: '',
    clientIsChoked: p.wire.amChoking,
    clientIsInterested: p.wire.amInterested,
    flagStr: `${p.incoming ? 'I' : ''}${p.wire.amInterested && !p.wire.peerChoking ? 'D' : ''}${p.wire.peerInterested && !p.wire.amChoking ? 'U' : ''}`,
    isDownloadingFrom: p.down.rate() > 0,
    isEncrypted: false,
    isIncoming: p.incoming,
    isUploadingTo: p.up.rate() > 0,
    isUTP: false,
    peerIsChoked: p.wire.peerChoking,
    peerIsInterested: p.wire.peerInterested,
    progress: m ? (p.seed ? 1 : p.haveCount / m.pieceCount) : 0,
    rateToClient: Math.round(p.down.rate()),
    rateToPeer: Math.round(p.up.rate()),
  }))
}

function trackerTiers(c: FieldContext): string[][] {
  return c.e.metainfo?.announce ?? []
}

export const TORRENT_FIELDS: Record<string, (c: FieldContext) => unknown> = {
  activityDate: (c) => (c.rateDown + c.rateUp > 0 ? c.now : Math.max(c.e.record.addedDate, c.e.record.doneDate)),
  addedDate: (c) => c.e.record.addedDate,
  bandwidthPriority: () => 0,
  comment: (c) => c.e.metainfo?.comment ?? '',
  corruptEver: () => 0,
  creator: (c) => c.e.metainfo?.createdBy ?? '',
  dateCreated: (c) => (c.e.metainfo?.creationDate ? Math.floor(c.e.metainfo.creationDate.getTime() / 1000) : 0),
  desiredAvailable: (c) => c.left,
  doneDate: (c) => c.e.record.doneDate,
  downloadDir: (c) => c.e.record.downloadDir,
  downloadedEver: (c) => c.totals.downloaded,
  downloadLimit: (c) => kib(c.e.record.downloadLimit) || 100,
  downloadLimited: (c) => c.e.record.downloadLimit > 0,
  editDate: () => 0,
  error: (c) => (c.e.record.error ? 3 : 0), // TR_STAT_LOCAL_ERROR
  errorString: (c) => c.e.record.error ?? '',
  eta: (c) => c.eta,
  etaIdle: () => -1,
  'file-count': (c) => c.e.metainfo?.files.length ?? 0,
  fileCount: (c) => c.e.metainfo?.files.length ?? 0,
  files: (c) => c.files.map((f) => ({ bytesCompleted: f.bytesCompleted, length: f.length, name: f.path })),
  fileStats: (c) => c.files.map((f, i) => ({ bytesCompleted: f.bytesCompleted, wanted: f.selected, priority: c.e.record.priorities?.[i] ?? 0 })),
  group: () => '',
  hashString: (c) => c.e.infoHash,
  haveUnchecked: () => 0,
  haveValid: (c) => c.sizes.have,
  honorsSessionLimits: () => true,
  id: (c) => c.e.id,
  isFinished: (c) => c.e.record.finished,
  isPrivate: (c) => c.e.metainfo?.private ?? false,
  isStalled: (c) => c.e.status === 'downloading' && c.rateDown === 0 && (c.stats?.peers ?? 0) === 0,
  labels: (c) => c.e.record.labels,
  leftUntilDone: (c) => c.left,
  magnetLink: (c) => (c.e.metainfo ? magnetOf(c.e.metainfo) : c.e.record.magnet ?? `magnet:?xt=urn:btih:${c.e.infoHash}`),
  manualAnnounceTime: () => -1,
  maxConnectedPeers: (c) => c.d.settings.peerLimitPerTorrent,
  metadataPercentComplete: (c) => (c.e.metainfo ? 1 : 0),
  name: (c) => c.e.metainfo?.name ?? c.e.record.name,
  'peer-limit': (c) => c.d.settings.peerLimitPerTorrent,
  peers,
  peersConnected: (c) => c.stats?.peers ?? 0,
  peersFrom: (c) => ({ fromCache: 0, fromDht: 0, fromIncoming: 0, fromLpd: 0, fromLtep: 0, fromPex: 0, fromTracker: c.stats?.peers ?? 0 }),
  peersGettingFromUs: (c) => (c.e.torrent ? [...c.e.torrent.peers.values()].filter((p) => p.up.rate() > 0).length : 0),
  peersSendingToUs: (c) => (c.e.torrent ? [...c.e.torrent.peers.values()].filter((p) => p.down.rate() > 0).length : 0),
  percentComplete: (c) => (c.sizes.total > 0 ? c.sizes.have / c.sizes.total : 0),
  percentDone: (c) => (c.sizes.wanted > 0 ? c.sizes.have / c.sizes.wanted : c.e.metainfo ? 1 : 0),
  pieces: bitfield,
  pieceCount: (c) => c.e.metainfo?.pieceCount ?? 0,
  pieceSize: (c) => c.e.metainfo?.pieceLength ?? 0,
  priorities: (c) => c.files.map((_, i) => c.e.record.priorities?.[i] ?? 0),
  'primary-mime-type': (c) => {
    const m = c.e.metainfo
    if (!m) return 'application/octet-stream'
    const biggest = m.files.reduce((a, b) => (b.length > a.length ? b : a), m.files[0])
    return contentType(biggest.path.join('/')).split(';')[0]
  },
  queuePosition: (c) => c.e.record.queuePosition,
  rateDownload: (c) => c.rateDown,
  rateUpload: (c) => c.rateUp,
  recheckProgress: (c) => (c.e.status === 'checking' ? c.e.checked : 0),
  secondsDownloading: (c) => c.e.seconds('secondsDownloading'),
  secondsSeeding: (c) => c.e.seconds('secondsSeeding'),
  seedIdleLimit: (c) => c.e.record.seedIdleLimit,
  seedIdleMode: (c) => c.e.record.seedIdleMode,
  seedRatioLimit: (c) => c.e.record.seedRatioLimit,
  seedRatioMode: (c) => c.e.record.seedRatioMode,
  sequentialDownload: () => false,
  sizeWhenDone: (c) => c.sizes.wanted,
  startDate: (c) => (c.e.torrent ? Math.floor(c.d.startedAt / 1000) : 0),
  status: (c) => c.status,
  torrentFile: (c) => `${c.d.store.torrentDir}/${c.e.infoHash}.torrent`,
  totalSize: (c) => c.sizes.total,
  trackers: (c) => trackerTiers(c).flatMap((tier, t) => tier.map((url, i) => ({ announce: url, id: t * 100 + i, scrape: '', sitename: hostOf(url), tier: t }))),
  trackerList: (c) => trackerTiers(c).map((tier) => tier.join('\n')).join('\n\n'),
  trackerStats: (c) =>
    trackerTiers(c).flatMap((tier, t) =>
      tier.map((url, i) => ({
        announce: url, announceState: 0, downloadCount: -1, hasAnnounced: true, hasScraped: false, host: hostOf(url), id: t * 100 + i,
        isBackup: i > 0, lastAnnouncePeerCount: 0, lastAnnounceResult: '', lastAnnounceStartTime: 0, lastAnnounceSucceeded: true,
        lastAnnounceTime: 0, lastAnnounceTimedOut: false, lastScrapeResult: '', lastScrapeStartTime: 0, lastScrapeSucceeded: false,
        lastScrapeTime: 0, lastScrapeTimedOut: false, leecherCount: -1, nextAnnounceTime: 0, nextScrapeTime: 0, scrape: '',
        scrapeState: 0, seederCount: -1, sitename: hostOf(url), tier: t,
      })),
    ),
  uploadedEver: (c) => c.totals.uploaded,
  uploadLimit: (c) => kib(c.e.record.uploadLimit) || 100,
  uploadLimited: (c) => c.e.record.uploadLimit > 0,
  uploadRatio: (c) => c.ratio,
  wanted: (c) => c.files.map((f) => (f.selected ? 1 : 0)),
  webseeds: (c) => c.e.metainfo?.urlList ?? [],
  webseedsSendingToUs: () => 0,
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname
  } catch {
    return ''
  }
}
