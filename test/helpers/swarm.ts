// Building blocks for loopback swarms: torrents of seeded random data, bt clients as seeders and leechers.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent, type Metainfo } from '../../src/metainfo/metainfo.js'
import { Client, type ClientOptions } from '../../src/session/client.js'
import type { Torrent, TorrentOptions } from '../../src/session/torrent.js'
import { tmpDir, writeRandomFile } from './tmp.js'

export interface TestTorrent {
  metainfo: Metainfo
  torrentPath: string
  /** Directory holding the complete data (the seed's download dir). */
  seedDir: string
  /** Files: path relative to the download dir -> md5 */
  md5: Map<string, string>
}

export function md5(buf: Buffer): string {
  return createHash('md5').update(buf).digest('hex')
}

/** Make a torrent of random files. `files` are sizes; one size makes a single-file torrent. */
export async function makeTestTorrent(sizes: number[], opts: { pieceLength?: number; seed?: number; name?: string; trackers?: string[][] } = {}): Promise<TestTorrent> {
  const base = tmpDir('bt-swarm-')
  const seedDir = join(base, 'seed')
  mkdirSync(seedDir)
  const name = opts.name ?? (sizes.length === 1 ? 'file.bin' : 'multi')
  const md5s = new Map<string, string>()
  let root: string
  if (sizes.length === 1) {
    root = join(seedDir, name)
    md5s.set(name, md5(writeRandomFile(root, sizes[0], opts.seed ?? 1)))
  } else {
    root = join(seedDir, name)
    mkdirSync(join(root, 'sub'), { recursive: true })
    sizes.forEach((size, i) => {
      const rel = i % 2 ? join('sub', `f${i}.bin`) : `f${i}.bin`
      md5s.set(join(name, rel), md5(writeRandomFile(join(root, rel), size, (opts.seed ?? 1) + i)))
    })
  }
  const bytes = await createTorrent(root, { pieceLength: opts.pieceLength ?? 32768, trackers: opts.trackers, creationDate: null })
  const torrentPath = join(base, `${name}.torrent`)
  writeFileSync(torrentPath, bytes)
  return { metainfo: parseTorrent(bytes), torrentPath, seedDir, md5: md5s }
}

const clients: Client[] = []

export async function startClient(opts: ClientOptions = {}): Promise<Client> {
  const c = new Client({ port: 0, host: '127.0.0.1', resumeDir: join(tmpDir('bt-resume-'), 'resume'), ...opts })
  await c.listen()
  clients.push(c)
  return c
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled(clients.splice(0).map((c) => c.destroy()))
}

export function whenDone(t: Torrent, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (t.done) return resolve()
    const timer = setTimeout(() => reject(new Error(`${t.name}: not done after ${ms} ms (${JSON.stringify(t.stats())})`)), ms)
    t.once('done', () => {
      clearTimeout(timer)
      resolve()
    })
    t.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

export function whenReady(t: Torrent, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (t.picker) return resolve()
    const timer = setTimeout(() => reject(new Error(`${t.name}: not ready after ${ms} ms`)), ms)
    t.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export async function seedWith(tt: TestTorrent, opts: Partial<TorrentOptions> = {}, clientOpts: ClientOptions = {}): Promise<{ client: Client; torrent: Torrent; addr: string }> {
  const client = await startClient(clientOpts)
  const torrent = client.add(tt.metainfo, { dir: tt.seedDir, seed: true, ...opts })
  await whenReady(torrent)
  return { client, torrent, addr: `127.0.0.1:${client.port()}` }
}

/** md5 of every file of the torrent under `dir` equals the original. */
export function assertSameFiles(tt: TestTorrent, dir: string, only?: string[]): void {
  for (const [rel, sum] of tt.md5) {
    if (only && !only.includes(rel)) continue
    const got = md5(readFileSync(join(dir, rel)))
    if (got !== sum) throw new Error(`${rel}: md5 ${got} != ${sum}`)
  }
}
