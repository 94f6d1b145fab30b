// Progress display for commands that run torrents: live lines fitted to the terminal on a TTY, a plain status line
// every few seconds otherwise, JSON events on stdout with --json, nothing with --quiet.
// The status line is a list of fields with priorities (statusFields): to show something new, add one entry there.

import type { Torrent, TorrentStats } from '../src/session/torrent.js'
import { fitFields, formatBytes, formatDuration, formatRate, formatRateShort, truncate, type StatusField } from '../src/format.js'
import { stderrIsTTY } from './cli.js'
import { LiveArea } from './terminal.js'

export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet'

export function progressMode(args: { json?: boolean; quiet?: boolean }): ProgressMode {
  if (args.json) return 'json'
  if (args.quiet) return 'quiet'
  return stderrIsTTY() ? 'bars' : 'lines'
}

export function jsonEvent(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ event, time: new Date().toISOString(), ...fields }) + '\n')
}

/** What the status line knows beyond a torrent's own stats. */
export interface StatusContext {
  /** Hash-check progress [done, total] while checking. */
  checking?: [number, number]
  /** -v: more fields (what the DHT is doing while metadata is awaited). */
  verbose?: boolean
  /** The torrent came with its metainfo (a .torrent, bt seed): before it starts it is not fetching metadata. */
  hasMetadata?: boolean
}

/**
 * The fields of a torrent's status line, in display order. Priority 0 stays longest; higher numbers are shortened,
 * then dropped, first as the terminal narrows.
 */
export function statusFields(s: TorrentStats, ctx: StatusContext = {}): StatusField[] {
  const peers: StatusField = { text: `${s.peers} peers`, short: `${s.peers}p`, priority: 2 }
  const d = s.dht
  const dht: StatusField[] = !d ? [] : [
    { text: `DHT ${d.nodes} nodes`, short: `dht ${d.nodes}`, priority: 2 },
    // -v: what the DHT is doing while the metadata is awaited
    ...(ctx.verbose ? [
      { text: `${d.answering} answering`, priority: 4 },
      { text: `${d.candidates} saved to try`, priority: 5 },
      { text: `${d.lookups} lookups`, priority: 5 },
      { text: `${d.inflight} queries in flight`, priority: 4 },
    ] : []),
  ]
  const list = (f: StatusField): StatusField => ({ ...f, sep: ', ' })
  const fields = baseFields(s, ctx, peers, dht, list)
  // -v: why connections ended so far, e.g. "ended: 3 refused, 2 in handshake" (not while checking or when done)
  const ended = ctx.verbose && s.state !== 'checking' && s.state !== 'done' ? endsText(s) : ''
  return ended ? [...fields, { text: ended, short: ended.replace(/ in handshake/, ' hs'), priority: 3, sep: '; ' }] : fields
}

/** Why connections ended so far: "ended: 3 refused, 2 in handshake"; empty when none did. */
export function endsText(s: TorrentStats): string {
  const e = s.ends
  if (!e) return ''
  const parts = [
    e.refused && `${e.refused} refused`, e.timeout && `${e.timeout} timed out`, e.handshake && `${e.handshake} in handshake`,
    e.closed && `${e.closed} closed`, e.banned && `${e.banned} banned`, e.encryption && `${e.encryption} refused for encryption`,
  ].filter(Boolean)
  return parts.length ? `ended: ${parts.join(', ')}` : ''
}

function baseFields(s: TorrentStats, ctx: StatusContext, peers: StatusField, dht: StatusField[], list: (f: StatusField) => StatusField): StatusField[] {
  switch (s.state) {
    case 'metadata':
      // A torrent's state is 'metadata' until it starts, even when it was added with its metainfo.
      if (ctx.hasMetadata) return [{ text: 'starting', priority: 0 }]
      return [
        { text: 'fetching metadata:', short: 'metadata:', priority: 0 },
        { ...peers, priority: 1, sep: ' ' },
        list({ text: `${s.knownPeers} known`, short: `${s.knownPeers}k`, priority: 3 }),
        ...dht.map(list),
      ]
    case 'checking': {
      const c = ctx.checking
      return [{ text: `checking ${c ? ((100 * c[0]) / Math.max(1, c[1])).toFixed(0) : 0}%`, priority: 0 }]
    }
    case 'seeding':
      return [
        { text: 'seeding', priority: 0 },
        { text: formatBytes(s.have), priority: 4 },
        { text: `up ${formatRate(s.uploadRate)}`, short: `↑${formatRateShort(s.uploadRate)}`, priority: 1 },
        { text: `${formatBytes(s.uploaded)} sent`, priority: 3 },
        peers,
      ]
    case 'done':
      return [{ text: `done, ${formatBytes(s.have)}`, short: 'done', priority: 0 }]
    default: {
      const pct = s.wanted > 0 ? (100 * s.have) / s.wanted : 100
      const eta = s.downloadRate > 0 ? formatDuration((s.wanted - s.have) / s.downloadRate) : '--'
      return [
        { text: `${pct.toFixed(1)}%`, short: `${Math.floor(pct)}%`, priority: 0 },
        { text: `${formatBytes(s.have)}/${formatBytes(s.wanted)}`, short: formatBytes(s.have), priority: 5 },
        { text: `down ${formatRate(s.downloadRate)}`, short: `↓${formatRateShort(s.downloadRate)}`, priority: 1 },
        { text: `up ${formatRate(s.uploadRate)}`, short: `↑${formatRateShort(s.uploadRate)}`, priority: 4 },
        peers,
        { text: `ETA ${eta}`, short: eta, priority: 1 },
      ]
    }
  }
}

/** The status of a torrent as one unbounded line (logs, non-terminal output). */
export function statusText(s: TorrentStats, ctx: StatusContext = {}): string {
  return fitFields(statusFields(s, ctx), Infinity)
}

const BAR_MAX = 24
const BAR_MIN = 6 // the bar's inside, in columns
const NAME_MIN = 12

/**
 * A torrent's live line in `width` columns: `name [#####-----] status`. The status gets room first (down to its most
 * important fields), then the name (at least NAME_MIN), then the bar, which goes when there is no room for it.
 */
export function progressLine(name: string, fraction: number | undefined, fields: StatusField[], width: number): string {
  const nameWant = Math.min([...name].length, 40)
  // On a usual terminal a short bar keeps its place; below 60 columns the numbers matter more.
  const barRoom = fraction !== undefined && width >= 60 ? BAR_MIN + 6 + 1 : 0
  const status = fitFields(fields, Math.max(0, width - Math.min(nameWant, NAME_MIN) - 1 - barRoom))
  let left = width - status.length - 1
  const nameLen = Math.max(Math.min(nameWant, NAME_MIN), Math.min(nameWant, left - (BAR_MIN + 3)))
  const shownName = truncate(name, Math.min(nameLen, Math.max(0, left)))
  left -= shownName.length + 1
  const parts = [shownName]
  if (fraction !== undefined && left >= BAR_MIN + 2) {
    const size = Math.min(BAR_MAX, left - 2)
    const full = Math.round(Math.max(0, Math.min(1, fraction)) * size)
    parts.push(`[${'#'.repeat(full)}${'-'.repeat(size - full)}]`)
  }
  if (status) parts.push(status)
  return truncate(parts.filter(Boolean).join(' '), width)
}

export interface ProgressOptions {
  /** -v: the longer status line. */
  verbose?: boolean
}

export class ProgressView {
  private live?: LiveArea
  private readonly entries = new Map<Torrent, StatusContext>()
  private timer?: NodeJS.Timeout

  constructor(private readonly mode: ProgressMode, private readonly opts: ProgressOptions = {}) {
    if (mode === 'bars') this.live = new LiveArea((width) => this.lines(width))
    const every = mode === 'json' ? 1000 : mode === 'lines' ? 5000 : 250
    if (mode !== 'quiet') {
      this.timer = setInterval(() => this.render(), every)
      this.timer.unref()
    }
  }

  private context(entry: StatusContext, t: Torrent): StatusContext {
    return { ...entry, verbose: this.opts.verbose, hasMetadata: Boolean(t.metainfo) }
  }

  private lines(width: number): string[] {
    const out: string[] = []
    for (const [t, entry] of this.entries) {
      const s = t.stats()
      const fraction = s.state === 'metadata' ? undefined : s.state === 'checking' ? (entry.checking ? entry.checking[0] / Math.max(1, entry.checking[1]) : 0) : s.wanted > 0 ? s.have / s.wanted : 1
      out.push(progressLine(t.name, fraction, statusFields(s, this.context(entry, t)), width))
    }
    return out
  }

  add(t: Torrent): void {
    const entry: StatusContext = {}
    this.entries.set(t, entry)
    // A torrent added with its metainfo (a .torrent file, bt seed) had it all along: nothing to announce.
    const fetched = !t.metainfo
    t.on('checking', (done: number, total: number) => (entry.checking = [done, total]))
    // Tracker failures, bans, hash failures, resume-state trouble: each distinct message once (a failing save is
    // retried every few seconds and again at exit; the user needs to read it once). --quiet hides them.
    const said = new Set<string>()
    t.on('warning', (message: string) => {
      if (said.has(message) || said.size >= 1000) return
      said.add(message)
      if (this.mode === 'json') jsonEvent('warning', { infoHash: t.infoHash, message })
      else this.log(`${t.name}: ${message}`)
    })
    if (this.mode === 'json') {
      jsonEvent('added', { infoHash: t.infoHash, name: t.name })
      t.on('metadata', () => jsonEvent('metadata', { infoHash: t.infoHash, name: t.name, length: t.metainfo?.length, files: t.metainfo?.files.length }))
    } else if (fetched) {
      t.on('metadata', () => this.log(`${t.name}: got metadata`))
    }
    this.live?.draw()
  }

  /** A message on stderr that does not tear the live lines. */
  log(line: string): void {
    if (this.mode === 'quiet' || this.mode === 'json') return
    if (this.live) this.live.log(line)
    else process.stderr.write(line + '\n')
  }

  /** A warning of bt's own (not a torrent's): a JSON event with --json, `bt: line` on stderr otherwise (not with --quiet). */
  warn(line: string): void {
    if (this.mode === 'json') jsonEvent('warning', { message: line })
    else this.log(`bt: ${line}`)
  }

  render(): void {
    if (this.live) return this.live.draw()
    for (const [t, entry] of this.entries) {
      const s = t.stats()
      if (this.mode === 'json') {
        if (s.state === 'downloading' || s.state === 'metadata' || s.state === 'seeding' || s.state === 'checking') {
          jsonEvent('progress', { ...s })
        }
      } else if (this.mode === 'lines') {
        if (s.state !== 'done') this.log(`${t.name}: ${statusText(s, this.context(entry, t))}`)
      }
    }
  }

  stop(opts: { clear?: boolean } = {}): void {
    clearInterval(this.timer)
    this.live?.stop(opts)
  }
}
