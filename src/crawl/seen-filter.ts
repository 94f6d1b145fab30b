// The crawler's memory of info hashes it has already handled: two generations of a Bloom filter, so memory is fixed
// (a few MiB) however long it runs, and a hash seen within roughly the last `capacity`..2×`capacity` insertions
// is skipped. False positives (about 1% per generation at capacity) only mean a torrent is picked up a little later,
// from another node's sample. Saved to a file so a restart does not fetch the same metadata again.

import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

const MAGIC = Buffer.from('BTSEEN1\n')
const HEADER = MAGIC.length + 4 + 4 + 4 + 4 + 8 // magic, bits, hashes, countCurrent, countOld, salt

export interface SeenFilterOptions {
  /** Insertions per generation (default 2 million: 2 × 2.3 MiB at 1% false positives). */
  capacity?: number
  /** Target false-positive rate of one full generation (default 0.01). */
  errorRate?: number
}

export class SeenFilter {
  readonly bits: number
  readonly hashes: number
  readonly capacity: number
  private current: Uint8Array
  private old: Uint8Array
  private countCurrent = 0
  private countOld = 0
  // Indices come from the hash's own bytes (info hashes are SHA-1 outputs), mixed with a per-filter salt so a
  // crafted set of fake hashes cannot be tuned against every crawler's filter at once.
  private salt: Buffer

  constructor(opts: SeenFilterOptions = {}) {
    this.capacity = Math.max(1000, Math.floor(opts.capacity ?? 2_000_000))
    const p = Math.min(0.5, Math.max(1e-6, opts.errorRate ?? 0.01))
    const m = Math.ceil((-this.capacity * Math.log(p)) / (Math.LN2 * Math.LN2))
    this.bits = Math.ceil(m / 8) * 8
    this.hashes = Math.max(1, Math.min(16, Math.round((this.bits / this.capacity) * Math.LN2)))
    this.current = new Uint8Array(this.bits / 8)
    this.old = new Uint8Array(this.bits / 8)
    this.salt = randomBytes(8)
  }

  get size(): number {
    return this.countCurrent + this.countOld
  }

  /** Bytes held by the two generations. */
  get memoryBytes(): number {
    return this.current.length * 2
  }

  private positions(hash: Uint8Array, out: Uint32Array): void {
    if (hash.length < 8) throw new TypeError('info hash too short')
    const h1 = ((hash[0] | (hash[1] << 8) | (hash[2] << 16) | (hash[3] << 24)) ^ this.salt.readInt32LE(0)) >>> 0
    let h2 = ((hash[4] | (hash[5] << 8) | (hash[6] << 16) | (hash[7] << 24)) ^ this.salt.readInt32LE(4)) >>> 0
    h2 |= 1
    for (let i = 0; i < this.hashes; i++) out[i] = ((h1 + Math.imul(i, h2)) >>> 0) % this.bits
  }

  private readonly scratch = new Uint32Array(16)

  private inGen(gen: Uint8Array): boolean {
    const pos = this.scratch
    for (let i = 0; i < this.hashes; i++) if ((gen[pos[i] >>> 3] & (1 << (pos[i] & 7))) === 0) return false
    return true
  }

  has(hash: Uint8Array): boolean {
    this.positions(hash, this.scratch)
    return this.inGen(this.current) || this.inGen(this.old)
  }

  /** Adds the hash; true when it was not there before (a new hash). */
  add(hash: Uint8Array): boolean {
    this.positions(hash, this.scratch)
    if (this.inGen(this.current) || this.inGen(this.old)) return false
    if (this.countCurrent >= this.capacity) {
      // Rotate: the older generation is forgotten, the current one becomes old.
      const recycled = this.old
      recycled.fill(0)
      this.old = this.current
      this.countOld = this.countCurrent
      this.current = recycled
      this.countCurrent = 0
      this.positions(hash, this.scratch)
    }
    const pos = this.scratch
    for (let i = 0; i < this.hashes; i++) this.current[pos[i] >>> 3] |= 1 << (pos[i] & 7)
    this.countCurrent++
    return true
  }

  serialize(): Buffer {
    const head = Buffer.alloc(HEADER)
    MAGIC.copy(head, 0)
    let o = MAGIC.length
    head.writeUInt32BE(this.bits, o); o += 4
    head.writeUInt32BE(this.hashes, o); o += 4
    head.writeUInt32BE(this.countCurrent, o); o += 4
    head.writeUInt32BE(this.countOld, o); o += 4
    this.salt.copy(head, o)
    return Buffer.concat([head, this.current, this.old])
  }

  /** Restores a saved filter; undefined when the data is not one, or was made with other parameters. */
  static deserialize(buf: Buffer, opts: SeenFilterOptions = {}): SeenFilter | undefined {
    const f = new SeenFilter(opts)
    if (buf.length !== HEADER + (f.bits / 8) * 2 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined
    let o = MAGIC.length
    const bits = buf.readUInt32BE(o); o += 4
    const hashes = buf.readUInt32BE(o); o += 4
    if (bits !== f.bits || hashes !== f.hashes) return undefined
    f.countCurrent = Math.min(buf.readUInt32BE(o), f.capacity); o += 4
    f.countOld = Math.min(buf.readUInt32BE(o), f.capacity); o += 4
    f.salt = Buffer.from(buf.subarray(o, o + 8)); o += 8
    f.current = new Uint8Array(buf.subarray(o, o + f.bits / 8))
    f.old = new Uint8Array(buf.subarray(o + f.bits / 8, o + f.bits / 4))
    return f
  }

  async save(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true })
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      await writeFile(tmp, this.serialize())
      await rename(tmp, path)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
  }

  /** The saved filter at path, or a fresh one when there is none (or it is unreadable: returned with `reset`). */
  static async load(path: string, opts: SeenFilterOptions = {}): Promise<{ filter: SeenFilter; loaded: boolean }> {
    let buf: Buffer
    try {
      buf = await readFile(path)
    } catch {
      return { filter: new SeenFilter(opts), loaded: false }
    }
    const f = SeenFilter.deserialize(buf, opts)
    return f ? { filter: f, loaded: true } : { filter: new SeenFilter(opts), loaded: false }
  }
}
