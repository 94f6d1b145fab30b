// `bt import`: feed NDJSON (bitmagnet's export format), magnet links and .torrent files into an index, streaming,
// in batches of one transaction each. Bad records are reported one line each (file and line number) and counted;
// the rest goes in. Importing the same input again updates what is there and adds nothing.

import { createReadStream } from 'node:fs'
import { open, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { BtError, ExitCode, errorMessage } from '../../errors.js'
import type { IndexWriter, TorrentRecord } from '../types.js'
import { readLines } from './lines.js'
import { recordFromJson, recordFromMagnet, recordFromTorrent } from './records.js'
import { RecordError } from '../record.js'

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
  /** Records per transaction (default 2000). */
  batchSize?: number
  /** `where` is "FILE:LINE" or a .torrent path. */
  onWarning?(where: string, reason: string): void
  /** After every batch. */
  onProgress?(p: ImportProgress): void
  /** Stdin, for `-`. */
  stdin?: Readable
}

export interface ImportSummary {
  added: number
  updated: number
  rejected: number
}

const MAX_TORRENT_FILE = 64 * 1024 * 1024

class Batcher {
  private records: TorrentRecord[] = []
  private wheres: string[] = []
  /** Warnings are held until the batch is written, so they come out in input order with the store's own. */
  private warnings: { seq: number; where: string; reason: string }[] = []
  private seqs: number[] = []
  private seq = 0
  readonly summary: ImportSummary = { added: 0, updated: 0, rejected: 0 }
  progress: ImportProgress = { added: 0, updated: 0, rejected: 0, bytesRead: 0, input: '' }

  constructor(private readonly store: IndexWriter, private readonly opts: ImportOptions) {}

  reject(where: string, reason: string, seq = this.seq++): void {
    this.summary.rejected++
    this.warnings.push({ seq, where, reason })
  }

  async add(rec: TorrentRecord, where: string): Promise<void> {
    this.records.push(rec)
    this.wheres.push(where)
    this.seqs.push(this.seq++)
    if (this.records.length >= (this.opts.batchSize ?? 2000)) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.records.length > 0) {
      const r = await this.store.upsert(this.records)
      this.summary.added += r.added
      this.summary.updated += r.updated
      for (const x of r.rejected ?? []) this.reject(this.wheres[x.index], x.reason, this.seqs[x.index])
      this.records = []
      this.wheres = []
      this.seqs = []
    }
    this.warnings.sort((a, b) => a.seq - b.seq)
    for (const w of this.warnings) this.opts.onWarning?.(w.where, w.reason)
    this.warnings = []
    this.opts.onProgress?.({ ...this.progress, ...this.summary })
  }
}

/** One line of a text input: a JSON record, a magnet link, or a bare info hash. */
function recordOfLine(text: string): TorrentRecord | undefined {
  const line = text.trim()
  if (line === '' || line.startsWith('#')) return undefined
  if (line.startsWith('{')) {
    let o: unknown
    try {
      o = JSON.parse(line)
    } catch {
      throw new RecordError('not valid JSON')
    }
    return recordFromJson(o, 'import')
  }
  if (line.startsWith('magnet:')) return recordFromMagnet(line)
  if (/^[0-9a-fA-F]{40}$/.test(line)) return { infoHash: line, name: line.toLowerCase(), source: 'magnet', partial: true }
  throw new RecordError('neither a JSON record nor a magnet link')
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
    let rec: TorrentRecord | undefined
    try {
      rec = recordOfLine(line.text)
    } catch (err) {
      if (!(err instanceof RecordError)) throw err
      b.reject(where, err.message)
      continue
    }
    if (rec) await b.add(rec, where)
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
    await b.add(recordFromTorrent(bytes, path), path)
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
  const b = new Batcher(store, opts)
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
      const code = (err as NodeJS.ErrnoException).code
      throw new BtError(code === 'ENOENT' ? `${input}: no such file or directory` : `${input}: ${errorMessage(err)}`, code === 'ENOENT' ? ExitCode.usage : ExitCode.io)
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
