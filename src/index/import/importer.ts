// `bt import`: feed NDJSON (bitmagnet's export format), magnet links and .torrent files into an index, streaming,
// in batches of one transaction each. Bad records are reported one line each (file and line number) and counted;
// the rest goes in. Importing the same input again updates what is there and adds nothing.

import { createReadStream } from 'node:fs'
import { open, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { BtError, ExitCode, errorMessage, fromSystemError } from '../../errors.js'
import type { IndexWriter, TorrentRecord } from '../types.js'
import { readLines } from './lines.js'
import { recordFromTorrent, recordOfLine } from './records.js'
import { RecordError } from '../record.js'
import { ClassifyPool } from './classify-pool.js'
import type { LineResult } from './classify-worker.js'

export interface ImportProgress {
  added: number
  updated: number
  rejected: number
  /** Bytes of the current input read so far, and its size when known (files, not stdin). */
  bytesRead: number
  bytesTotal?: number
  input: string
}

export interface ImportOptions {
  /**
   * Records per batch and per transaction. Unset: batches of 500 (what is held in memory), several to a transaction
   * of up to 20 000 records or 2 s where the store allows it (bulk mode).
   */
  batchSize?: number
  /** `where` is "FILE:LINE" or a .torrent path. */
  onWarning?(where: string, reason: string): void
  /** After every batch. */
  onProgress?(p: ImportProgress): void
  /** Stdin, for `-`. */
  stdin?: Readable
  /** Threads that parse, classify and encode records: 0 does it all on the main thread; default cores − 1, at most 4. */
  workers?: number
}

export interface ImportSummary {
  added: number
  updated: number
  rejected: number
}

// Small batches: what the workers send back is garbage once written, and the fewer such objects are alive at once,
// the less of them survives into V8's old space (batches of 2000 took a 50 000-torrent import from 150 to 195 MiB).
const DEFAULT_BATCH = 500
/** Records per transaction in bulk mode: a few batches (each batch is what is held in memory). */
const BULK_ROWS = 20_000
const MAX_TORRENT_FILE = 64 * 1024 * 1024
const MAX_BATCH_BYTES = 32 * 1024 * 1024

interface Batch {
  records: TorrentRecord[]
  wheres: string[]
  seqs: number[]
  /** Settles when the workers have classified the batch (at once when there are no workers). */
  classified: Promise<void>
  /** Text lines handed to the workers whole (records is then empty until they answer). */
  lines?: string[]
  prepared?: Promise<LineResult[]>
}

/**
 * Collects records into batches and writes them, one transaction each. With a ClassifyPool, batch k+1 is classified
 * in worker threads while batch k is written; at most two batches are in memory.
 */
class Batcher {
  private records: TorrentRecord[] = []
  /** Lines for the workers (an NDJSON or magnet input with a pool); a batch holds lines or records, not both. */
  private lines: string[] = []
  private wheres: string[] = []
  private seqs: number[] = []
  private seq = 0
  /** Input bytes held in the current batch: a batch of huge records is cut early, to keep memory bounded. */
  private bytes = 0
  private inflight?: Batch
  /** Warnings are held until the records before them are written, so they come out in input order. */
  private warnings: { seq: number; where: string; reason: string }[] = []
  readonly summary: ImportSummary = { added: 0, updated: 0, rejected: 0 }
  progress: ImportProgress = { added: 0, updated: 0, rejected: 0, bytesRead: 0, input: '' }

  constructor(private readonly store: IndexWriter, private readonly opts: ImportOptions, private readonly pool?: ClassifyPool) {}

  reject(where: string, reason: string, seq = this.seq++): void {
    this.summary.rejected++
    this.warnings.push({ seq, where, reason })
  }

  async add(rec: TorrentRecord, where: string, bytes = 0): Promise<void> {
    if (this.lines.length) await this.cut()
    this.records.push(rec)
    this.wheres.push(where)
    this.seqs.push(this.seq++)
    this.bytes += bytes
    if (this.records.length >= (this.opts.batchSize ?? DEFAULT_BATCH) || this.bytes > MAX_BATCH_BYTES) await this.cut()
  }

  /** With workers: a line of text that they parse and prepare (a blank, a comment or a bad record is reported after). */
  get takesLines(): boolean {
    return this.pool !== undefined
  }

  async addLine(text: string, where: string): Promise<void> {
    if (this.records.length) await this.cut()
    this.lines.push(text)
    this.wheres.push(where)
    this.seqs.push(this.seq++)
    this.bytes += text.length
    if (this.lines.length >= (this.opts.batchSize ?? DEFAULT_BATCH) || this.bytes > MAX_BATCH_BYTES) await this.cut()
  }

  /** Hand the current batch to the workers, and write the one before it. */
  private async cut(): Promise<void> {
    const batch: Batch = { records: this.records, wheres: this.wheres, seqs: this.seqs, classified: Promise.resolve() }
    if (this.lines.length) {
      batch.lines = this.lines
      batch.prepared = this.pool!.prepareLines(this.lines, Date.now())
      // Settles the batch either way; a failure is seen by write().
      batch.prepared.catch(() => {})
      this.lines = []
    }
    this.records = []
    this.wheres = []
    this.seqs = []
    this.bytes = 0
    // A failed worker only means the store classifies in line.
    if (this.pool && batch.records.length) batch.classified = this.pool.classify(batch.records).catch(() => {})
    // Without workers there is nothing to overlap: write at once and hold one batch, not two.
    if (!this.pool) return this.write(batch)
    const previous = this.inflight
    this.inflight = batch
    if (previous) await this.write(previous)
  }

  /** The records of a batch of lines, from the workers' results; each record's place in the batch. */
  private async recordsOfLines(b: Batch): Promise<number[]> {
    let results: LineResult[]
    try {
      results = await b.prepared!
    } catch {
      results = b.lines!.map(() => 'again' as const) // a dead worker: do the batch here
    }
    const at: number[] = []
    results.forEach((r, i) => {
      let rec: TorrentRecord | undefined
      if (r === null) return
      if (r === 'again') {
        try {
          rec = recordOfLine(b.lines![i])
        } catch (err) {
          if (!(err instanceof RecordError)) throw err
          return this.reject(b.wheres[i], err.message, b.seqs[i])
        }
        if (!rec) return
      } else if ('error' in r) {
        return this.reject(b.wheres[i], r.error, b.seqs[i])
      } else {
        rec = r.rec
        rec.prepared = r.p
      }
      b.records.push(rec)
      at.push(i)
    })
    b.lines = undefined
    return at
  }

  private async write(b: Batch): Promise<void> {
    const at = b.prepared ? await this.recordsOfLines(b) : undefined
    if (b.records.length > 0) {
      await b.classified
      const r = await this.store.upsert(b.records)
      this.summary.added += r.added
      this.summary.updated += r.updated
      for (const x of r.rejected ?? []) {
        const i = at ? at[x.index] : x.index
        this.reject(b.wheres[i], x.reason, b.seqs[i])
      }
    }
    this.emitWarnings(b.seqs.length ? b.seqs[b.seqs.length - 1] : this.seq)
    this.opts.onProgress?.({ ...this.progress, ...this.summary })
  }

  private emitWarnings(upTo: number): void {
    this.warnings.sort((a, b) => a.seq - b.seq)
    let i = 0
    while (i < this.warnings.length && this.warnings[i].seq <= upTo) {
      this.opts.onWarning?.(this.warnings[i].where, this.warnings[i].reason)
      i++
    }
    this.warnings = this.warnings.slice(i)
  }

  /** Write everything held (end of an input). */
  async flush(): Promise<void> {
    await this.cut()
    const last = this.inflight
    this.inflight = undefined
    if (last) await this.write(last)
    await this.store.flush?.()
    this.emitWarnings(Infinity)
  }
}

async function importLines(b: Batcher, stream: Readable, label: string, total?: number): Promise<void> {
  b.progress = { ...b.progress, input: label, bytesRead: 0, bytesTotal: total }
  const fileStream = stream as Readable & { bytesRead?: number }
  let read = 0
  for await (const line of readLines(stream)) {
    const where = `${label}:${line.number}`
    if (!('text' in line)) {
      b.reject(where, 'line too long')
      continue
    }
    read += line.text.length + 1
    b.progress.bytesRead = fileStream.bytesRead ?? read
    if (b.takesLines) {
      await b.addLine(line.text, where)
      continue
    }
    let rec: TorrentRecord | undefined
    try {
      rec = recordOfLine(line.text)
    } catch (err) {
      if (!(err instanceof RecordError)) throw err
      b.reject(where, err.message)
      continue
    }
    if (rec) await b.add(rec, where, line.text.length)
  }
}

async function importTorrentFile(b: Batcher, path: string): Promise<void> {
  let bytes: Buffer
  try {
    const st = await stat(path)
    if (st.size > MAX_TORRENT_FILE) return b.reject(path, 'larger than 64 MiB')
    bytes = await readFile(path)
  } catch (err) {
    return b.reject(path, errorMessage(err))
  }
  try {
    await b.add(recordFromTorrent(bytes, path), path, bytes.length)
  } catch (err) {
    if (!(err instanceof RecordError)) throw err
    b.reject(path, err.message)
  }
}

/** .torrent files under a directory, depth first, in name order (so runs are repeatable). */
async function* walk(dir: string): AsyncGenerator<string> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    throw new BtError(`${dir}: ${errorMessage(err)}`, ExitCode.io)
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* walk(p)
    else if (e.isFile() && e.name.toLowerCase().endsWith('.torrent')) yield p
  }
}

/** A file that starts like a bencoded dictionary is a torrent, whatever its name. */
async function looksLikeTorrent(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith('.torrent')) return true
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(16)
    const { bytesRead } = await fh.read(head, 0, 16, 0)
    return /^d\d+:/.test(head.subarray(0, bytesRead).toString('latin1'))
  } finally {
    await fh.close()
  }
}

export async function importInputs(inputs: readonly string[], store: IndexWriter, opts: ImportOptions = {}): Promise<ImportSummary> {
  const pool = opts.workers === 0 ? undefined : ClassifyPool.create(opts.workers)
  // Several batches per transaction where the store allows it: a commit is what costs the full-text index most.
  const bulk = opts.batchSize === undefined && store.bulk !== undefined
  if (bulk) store.bulk!(BULK_ROWS)
  try {
    return await importWith(new Batcher(store, opts, pool), inputs, opts)
  } finally {
    await pool?.close()
    if (bulk) store.bulk!(0)
  }
}

async function importWith(b: Batcher, inputs: readonly string[], opts: ImportOptions): Promise<ImportSummary> {
  for (const input of inputs) {
    if (input === '-') {
      await importLines(b, opts.stdin ?? process.stdin, 'stdin')
      await b.flush()
      continue
    }
    let st
    try {
      st = await stat(input)
    } catch (err) {
      throw fromSystemError(err, input, (err as NodeJS.ErrnoException).code === 'ENOENT' ? ExitCode.usage : ExitCode.io)
    }
    if (st.isDirectory()) {
      b.progress = { ...b.progress, input, bytesRead: 0, bytesTotal: undefined }
      for await (const path of walk(input)) await importTorrentFile(b, path)
    } else if (await looksLikeTorrent(input)) {
      await importTorrentFile(b, input)
    } else {
      const stream = createReadStream(input, { highWaterMark: 256 * 1024 })
      try {
        await importLines(b, stream, input, st.size)
      } catch (err) {
        if (err instanceof BtError) throw err
        if ((err as NodeJS.ErrnoException).code) throw new BtError(`${input}: ${errorMessage(err)}`, ExitCode.io)
        throw err
      } finally {
        stream.destroy()
      }
    }
    await b.flush()
  }
  return b.summary
}
