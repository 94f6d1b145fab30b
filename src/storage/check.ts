// What `bt download` does at start with an output directory that may already hold data: trust resume state where the
// files are untouched, hash-check the rest, and never read pieces whose files do not exist.

import type { FileStorage } from './file-storage.js'
import type { ResumeStore } from './resume.js'
import { verifyPieces } from './verify.js'

export interface CheckOptions {
  /** Ignore resume state and hash-check every piece that has data on disk. */
  force?: boolean
  /** Bytes hashed so far and bytes to hash in all. */
  onProgress?: (done: number, total: number) => void
  signal?: AbortSignal
}

/** Mark in `out` every piece that holds bytes of file `i`. */
function markPiecesOf(storage: FileStorage, i: number, out: Uint8Array): void {
  const m = storage.metainfo
  const f = m.files[i]
  if (f.length === 0) return
  const first = Math.floor(f.offset / m.pieceLength)
  const last = Math.floor((f.offset + f.length - 1) / m.pieceLength)
  out.fill(1, first, last + 1)
}

/** Per piece 1 when complete on disk. `verify` is the hash check (a parameter so tests can see what gets read). */
export async function checkExisting(
  storage: FileStorage,
  resume: ResumeStore,
  opts: CheckOptions = {},
  verify: typeof verifyPieces = verifyPieces,
): Promise<Uint8Array> {
  const m = storage.metainfo
  const state = opts.force ? undefined : await resume.load(m, storage.dir)
  const have = new Uint8Array(m.pieceCount)
  const check = new Uint8Array(m.pieceCount)
  const sizes = await storage.fileSizes()
  const exists = (i: number) => !m.files[i].padding && m.files[i].length > 0 && sizes[i] > 0
  if (state) {
    have.set(state.have)
    for (const i of state.changedFiles) markPiecesOf(storage, i, check)
    // Changed pieces start from nothing; only the hash check may bring them back.
    for (let p = 0; p < m.pieceCount; p++) if (check[p]) have[p] = 0
  } else {
    for (let i = 0; i < m.files.length; i++) if (exists(i)) markPiecesOf(storage, i, check)
  }
  // A piece needs some data on disk to be worth reading: skip those whose every file is missing or empty.
  const touchesData = new Uint8Array(m.pieceCount)
  for (let i = 0; i < m.files.length; i++) if (exists(i)) markPiecesOf(storage, i, touchesData)
  const pieces: number[] = []
  for (let p = 0; p < m.pieceCount; p++) if (check[p] && touchesData[p]) pieces.push(p)
  if (pieces.length > 0) {
    const ok = await verify(storage, { pieces, onProgress: opts.onProgress, signal: opts.signal })
    for (const p of pieces) have[p] = ok[p]
  }
  return have
}
