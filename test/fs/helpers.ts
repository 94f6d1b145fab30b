// Shared by the torrentfs tests: child processes and mounts that are cleaned up even when a test fails, polling.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import * as assert from 'uvu/assert'
import { within } from '../helpers/wait.js'

export const PREAD = fileURLToPath(new URL('./pread-child.mjs', import.meta.url))

const children = new Set<ChildProcess>()
const mounts = new Set<string>()

function cleanup(): void {
  for (const c of children) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL')
    } catch {
      try { c.kill('SIGKILL') } catch {}
    }
  }
  for (const m of mounts) {
    try { execFileSync('fusermount', ['-uz', m], { stdio: 'ignore' }) } catch {}
  }
}
// First in line: test/helpers/tmp.ts removes temp dirs on exit, and a recursive delete walking into a live mount
// served by this very process would wait for itself forever.
process.prependListener('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(1))

/** Fail the whole file (cleaning up) if it runs longer than ms: a hung read must not hang the suite. */
export function watchdog(ms = 55_000): void {
  setTimeout(() => {
    process.stderr.write(`test file still running after ${ms} ms: giving up\n`)
    process.exit(1)
  }, ms).unref()
}


/** Unmount `dir` when the test process exits, whatever happened. */
export function cleanupMount(dir: string): void {
  mounts.add(resolve(dir))
}

export interface Child {
  proc: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>
}

/** This process's descriptors for /dev/fuse (a FUSE mount served in-process holds one, not close-on-exec). */
function fuseFds(): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === '/dev/fuse') out.push(Number(name))
    } catch {}
  }
  return out
}

/**
 * Spawn a child in its own process group, killed at exit if still running. A child must not inherit /dev/fuse: if
 * this process dies while the child waits on the mount, the inherited descriptor would keep the connection alive
 * and the child would wait forever.
 */
export function start(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  const fds = fuseFds()
  if (fds.length) {
    args = ['-c', `exec ${fds.map((fd) => `${fd}>&-`).join(' ')} "$0" "$@"`, cmd, ...args]
    cmd = '/bin/bash'
  }
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  children.add(proc)
  let out = ''
  let err = ''
  proc.stdout!.on('data', (d) => (out += d))
  proc.stderr!.on('data', (d) => (err += d))
  const exited = new Promise<number | string>((res) => {
    proc.on('close', (code, signal) => {
      children.delete(proc)
      res(code ?? signal ?? -1)
    })
  })
  return { proc, stdout: () => out, stderr: () => err, exited }
}

/** Run to completion with a time limit; kills the child if it runs over. */
export async function runChild(cmd: string, args: string[], timeoutMs = 20_000, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const c = start(cmd, args, opts)
  const timer = setTimeout(() => {
    try {
      process.kill(-c.proc.pid!, 'SIGKILL')
    } catch {}
  }, timeoutMs)
  const code = await c.exited
  clearTimeout(timer)
  return { code, stdout: c.stdout(), stderr: c.stderr() }
}

/** `cat FILE | md5sum` in a shell, as a user would. */
export async function catMd5(path: string, timeoutMs = 30_000): Promise<string> {
  const r = await runChild('bash', ['-c', 'set -o pipefail; cat "$1" | md5sum', 'bash', path], timeoutMs)
  assert.is(r.code, 0, `cat ${path}: ${r.stderr}`)
  return r.stdout.split(' ')[0]
}

/** `dd if=FILE bs=BS skip=… count=… | md5sum`: COUNT blocks of BS bytes starting at block SKIP. */
export async function ddMd5(path: string, bs: number, skip: number, count: number, timeoutMs = 20_000): Promise<string> {
  const r = await runChild('bash', ['-c', `set -o pipefail; dd if="$1" bs=${bs} skip=${skip} count=${count} status=none | md5sum`, 'bash', path], timeoutMs)
  assert.is(r.code, 0, `dd ${path}: ${r.stderr}`)
  return r.stdout.split(' ')[0]
}

export interface PreadResult {
  offset: number
  n?: number
  md5?: string
  error?: string
}

/** Read OFFSET:LENGTH ranges of a file from a child process (see pread-child.mjs). */
export function preadChild(file: string, ranges: Array<[number, number]>): Child & { results: () => PreadResult[] } {
  const c = start(process.execPath, [PREAD, file, ...ranges.map(([o, l]) => `${o}:${l}`)])
  return {
    ...c,
    exited: within(c.exited, 15_000, `pread of ${file}`),
    results: () => c.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PreadResult),
  }
}

export { delay, waitFor, within } from '../helpers/wait.js'

export function isMounted(dir: string): boolean {
  const want = resolve(dir)
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === want)
}
