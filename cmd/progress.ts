// Progress display for commands that run torrents: cli-progress bars on a terminal, a plain status line every few
// seconds otherwise, JSON events on stdout with --json, nothing with --quiet.

import cliProgress from 'cli-progress'
import type { Torrent, TorrentStats } from '../src/session/torrent.js'
import { formatBytes, formatDuration, formatRate } from '../src/format.js'
import { stderrIsTTY } from './cli.js'

export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet'

export function progressMode(args: { json?: boolean; quiet?: boolean }): ProgressMode {
  if (args.json) return 'json'
  if (args.quiet) return 'quiet'
  return stderrIsTTY() ? 'bars' : 'lines'
}

export function jsonEvent(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ event, time: new Date().toISOString(), ...fields }) + '\n')
}

/** With -v: why connections ended so far, e.g. " (ended: 3 refused, 2 in handshake)"; empty when none did. */
export function endsText(s: TorrentStats): string {
  const e = s.ends
  const parts = [
    e.refused && `${e.refused} refused`, e.timeout && `${e.timeout} timed out`, e.handshake && `${e.handshake} in handshake`,
    e.closed && `${e.closed} closed`, e.banned && `${e.banned} banned`, e.encryption && `${e.encryption} refused for encryption`,
  ].filter(Boolean)
  return parts.length ? ` (ended: ${parts.join(', ')})` : ''
}

function statusText(s: TorrentStats, checking?: [number, number], verbose = false, withEnds = verbose): string {
  if (withEnds && s.state !== 'checking' && s.state !== 'done') return statusText(s, checking, verbose, false) + endsText(s)
  if (s.state === 'metadata') {
    const d = s.dht
    // -v: what the DHT is doing while the metadata is awaited
    const dht = verbose && d ? `; DHT ${d.nodes} nodes, ${d.answering} answering, ${d.candidates} saved to try, ${d.lookups} lookups, ${d.inflight} queries in flight` : ''
    return `fetching metadata (${s.peers} peers, ${s.knownPeers} known${dht})`
  }
  if (s.state === 'checking') return `checking ${checking ? ((100 * checking[0]) / Math.max(1, checking[1])).toFixed(0) : 0}%`
  const pct = s.wanted > 0 ? (100 * s.have) / s.wanted : 100
  const eta = s.downloadRate > 0 ? formatDuration((s.wanted - s.have) / s.downloadRate) : '--'
  const tail = `down ${formatRate(s.downloadRate)} up ${formatRate(s.uploadRate)} peers ${s.peers}`
  if (s.state === 'seeding') return `seeding, ${formatBytes(s.have)}, up ${formatRate(s.uploadRate)}, ${formatBytes(s.uploaded)} sent, peers ${s.peers}`
  if (s.state === 'done') return `done, ${formatBytes(s.have)}`
  return `${pct.toFixed(1)}% ${formatBytes(s.have)}/${formatBytes(s.wanted)} ${tail} ETA ${eta}`
}

export class ProgressView {
  private bars?: cliProgress.MultiBar
  private readonly entries = new Map<Torrent, { bar?: cliProgress.SingleBar; checking?: [number, number] }>()
  private timer?: NodeJS.Timeout

  constructor(private readonly mode: ProgressMode, private readonly verbose = false) {
    if (mode === 'bars') {
      this.bars = new cliProgress.MultiBar(
        {
          format: '{name} [{bar}] {status}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          barsize: 24,
          fps: 4,
          autopadding: true,
        },
        cliProgress.Presets.shades_classic,
      )
    }
    const every = mode === 'json' ? 1000 : mode === 'lines' ? 5000 : 500
    if (mode !== 'quiet') {
      this.timer = setInterval(() => this.render(), every)
      this.timer.unref()
    }
  }

  add(t: Torrent): void {
    const entry: { bar?: cliProgress.SingleBar; checking?: [number, number] } = {}
    this.entries.set(t, entry)
    const name = t.name.length > 28 ? t.name.slice(0, 27) + '…' : t.name
    entry.bar = this.bars?.create(1, 0, { name: name.padEnd(28), status: 'starting' })
    t.on('checking', (done: number, total: number) => (entry.checking = [done, total]))
    if (this.mode === 'json') {
      jsonEvent('added', { infoHash: t.infoHash, name: t.name })
      t.on('metadata', () => jsonEvent('metadata', { infoHash: t.infoHash, name: t.name, length: t.metainfo?.length, files: t.metainfo?.files.length }))
      t.on('warning', (message: string) => jsonEvent('warning', { infoHash: t.infoHash, message }))
    } else if (this.mode === 'lines') {
      t.on('metadata', () => this.log(`${t.name}: got metadata`))
    }
    t.on('metadata', () => {
      if (entry.bar) entry.bar.update(0, { name: (t.name.length > 28 ? t.name.slice(0, 27) + '…' : t.name).padEnd(28) })
    })
  }

  /** A message on stderr that does not tear the bars. */
  log(line: string): void {
    if (this.mode === 'quiet' || this.mode === 'json') return
    if (this.bars) this.bars.log(line + '\n')
    else process.stderr.write(line + '\n')
  }

  render(): void {
    for (const [t, entry] of this.entries) {
      const s = t.stats()
      if (this.mode === 'json') {
        if (s.state === 'downloading' || s.state === 'metadata' || s.state === 'seeding' || s.state === 'checking') {
          jsonEvent('progress', { ...s })
        }
      } else if (this.mode === 'lines') {
        if (s.state !== 'done') this.log(`${t.name}: ${statusText(s, entry.checking, this.verbose)}`)
      } else if (entry.bar) {
        entry.bar.setTotal(Math.max(1, s.wanted))
        entry.bar.update(s.have, { status: statusText(s, entry.checking, this.verbose) })
      }
    }
  }

  stop(): void {
    clearInterval(this.timer)
    if (this.bars) {
      this.render()
      this.bars.stop()
    }
  }
}
