// Run the built `bt`/`torrentfs` binaries as a user would, capturing output and exit code.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BT = `${ROOT}bin/bt.js`

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  stdoutBuf: Buffer
}

export function run(cmd: string, args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', BT_DHT_BOOTSTRAP: 'none', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d) => out.push(d))
    child.stderr.on('data', (d) => err.push(d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const stdoutBuf = Buffer.concat(out)
      resolve({ code, stdout: stdoutBuf.toString(), stderr: Buffer.concat(err).toString(), stdoutBuf })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input)
  })
}

/** stdout of a `--json` command that prints one JSON object per line. */
export function jsonLines(stdout: string): Array<Record<string, any>> {
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
}

export function bt(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(process.execPath, [BT, ...args], opts)
}

const running = new Set<ChildProcess>()
process.on('exit', killSpawned)

/** Kill every child spawnBt started that is still running (call from after.each). */
export function killSpawned(): void {
  for (const c of running) c.kill('SIGKILL')
}

/**
 * A bt child that keeps running (a seed, a download to interrupt), with its stdout lines — and those that are JSON,
 * as events — as they come.
 */
export function spawnBt(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BT, ...args], { env: { ...process.env, NO_COLOR: '1', BT_DHT_BOOTSTRAP: 'none', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  const lines: string[] = []
  const events: Array<Record<string, any>> = []
  let stderr = ''
  child.stderr!.on('data', (d) => { if (stderr.length < 16384) stderr += d })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    try { events.push(JSON.parse(line)) } catch {}
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => { running.delete(child); resolve({ code, signal }) }))
  return { child, lines, events, exit, stderr: () => stderr }
}

/**
 * A long-running bt with --json: `result` resolves with the first event `match` accepts (rejects after `ms` or when
 * bt exits); `stop` ends it (SIGTERM, then SIGKILL); `output` is its stderr and stdout so far, for failure messages.
 */
export function btUntil(args: string[], match: (e: Record<string, any>) => boolean, ms: number, env: NodeJS.ProcessEnv = {}): { result: Promise<Record<string, any>>; stop(): Promise<void>; output(): string } {
  const child = spawn(process.execPath, [BT, ...args], { env: { ...process.env, NO_COLOR: '1', BT_DHT_BOOTSTRAP: 'none', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let text = ''
  const exited = new Promise<void>((r) => child.on('close', () => { running.delete(child); r() }))
  child.stderr!.on('data', (d) => { if (text.length < 64 * 1024) text += d })
  const result = new Promise<Record<string, any>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bt ${args[0]}: no matching event after ${ms} ms:\n${text.slice(-3000)}`)), ms)
    exited.then(() => { clearTimeout(timer); reject(new Error(`bt ${args[0]} exited (${child.exitCode}):\n${text.slice(-3000)}`)) })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (text.length < 64 * 1024) text += line + '\n'
      let e: Record<string, any>
      try { e = JSON.parse(line) } catch { return }
      if (match(e)) { clearTimeout(timer); resolve(e) }
    })
  })
  result.catch(() => {})
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }
  return { result, stop, output: () => text }
}
