// Getting at FUSE: load fuse-native only when needed (it links libfuse.so.2 at load time), say in one line what to
// install when FUSE is missing, and clear a dead mount a killed torrentfs left behind.

import { execFile } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { delimiter, join, resolve } from 'node:path'
import type FuseType from 'fuse-native'
import { BtError, ExitCode, fromSystemError } from '../errors.js'

export type Fuse = FuseType
export type FuseClass = typeof FuseType

const INSTALL_HINT = 'install it with: apt-get install libfuse2 fuse'

let loaded: FuseClass | undefined

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return true
  }
  return false
}

/** fuse-native's class, after checking that FUSE can work here; BtError (exit 2) naming what to install if not. */
export function loadFuse(): FuseClass {
  if (loaded) return loaded
  const missing = (why: string): never => {
    throw new BtError(`FUSE is not available (${why}); ${INSTALL_HINT}`, ExitCode.usage)
  }
  if (process.platform !== 'linux') missing(`torrentfs supports Linux only, not ${process.platform}`)
  if (!existsSync('/dev/fuse')) missing('no /dev/fuse')
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK)
  } catch {
    missing('/dev/fuse is not readable and writable for this user')
  }
  if (!onPath('fusermount')) missing('no fusermount on PATH')
  try {
    loaded = createRequire(import.meta.url)('fuse-native') as FuseClass
  } catch (err) {
    const msg = (err as Error).message
    missing(/libfuse/.test(msg) ? 'libfuse.so.2 not found' : `fuse-native does not load: ${msg.split('\n')[0]}`)
  }
  return loaded!
}

/** Run `fusermount -uz dir` (lazy: works while files are open); resolves false if it failed. */
export function lazyUnmount(dir: string): Promise<boolean> {
  return new Promise((res) => {
    execFile('fusermount', ['-uz', dir], (err) => res(!err))
  })
}

/** True when `dir` is a mount point listed in /proc/mounts. */
export function isMountPoint(dir: string): boolean {
  const want = resolve(dir)
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const field = line.split(' ')[1]
      // /proc/mounts escapes space, tab, newline and backslash as octal.
      if (field && field.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))) === want) return true
    }
  } catch {}
  return false
}

/**
 * Make `dir` ready to mount on. A dead FUSE mount (its process was killed: stat fails with ENOTCONN) is lazily
 * unmounted; a live mount or a missing directory is an error a user can act on.
 */
export async function prepareMountPoint(dir: string): Promise<void> {
  let st
  try {
    st = await stat(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') {
      if (!(await lazyUnmount(dir))) throw new BtError(`${dir}: a dead mount is in the way and fusermount -uz failed`, ExitCode.io)
      st = await stat(dir).catch(() => undefined)
      if (!st) throw new BtError(`${dir}: still unusable after unmounting a dead mount`, ExitCode.io)
    } else if (code === 'ENOENT') {
      throw new BtError(`${dir}: no such directory (create the mount point first)`, ExitCode.usage)
    } else {
      throw fromSystemError(err, dir, ExitCode.io)
    }
  }
  if (!st.isDirectory()) throw new BtError(`${dir}: not a directory`, ExitCode.usage)
  if (isMountPoint(dir)) {
    throw new BtError(`${dir} is already mounted (another torrentfs?); unmount it with: fusermount -u ${dir}`, ExitCode.io)
  }
}
