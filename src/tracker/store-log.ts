// The tracker's state file: an append-only log of binary records. Replaces per-peer SQLite upserts, which cost
// about 7 µs of CPU per announce (as much as the whole announce logic) where appending a 50-byte record costs
// a fraction of a microsecond. The file is rewritten as a snapshot when it grows well past the live state
// (store.ts), and replayed at start: a later record for the same peer wins, a removal deletes.
//
// Layout: the 8-byte MAGIC, then records, each starting with a type byte:
//   P  ih(20) id(20) seeder(1) last(u32, Unix s) alen(1) addr(alen)   a peer's state after an announce
//   X  ih(20) id(20)                                                 a peer that left (stopped, or pushed out)
//   C  ih(20) completed(u32)                                         a swarm's completed count
//   R  ih(20) nlen(u16) name(nlen, UTF-8)                            a registration made through the API
//   U  ih(20)                                                        a registration removed
// A record cut short by kill -9 during a write is dropped at load, and the file truncated before it.

import { closeSync, openSync, readSync } from 'node:fs'

export const MAGIC = Buffer.from('BTTRKv1\n', 'latin1')
export const REC_PEER = 0x50
export const REC_REMOVED = 0x58
export const REC_COMPLETED = 0x43
export const REC_REGISTERED = 0x52
export const REC_UNREGISTERED = 0x55

/** Builds a batch of records in one growing buffer; `take()` hands out the bytes written. */
export class RecordWriter {
  private buf: Buffer
  private o = 0

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size)
  }

  get length(): number {
    return this.o
  }

  private room(n: number): void {
    if (this.o + n <= this.buf.length) return
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n))
    this.buf.copy(b, 0, 0, this.o)
    this.buf = b
  }

  /** ih, id, addr: latin1 strings of 20, 20 and 6 or 18 chars. */
  peer(ih: string, id: string, seeder: boolean, lastUnix: number, addr: string): void {
    this.room(48 + addr.length)
    const b = this.buf
    b[this.o] = REC_PEER
    b.write(ih, this.o + 1, 20, 'latin1')
    b.write(id, this.o + 21, 20, 'latin1')
    b[this.o + 41] = seeder ? 1 : 0
    b.writeUInt32BE(lastUnix >>> 0, this.o + 42)
    b[this.o + 46] = addr.length
    b.write(addr, this.o + 47, addr.length, 'latin1')
    this.o += 47 + addr.length
  }

  /**
   * The same record for a live peer, its address read from its swarm's slot array at `at` (the flags byte: slots.ts)
   * rather than from a string made for it: a flush writes one record per peer that announced, so this is per announce.
   */
  peerFromSlot(ih: string, id: string, seeder: boolean, lastUnix: number, slots: Uint8Array, at: number): void {
    const alen = slots[at] & 2 ? 18 : 6 // F_V6
    this.room(47 + alen)
    const b = this.buf
    const o = this.o
    b[o] = REC_PEER
    for (let i = 0; i < 20; i++) b[o + 1 + i] = ih.charCodeAt(i)
    for (let i = 0; i < 20; i++) b[o + 21 + i] = id.charCodeAt(i)
    b[o + 41] = seeder ? 1 : 0
    b.writeUInt32BE(lastUnix >>> 0, o + 42)
    b[o + 46] = alen
    for (let i = 0; i < alen; i++) b[o + 47 + i] = slots[at + 1 + i]
    this.o = o + 47 + alen
  }

  removed(ih: string, id: string): void {
    this.room(41)
    this.buf[this.o] = REC_REMOVED
    this.buf.write(ih, this.o + 1, 20, 'latin1')
    this.buf.write(id, this.o + 21, 20, 'latin1')
    this.o += 41
  }

  completed(ih: string, n: number): void {
    this.room(25)
    this.buf[this.o] = REC_COMPLETED
    this.buf.write(ih, this.o + 1, 20, 'latin1')
    this.buf.writeUInt32BE(Math.min(n, 0xffffffff) >>> 0, this.o + 21)
    this.o += 25
  }

  registration(ih: string, name: string | null): void {
    if (name === null) {
      this.room(21)
      this.buf[this.o] = REC_UNREGISTERED
      this.buf.write(ih, this.o + 1, 20, 'latin1')
      this.o += 21
      return
    }
    const n = Buffer.from(name, 'utf8').subarray(0, 65535)
    this.room(23 + n.length)
    this.buf[this.o] = REC_REGISTERED
    this.buf.write(ih, this.o + 1, 20, 'latin1')
    this.buf.writeUInt16BE(n.length, this.o + 21)
    n.copy(this.buf, this.o + 23)
    this.o += 23 + n.length
  }

  /** The records written so far, as a copy the caller owns (to transfer to the writer thread); resets. */
  take(): Buffer {
    // Its own ArrayBuffer (never a slice of Buffer's shared pool), so it can be transferred as is.
    const out = Buffer.from(new ArrayBuffer(this.o))
    this.buf.copy(out, 0, 0, this.o)
    this.o = 0
    return out
  }
}

export interface LogSink {
  peer(ih: string, id: string, addr: string, seeder: boolean, lastUnix: number): void
  removed(ih: string, id: string): void
  completed(ih: string, completed: number): void
  registration(ih: string, name: string | null): void
}

/** Size of the record starting at b[o], or 0 when the bytes there do not hold a whole record; -1 for garbage. */
function recordSize(b: Buffer, o: number, end: number): number {
  const left = end - o
  switch (b[o]) {
    case REC_PEER: return left < 47 ? 0 : left < 47 + b[o + 46] ? 0 : 47 + b[o + 46]
    case REC_REMOVED: return left < 41 ? 0 : 41
    case REC_COMPLETED: return left < 25 ? 0 : 25
    case REC_REGISTERED: return left < 23 ? 0 : left < 23 + b.readUInt16BE(o + 21) ? 0 : 23 + b.readUInt16BE(o + 21)
    case REC_UNREGISTERED: return left < 21 ? 0 : 21
    default: return -1
  }
}

/**
 * Streams the records of the log at `path` into `sink`, 1 MiB at a time (memory stays flat however big the file).
 * Returns the length of the whole records read: the writer truncates the file there before appending. Throws when
 * the file is not a tracker log or holds a record of unknown type.
 */
export function readLog(path: string, sink: LogSink): number {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(MAGIC.length)
    const got = readSync(fd, head, 0, head.length, 0)
    if (got === 0) return 0 // an empty file: created and killed before its header was written
    if (got < MAGIC.length || !head.equals(MAGIC)) throw new Error('not a bt tracker state file')
    let buf = Buffer.allocUnsafe(1 << 20)
    let have = 0 // bytes in buf
    let filePos = MAGIC.length // file offset of buf[0]
    let valid = MAGIC.length
    for (;;) {
      if (have === buf.length) {
        const b = Buffer.allocUnsafe(buf.length * 2) // a record longer than the buffer (a long name): grow
        buf.copy(b, 0, 0, have)
        buf = b
      }
      const n = readSync(fd, buf, have, buf.length - have, filePos + have)
      const end = have + n
      let o = 0
      for (;;) {
        if (o >= end) break
        const size = recordSize(buf, o, end)
        if (size < 0) throw new Error(`corrupt record at byte ${filePos + o}`)
        if (size === 0) break
        apply(buf, o, sink)
        o += size
      }
      valid = filePos + o
      if (n === 0) return valid // the rest (if any) is a record cut short
      buf.copy(buf, 0, o, end)
      have = end - o
      filePos += o
    }
  } finally {
    closeSync(fd)
  }
}

function apply(b: Buffer, o: number, sink: LogSink): void {
  const ih = b.toString('latin1', o + 1, o + 21)
  switch (b[o]) {
    case REC_PEER:
      sink.peer(ih, b.toString('latin1', o + 21, o + 41), b.toString('latin1', o + 47, o + 47 + b[o + 46]), b[o + 41] === 1, b.readUInt32BE(o + 42))
      break
    case REC_REMOVED:
      sink.removed(ih, b.toString('latin1', o + 21, o + 41))
      break
    case REC_COMPLETED:
      sink.completed(ih, b.readUInt32BE(o + 21))
      break
    case REC_REGISTERED:
      sink.registration(ih, b.toString('utf8', o + 23, o + 23 + b.readUInt16BE(o + 21)))
      break
    case REC_UNREGISTERED:
      sink.registration(ih, null)
      break
  }
}
