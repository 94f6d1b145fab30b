// A worker thread for `bt import`: everything but the SQL. It turns NDJSON/magnet lines into finished rows (parse,
// validate, classify, encode the file list, its words and file types), or classifies records read elsewhere
// (.torrent files), so that the main thread only writes rows while the workers prepare the next batch.

import { parentPort } from 'node:worker_threads'
import { classify } from '../classify.js'
import { prepareRecord, RecordError, type PreparedRecord } from '../record.js'
import { recordOfLine } from './records.js'
import type { Classification, IndexedFile, TorrentRecord } from '../types.js'

export interface ClassifyJob {
  id: number
  items: { name: string; files?: IndexedFile[] }[]
}

export interface ClassifyReply {
  id: number
  results: (Classification | null)[]
}

export interface LinesJob {
  id: number
  lines: string[]
  /** The importer's clock (ms), for records without a date. */
  now: number
}

/**
 * Per line: null (blank or a comment), a reason it was rejected, 'again' (something unexpected: the main thread
 * handles the line itself and reports what goes wrong), or the record and its finished row. The row travels without
 * its file list (`files` is [] when the record had one) and without the info hash buffer: copying them back would
 * cost the main thread more than the work saved.
 */
export type LineResult = null | { error: string } | 'again' | { rec: TorrentRecord; p: PreparedRecord }

export interface LinesReply {
  id: number
  results: LineResult[]
}

function prepareLine(text: string, now: number): LineResult {
  try {
    const rec = recordOfLine(text)
    if (!rec) return null
    const p = prepareRecord(rec, now)
    const hadFiles = p.files !== undefined
    ;(p as { hash?: Buffer }).hash = undefined
    if (!hadFiles) return { rec, p }
    // The stores read the record itself only to re-classify an update without a file list: with one, a stub does
    // (every object sent here is garbage for the main thread to collect).
    p.files = []
    return { rec: { infoHash: rec.infoHash, name: rec.name, source: rec.source, files: [] }, p }
  } catch (err) {
    return err instanceof RecordError ? { error: err.message } : 'again'
  }
}

parentPort?.on('message', (job: ClassifyJob | LinesJob) => {
  if ('lines' in job) {
    const results = job.lines.map((line) => prepareLine(line, job.now))
    parentPort!.postMessage({ id: job.id, results } satisfies LinesReply)
    return
  }
  const results = job.items.map((it) => {
    try {
      return classify(it.name, it.files ?? [])
    } catch {
      return null // the main thread classifies it again (and reports what goes wrong)
    }
  })
  parentPort!.postMessage({ id: job.id, results } satisfies ClassifyReply)
})
