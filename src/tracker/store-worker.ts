// The tracker store's writer thread: receives batches from the main thread and applies them to SQLite, so a big
// flush never stalls announces. Messages: {batch} -> {done: seq}; {close} -> closes the file and exits.

import { parentPort, workerData } from 'node:worker_threads'
import { makeWriter, openDb, type StoreBatch } from './store-db.js'

const db = openDb((workerData as { path: string }).path)
const write = makeWriter(db)

parentPort!.on('message', (m: { seq: number; batch?: StoreBatch; close?: boolean }) => {
  try {
    if (m.batch) write(m.batch)
    if (m.close) {
      db.pragma('wal_checkpoint(TRUNCATE)')
      db.close()
    }
    parentPort!.postMessage({ done: m.seq })
  } catch (err) {
    parentPort!.postMessage({ done: m.seq, error: String((err as Error)?.message ?? err) })
  }
  if (m.close) parentPort!.close()
})
