// Moving a torrent's data on disk for Transmission's torrent-set-location (move: true) and renaming a file or folder
// of a torrent for torrent-rename-path. The engine stores files at `downloadDir/…path`; these functions move the
// bytes and compute the new per-file paths, and the daemon restarts the torrent over the result.

import { constants } from 'node:fs'
import { copyFile, lstat, mkdir, rename, rmdir, unlink } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import type { Metainfo } from '../metainfo/metainfo.js'
import { ApiError } from './errors.js'

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false)
}

/** rename, or copy and unlink when the target is on another file system. */
async function moveFile(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true })
  try {
    await rename(from, to)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
    await copyFile(from, to, constants.COPYFILE_EXCL)
    await unlink(from)
  }
}

/** Remove the directories a torrent's files lived in under `root`, deepest first, as long as they are empty. */
export async function removeEmptyDirs(paths: string[][], root: string): Promise<void> {
  const top = resolve(root)
  const dirs = new Set<string>()
  for (const p of paths) {
    for (let d = dirname(join(top, ...p)); d.startsWith(top + sep); d = dirname(d)) dirs.add(d)
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await rmdir(d).catch(() => {})
}

/**
 * Move every file of `m` that exists under `from` to the same path under `to`. Refuses (before moving anything)
 * when a target already exists, so a half-moved torrent never overwrites someone's file.
 */
export async function moveTorrentData(m: Metainfo, from: string, to: string): Promise<{ moved: number }> {
  if (resolve(from) === resolve(to)) return { moved: 0 }
  const plan: Array<[string, string]> = []
  for (const f of m.files) {
    if (f.padding) continue
    const src = join(from, ...f.path)
    if (!(await exists(src))) continue
    const dst = join(to, ...f.path)
    if (await exists(dst)) throw new ApiError('conflict', `cannot move ${f.path.join('/')}: ${dst} already exists`)
    plan.push([src, dst])
  }
  for (const [src, dst] of plan) {
    try {
      await moveFile(src, dst)
    } catch (err) {
      throw new ApiError('invalid', `moving ${src} to ${dst}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  await removeEmptyDirs(m.files.map((f) => f.path), from)
  return { moved: plan.length }
}

/** A name Transmission's rename may give: one path component, nothing that escapes or hides the directory. */
export function checkNewName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255 || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new ApiError('invalid', 'name: one file or folder name (no slashes, not . or ..)')
  }
  return name
}

/**
 * torrent-rename-path: `path` names a file or a folder of the torrent as Transmission lists it (components joined
 * by "/", the torrent's folder first); its last component becomes `name`. Returns every file's new path, and the
 * on-disk rename to do (a folder renames once for all its files).
 */
export function renamePlan(paths: string[][], path: unknown, name: unknown): { paths: string[][]; from: string[]; to: string[] } {
  const newName = checkNewName(name)
  if (typeof path !== 'string' || path.length === 0 || path.length > 4096) throw new ApiError('invalid', 'path: a file or folder of the torrent')
  const parts = path.split('/')
  const under = (p: string[]) => p.length >= parts.length && parts.every((c, i) => p[i] === c)
  if (!paths.some(under)) throw new ApiError('invalid', `path: the torrent has no file or folder "${path.slice(0, 200)}"`)
  const to = [...parts.slice(0, -1), newName]
  const next = paths.map((p) => (under(p) ? [...to, ...p.slice(parts.length)] : p))
  // Two files on one path, or a file where another file's folder is: refused.
  const joined = next.map((p) => p.join('/'))
  const folders = new Set<string>()
  for (const p of next) for (let k = 1; k < p.length; k++) folders.add(p.slice(0, k).join('/'))
  if (new Set(joined).size !== joined.length || joined.some((j) => folders.has(j))) {
    throw new ApiError('conflict', `name: "${newName}" is already taken in the torrent`)
  }
  return { paths: next, from: parts, to }
}

/** Do a renamePlan on disk under `dir` (nothing to do if the data is not there yet). */
export async function renameOnDisk(dir: string, from: string[], to: string[]): Promise<void> {
  const src = join(dir, ...from)
  const dst = join(dir, ...to)
  if (src === dst || !(await exists(src))) return
  if (await exists(dst)) throw new ApiError('conflict', `cannot rename: ${dst} already exists`)
  await rename(src, dst).catch((err) => {
    throw new ApiError('invalid', `renaming ${src}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  })
}

/** The metainfo with renamed file paths (the info dict, hash and pieces unchanged: peers see the same torrent). */
export function withPaths(m: Metainfo, paths: string[][] | undefined): Metainfo {
  if (!paths || paths.length !== m.files.length) return m
  const files = m.files.map((f, i) => ({ ...f, path: paths[i] }))
  return { ...m, files, name: m.multiFile ? paths[0][0] : paths[0][paths[0].length - 1] }
}

/** Transmission's file priorities (-1 low, 0 normal, 1 high) as piece ranges the engine fetches first. */
export function highPriorityRanges(m: Metainfo, priorities: number[] | undefined, selected: (i: number) => boolean): Array<{ first: number; last: number }> {
  const out: Array<{ first: number; last: number }> = []
  if (!priorities) return out
  m.files.forEach((f, i) => {
    if (priorities[i] !== 1 || f.padding || f.length === 0 || !selected(i)) return
    out.push({ first: Math.floor(f.offset / m.pieceLength), last: Math.floor((f.offset + f.length - 1) / m.pieceLength) })
  })
  return out
}
