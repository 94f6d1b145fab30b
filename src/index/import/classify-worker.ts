// A worker thread that classifies torrents for `bt import` (the classifier is the costliest step of an import:
// ~100 µs a torrent), so that classifying one batch overlaps with writing the previous one.

import { parentPort } from 'node:worker_threads'
import { classify } from '../classify.js'
import type { Classification, IndexedFile } from '../types.js'

export interface ClassifyJob {
  id: number
  items: { name: string; files?: IndexedFile[] }[]
}

export interface ClassifyReply {
  id: number
  results: (Classification | null)[]
}

parentPort?.on('message', (job: ClassifyJob) => {
  const results = job.items.map((it) => {
    try {
      return classify(it.name, it.files ?? [])
    } catch {
      return null // the main thread classifies it again (and reports what goes wrong)
    }
  })
  parentPort!.postMessage({ id: job.id, results } satisfies ClassifyReply)
})
