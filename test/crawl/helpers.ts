// Shared pieces of the crawler tests: an in-memory IndexWriter, torrents with realistic names, and a process of
// python3-libtorrent DHT nodes (which answer BEP 51) seeding some of them.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import type { IndexWriter, TorrentRecord, UpsertResult } from '../../src/index/types.js'
import { LT_PYTHON } from '../helpers/libtorrent.js'
import { seededBytes } from '../helpers/tmp.js'

/** An IndexWriter over a Map, with the upsert semantics the real stores have (no duplicates). */
export class MemoryIndex implements IndexWriter {
  readonly rows = new Map<string, TorrentRecord>()
  upserts = 0
  closed = false
  async upsert(records: readonly TorrentRecord[]): Promise<UpsertResult> {
    this.upserts++
    let added = 0
    let updated = 0
    for (const r of records) {
      if (this.rows.has(r.infoHash)) updated++
      else added++
      this.rows.set(r.infoHash, r)
    }
    return { added, updated }
  }
  async has(hashes: readonly string[]): Promise<Set<string>> {
    return new Set(hashes.filter((h) => this.rows.has(h)))
  }
  async updateSwarm(): Promise<void> {}
  async count(): Promise<number> {
    return this.rows.size
  }
  async close(): Promise<void> {
    this.closed = true
  }
}

const SHOWS = ['The.Expanse', 'Breaking.Bad', 'Severance', 'The.Bear', 'Slow.Horses', 'Andor', 'Dark', 'Fargo']
const MOVIES = ['Blade Runner 2049', 'Arrival', 'Dune Part Two', 'Past Lives', 'The Zone of Interest', 'Aftersun', 'Drive']
const ALBUMS = ['Radiohead - In Rainbows', 'Daft Punk - Discovery', 'Portishead - Dummy', 'Massive Attack - Mezzanine']
const BOOKS = ['Ursula K. Le Guin - The Dispossessed', 'Ted Chiang - Exhalation', 'Iain M. Banks - Excession']
const SOFT = ['ubuntu-24.04.1-desktop-amd64', 'debian-12.7.0-amd64-netinst', 'Blender 4.2 LTS linux-x64', 'LibreOffice_24.8.2_Linux_x86-64_deb']

export interface MadeTorrent {
  name: string
  infoHash: string
  torrentPath: string
  saveDir: string
  files: number
}

/** n small torrents (a few KiB each) with names like real ones: TV episodes, films, albums, books, software. */
export async function makeTorrents(root: string, n: number, seed = 1): Promise<MadeTorrent[]> {
  const out: MadeTorrent[] = []
  for (let i = 0; i < n; i++) {
    const saveDir = join(root, `t${i}`)
    mkdirSync(saveDir, { recursive: true })
    let name: string
    const files: Array<[string, number]> = []
    const k = i % 5
    if (k === 0) {
      name = `${SHOWS[i % SHOWS.length]}.S0${1 + (i % 5)}E${String(1 + (i % 12)).padStart(2, '0')}.1080p.WEB-DL.x264-GRP${i}.mkv`
    } else if (k === 1) {
      name = `${MOVIES[i % MOVIES.length]} (${2010 + (i % 14)}) [2160p] [BluRay] [x265] #${i}`
      files.push([`${MOVIES[i % MOVIES.length]}.mkv`, 3000 + i], ['Subs/English.srt', 200 + i])
    } else if (k === 2) {
      name = `${ALBUMS[i % ALBUMS.length]} (${1995 + (i % 20)}) [FLAC] ${i}`
      for (let t = 1; t <= 3; t++) files.push([`${String(t).padStart(2, '0')} - Track ${t}.flac`, 1000 + t * 10 + i])
    } else if (k === 3) {
      name = `${BOOKS[i % BOOKS.length]} (epub) ${i}`
      files.push([`book-${i}.epub`, 1500 + i])
    } else {
      name = `${SOFT[i % SOFT.length]}-${i}.iso`
    }
    const path = join(saveDir, name)
    if (files.length === 0) writeFileSync(path, seededBytes(2000 + i * 7, seed * 1000 + i))
    else {
      for (const [f, size] of files) {
        const p = join(path, f)
        mkdirSync(join(p, '..'), { recursive: true })
        writeFileSync(p, seededBytes(size, seed * 1000 + i * 10 + size))
      }
    }
    const bytes = await createTorrent(path, { pieceLength: 16384 })
    const m = parseTorrent(bytes)
    const torrentPath = join(root, `t${i}.torrent`)
    writeFileSync(torrentPath, bytes)
    out.push({ name, infoHash: m.infoHash, torrentPath, saveDir, files: Math.max(1, files.length) })
  }
  return out
}

const LT_DHT_SCRIPT = fileURLToPath(new URL('./lt_dht_swarm.py', import.meta.url))

export interface LtDhtSwarm {
  ports: number[]
  stop(): Promise<void>
  log(): string
}

const live = new Set<ChildProcess>()
process.on('exit', () => { for (const c of live) c.kill('SIGKILL') })

/** `sessions` libtorrent DHT nodes bootstrapping from `bootstrap`, seeding `seeds`; resolves once all seed. */
export function startLtDhtSwarm(cfg: { bootstrap: string[]; sessions: number; sampleInterval?: number; seeds?: MadeTorrent[] }, timeoutMs = 30_000): Promise<LtDhtSwarm> {
  const child = spawn(LT_PYTHON, [LT_DHT_SCRIPT, JSON.stringify({
    bootstrap: cfg.bootstrap, sessions: cfg.sessions, sample_interval: cfg.sampleInterval ?? 0,
    seeds: (cfg.seeds ?? []).map((t) => [t.torrentPath, t.saveDir]),
  })], { stdio: ['pipe', 'pipe', 'pipe'] })
  live.add(child)
  const lines: string[] = []
  let stderr = ''
  child.stderr.on('data', (d) => { if (stderr.length < 32768) stderr += d })
  child.stdin.on('error', () => {})
  const exited = new Promise<void>((r) => child.on('close', () => { live.delete(child); r() }))
  const log = () => lines.join('\n') + (stderr ? `\n[stderr]\n${stderr}` : '')
  const stop = async () => {
    child.stdin.end()
    const t = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(t)
  }
  const ports: number[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stop(); reject(new Error(`libtorrent DHT swarm not ready:\n${log()}`)) }, timeoutMs)
    exited.then(() => { clearTimeout(timer); reject(new Error(`libtorrent DHT swarm exited:\n${log()}`)) })
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      let e: { ev?: string; port?: number }
      try { e = JSON.parse(line) } catch { return }
      if (e.ev === 'node') ports.push(Number(e.port))
      if (e.ev === 'ready') {
        clearTimeout(timer)
        resolve({ ports, stop, log })
      }
    })
  })
}
