// Registrations from disk for private mode: a file of hex info hashes (one a line, `#` comments) or a directory of
// .torrent files, re-read when it changes. Entries it adds carry source 'whitelist'; API registrations are untouched.

import { watch, type FSWatcher } from 'node:fs'
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { BtError, ExitCode, errorMessage, fromSystemError } from '../errors.js'
import { parseTorrent } from '../metainfo/metainfo.js'
import type { Tracker } from './swarm.js'

export interface WhitelistEntry {
  ih: string
  name: string
}

/** Reads the list; bad lines and unreadable .torrent files are reported in `problems`, not fatal. */
export async function readWhitelist(path: string): Promise<{ entries: WhitelistEntry[]; problems: string[] }> {
  let st
  try {
    st = await stat(path)
  } catch (err) {
    throw fromSystemError(err, path, ExitCode.usage)
  }
  const entries: WhitelistEntry[] = []
  const problems: string[] = []
  if (st.isDirectory()) {
    for (const name of (await readdir(path)).sort()) {
      if (!name.endsWith('.torrent')) continue
      try {
        const buf = await readFile(join(path, name))
        if (buf.length > 64 * 1024 * 1024) throw new Error('larger than 64 MiB')
        const m = parseTorrent(buf, name)
        entries.push({ ih: m.infoHashBuffer.toString('latin1'), name: m.name })
      } catch (err) {
        problems.push(`${name}: ${errorMessage(err)}`)
      }
    }
  } else {
    const text = await readFile(path, 'utf8')
    text.split('\n').forEach((line, i) => {
      const s = line.replace(/#.*/, '').trim()
      if (!s) return
      const m = /^([0-9a-fA-F]{40})(?:\s+(.*))?$/.exec(s)
      if (!m) problems.push(`line ${i + 1}: not a 40-digit hex info hash`)
      else entries.push({ ih: Buffer.from(m[1], 'hex').toString('latin1'), name: m[2] ?? '' })
    })
  }
  return { entries, problems }
}

export class Whitelist {
  private watcher: FSWatcher | undefined
  private timer: NodeJS.Timeout | undefined
  private current = new Set<string>()

  constructor(private readonly tracker: Tracker, readonly path: string, private readonly log: (msg: string) => void = () => {}) {}

  /** Loads the list and watches it; throws BtError if the path does not exist. */
  async start(): Promise<number> {
    const n = await this.reload()
    try {
      this.watcher = watch(this.path, () => {
        clearTimeout(this.timer)
        // Editors and copies write in several steps: wait for quiet before re-reading.
        this.timer = setTimeout(() => void this.reload().catch((err) => this.log(`whitelist: ${errorMessage(err)}`)), 200)
      })
      this.watcher.on('error', () => {})
    } catch {}
    return n
  }

  async reload(): Promise<number> {
    const { entries, problems } = await readWhitelist(this.path)
    for (const p of problems) this.log(`whitelist ${this.path}: ${p}`)
    const next = new Set<string>()
    for (const e of entries) {
      next.add(e.ih)
      const reg = this.tracker.registered.get(e.ih)
      if (!reg || reg.source === 'whitelist') this.tracker.register(e.ih, { name: e.name, source: 'whitelist' })
    }
    for (const ih of this.current) {
      if (!next.has(ih) && this.tracker.registered.get(ih)?.source === 'whitelist') this.tracker.unregister(ih)
    }
    this.current = next
    return next.size
  }

  stop(): void {
    clearTimeout(this.timer)
    this.watcher?.close()
  }
}
