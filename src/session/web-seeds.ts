// BEP 19 web seeds as a source of blocks beside the peers: what each seed is asked for (runs of wanted blocks, about a
// piece per request, two requests at a time), back-off after errors, and dropping a seed whose data fails the hash.
// The HTTP side is discovery/webseed.ts; its replies pass through the torrent's download bandwidth as they are read.

import { errorMessage } from '../errors.js'
import type { Metainfo } from '../metainfo/metainfo.js'
import { WebSeed } from '../discovery/webseed.js'
import type { Bandwidth } from './bandwidth.js'
import type { BlockRequest, PickPeer, PiecePicker, PieceProgress } from './picker.js'
import type { RateMeter } from './rate.js'

/** Range requests in flight to one web seed. */
const REQUESTS_PER_SEED = 2
/** Failures in a row after which a web seed is not asked again. */
const MAX_FAILURES = 5

export interface WebSeedHost {
  picker(): PiecePicker | undefined
  /** All blocks of a piece arrived: verify and write it. */
  completed(prog: PieceProgress): void
  /** The torrent stopped (or failed). */
  stopped(): boolean
  warn(message: string): void
}

interface Source {
  seed: WebSeed
  /** The picker's name for it (it records who sent each block of a piece). */
  key: string
  /** To the picker a web seed is a peer that has every piece. */
  peer: PickPeer
  hashFailures: number
}

export class WebSeeds {
  private readonly sources: Source[]
  private readonly pickBuf: BlockRequest[] = []

  constructor(
    urls: string[],
    m: Metainfo,
    private readonly host: WebSeedHost,
    private readonly bandwidth: Bandwidth,
    /** The torrent's download meter. */
    private readonly meter: RateMeter,
    private readonly signal: AbortSignal,
  ) {
    this.sources = urls.map((u) => ({ seed: new WebSeed(u, m), key: `web:${u}`, peer: { has: () => true, outstanding: new Map<number, number>() }, hashFailures: 0 }))
  }

  /** Keep each web seed busy with up to two range requests of up to about a piece of wanted blocks. */
  serve(): void {
    const p = this.host.picker()
    if (!p || this.sources.length === 0 || this.host.stopped() || p.wantedLeft === 0) return
    const now = Date.now()
    const out = this.pickBuf
    for (const ws of this.sources) {
      const seed = ws.seed
      if (seed.disabled || seed.retryAt > now) continue
      while (seed.busy < REQUESTS_PER_SEED) {
        out.length = 0
        // About a piece per request (at least 256 KiB), so peers keep a share of the work.
        if (p.pick(ws.peer, Math.max(16, p.blockStride), out) === 0) break
        // Contiguous runs of blocks become one request each.
        out.sort((a, b) => a.piece - b.piece || a.offset - b.offset)
        let from = 0
        for (let k = 1; k <= out.length; k++) {
          const prev = out[k - 1]
          if (k < out.length && prev.piece * p.pieceLength + prev.offset + prev.length === out[k].piece * p.pieceLength + out[k].offset) continue
          this.fetch(ws, p, out.slice(from, k))
          from = k
        }
      }
    }
    out.length = 0
  }

  private fetch(ws: Source, p: PiecePicker, run: BlockRequest[]): void {
    const start = run[0].piece * p.pieceLength + run[0].offset
    const last = run[run.length - 1]
    const end = last.piece * p.pieceLength + last.offset + last.length
    ws.seed.busy++
    ws.seed.fetch(start, end, this.signal, this.bandwidth).then(
      (data) => {
        ws.seed.busy--
        ws.seed.failures = 0
        if (this.host.stopped()) return
        this.meter.add(data.length)
        for (const r of run) {
          const off = r.piece * p.pieceLength + r.offset - start
          if (p.requestDone(r, ws.peer, ws.key, data.subarray(off, off + r.length))) this.host.completed(r.progress)
        }
        this.serve()
      },
      (err) => {
        ws.seed.busy--
        for (const r of run) p.requestDone(r, ws.peer, ws.key, undefined)
        if (this.host.stopped()) return
        ws.seed.failures++
        ws.seed.retryAt = Date.now() + Math.min(120_000, 5_000 * 2 ** (ws.seed.failures - 1))
        if (ws.seed.failures === 1 || ws.seed.failures >= MAX_FAILURES) this.host.warn(errorMessage(err))
        if (ws.seed.failures >= MAX_FAILURES) ws.seed.disabled = true
      },
    )
  }

  /**
   * A piece failed its hash check; `contributors` are the keys of those who sent its blocks. A web seed has no peer id
   * to ban: the sole sender of a bad piece, or one that helped with two, is not asked again.
   */
  pieceFailed(contributors: ReadonlySet<string>): void {
    for (const ws of this.sources) {
      if (!contributors.has(ws.key)) continue
      ws.hashFailures++
      if ((contributors.size === 1 || ws.hashFailures >= 2) && !ws.seed.disabled) {
        ws.seed.disabled = true
        this.host.warn(`web seed ${ws.seed.url} sent data that failed the hash check; not using it`)
      }
    }
  }
}
