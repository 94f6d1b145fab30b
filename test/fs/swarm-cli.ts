// Shared by the test/fs/swarm*.test.ts files: the torrentfs command run as a child process (as a user runs it)
// against real seeders on 127.0.0.1, with its own XDG_DATA_HOME, and readers (cat, pread) in further children.
import { preadChild } from './helpers.js'
import { mkdirSync, copyFileSync, readFileSync, readdirSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import * as assert from 'uvu/assert'
import { ROOT } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import type { TestTorrent } from '../helpers/swarm.js'
import type { Torrent } from '../../src/session/torrent.js'
import { cleanupMount, isMounted, start, waitFor, within, type Child } from './helpers.js'

export const KiB = 1024
export const MiB = 1024 * 1024
export const CMD = join(ROOT, 'cmd/torrentfs.ts')

export interface Mount {
  /** Temp dir holding mnt/, torrents/, data/, xdg/. */
  dir: string
  mnt: string
  torrents: string
  data: string
  xdg: string
  child: Child
}

/** A fresh set of directories; the mount point is unmounted at exit whatever happens. */
export function mountDirs(tag = 'bt-swarmfs-'): Omit<Mount, 'child'> {
  const dir = tmpDir(tag)
  const m = { dir, mnt: join(dir, 'mnt'), torrents: join(dir, 'torrents'), data: join(dir, 'data'), xdg: join(dir, 'xdg') }
  for (const d of [m.mnt, m.torrents, m.data, m.xdg]) mkdirSync(d)
  cleanupMount(m.mnt)
  return m
}

/** Start `torrentfs` on dirs (the torrents must already be in dirs.torrents) and wait until `expect` shows. */
export async function startTorrentfs(dirs: Omit<Mount, 'child'>, extra: string[], expect: string[]): Promise<Mount> {
  const child = start(process.execPath, ['--import', 'tsx', CMD, '-mountDir', dirs.mnt, '-metainfoDir', dirs.torrents, '-downloadDir', dirs.data, '--no-dht', '--verbose', ...extra], {
    cwd: ROOT,
    env: { XDG_DATA_HOME: dirs.xdg, BT_DHT_BOOTSTRAP: 'none' },
  })
  await waitFor('torrentfs to mount', () => /mounted/.test(child.stderr()) || child.proc.exitCode !== null, 20_000)
  assert.ok(child.proc.exitCode === null, `torrentfs exited: ${child.stderr()}`)
  await waitFor(`${expect.join(', ')} to show`, async () => {
    const names = await readdir(dirs.mnt).catch(() => [] as string[])
    return expect.every((e) => names.includes(e))
  }, 10_000)
  return { ...dirs, child }
}

/**
 * Run fn with the mount, then stop torrentfs (SIGTERM, asserting a clean exit). A failure carries torrentfs's own
 * log (it runs with --verbose: failed reads, added torrents) so a flaky run can be diagnosed from CI output.
 */
export async function withMount(m: Mount, fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- torrentfs stderr ---\n${m.child.stderr().slice(-8000)}`
    throw err
  } finally {
    await stopTorrentfs(m)
  }
}

/** SIGTERM the torrentfs child; asserts it exits 0 and leaves a plain directory behind. */
export async function stopTorrentfs(m: Mount): Promise<void> {
  if (m.child.proc.exitCode !== null) return
  m.child.proc.kill('SIGTERM')
  const code = await within(m.child.exited, 12_000, 'torrentfs exit after SIGTERM')
  assert.is(code, 0, m.child.stderr())
  assert.not.ok(isMounted(m.mnt), 'still mounted after SIGTERM')
}

export function copyTorrent(tt: TestTorrent, dirs: { torrents: string }, name = 'a.torrent'): void {
  copyFileSync(tt.torrentPath, join(dirs.torrents, name))
}

export function md5Range(file: string, offset: number, length: number): string {
  return createHash('md5').update(readFileSync(file).subarray(offset, offset + length)).digest('hex')
}

export { freePort } from '../helpers/clients.js'

/** Verified pieces recorded in the (single) resume file under an XDG_DATA_HOME. */
export function resumePieces(xdg: string): { have: number; pieceCount: number } {
  const dir = join(xdg, 'bt', 'resume')
  const files = readdirSync(dir).filter((f) => f.endsWith('.resume'))
  assert.is(files.length, 1, `resume files: ${files.join(', ')}`)
  const saved = JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as { have: string; pieceCount: number }
  let have = 0
  for (const byte of Buffer.from(saved.have, 'base64')) for (let b = byte; b; b &= b - 1) have++
  return { have, pieceCount: saved.pieceCount }
}

/** pread the ranges of `file` in a child and check each against the source file (`length` bytes long). */
export async function assertPreads(file: string, src: string, length: number, ranges: Array<[number, number]>): Promise<void> {
  const r = preadChild(file, ranges)
  assert.is(await r.exited, 0, r.stderr())
  const got = r.results()
  assert.is(got.length, ranges.length, r.stdout())
  ranges.forEach(([off, len], i) => {
    const n = Math.min(len, length - off)
    assert.equal(got[i], { offset: off, n, md5: md5Range(src, off, n) }, `pread ${off}:${len}`)
  })
}

/**
 * A seeder's side of its connections, one line per peer, for a timeout message: whether it chokes the peer, what the
 * peer asked that is still queued or being read, what it sent, and the socket's byte counts (compare them with
 * torrentfs's own line in its --verbose log and with `ss -ti`).
 */
export function seederState(t: Torrent): string {
  const lines = [...t.peers.values()].map((p) => {
    const s = p.socket as { bytesRead?: number; bytesWritten?: number; localPort?: number; remotePort?: number; writableLength: number }
    return `seeder peer ${p.key}: ${p.wire.amChoking ? 'choking' : 'unchoked'}, ${p.wire.peerInterested ? 'interested' : 'not interested'}, ${p.wire.peerRequests.length} requests in the wire, ${p.uploadQueue.length} queued, ${p.uploadsInFlight} reading${p.uploadWaiting ? ', waiting for tokens or drain' : ''}, sent ${p.wire.uploaded} B of blocks; socket ${s.localPort}<-${s.remotePort} read ${s.bytesRead} B wrote ${s.bytesWritten} B, ${s.writableLength} B unsent`
  })
  return lines.length ? lines.join('\n') : 'seeder has no peers'
}
