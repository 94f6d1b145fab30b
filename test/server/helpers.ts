// bt serve under test: the real command in a child process on 127.0.0.1 (HTTP port 0, peer port 0, no DHT), with its
// own XDG_DATA_HOME and download directory, plus small HTTP helpers.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { BT } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { delay } from '../helpers/wait.js'

export const KiB = 1024
export const MiB = 1024 * 1024

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

export interface Serve {
  url: string
  port: number
  dataDir: string
  downloadDir: string
  child: ChildProcess
  stderr(): string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM, then wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill9(): Promise<void>
}

export interface ServeStart {
  args?: string[]
  dataDir?: string
  downloadDir?: string
  env?: NodeJS.ProcessEnv
}

/** Start `bt serve`; resolves once it printed its URL. */
export async function startServe(o: ServeStart = {}): Promise<Serve> {
  const dataDir = o.dataDir ?? tmpDir('bt-serve-data-')
  const downloadDir = o.downloadDir ?? join(tmpDir('bt-serve-dl-'), 'dl')
  const args = [BT, 'serve', '--port', '0', '--peer-port', '0', '--no-dht', '--download-dir', downloadDir, ...(o.args ?? [])]
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NO_COLOR: '1', BT_DHT_BOOTSTRAP: 'none', XDG_DATA_HOME: dataDir, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let err = ''
  child.stderr!.on('data', (d) => {
    if (err.length < 65536) err += d
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    }),
  )
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bt serve did not start: ${err}`)), 15_000)
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve(line.trim())
    })
    void exit.then((r) => {
      clearTimeout(timer)
      reject(new Error(`bt serve exited (${r.code ?? r.signal}): ${err}`))
    })
  })
  const port = Number(new URL(url).port)
  return {
    url,
    port,
    dataDir,
    downloadDir,
    child,
    stderr: () => err,
    exit,
    async stop() {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const r = await exit
      clearTimeout(t)
      return r
    },
    async kill9() {
      child.kill('SIGKILL')
      await exit
    },
  }
}

export interface Res {
  status: number
  headers: Headers
  text: string
  json: any
}

/** fetch with a bounded time; JSON bodies in and out. */
export async function http(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: BodyInit; timeoutMs?: number } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...init.headers }
  let body: BodyInit | undefined = init.raw
  if (init.body !== undefined) {
    headers['content-type'] ??= 'application/json'
    body = JSON.stringify(init.body)
  }
  const res = await fetch(url, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, signal: AbortSignal.timeout(init.timeoutMs ?? 20_000) })
  const text = await res.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, text, json }
}

/** Poll GET url until pred(json) holds; bounded. */
export async function pollJson(url: string, pred: (j: any) => boolean, timeoutMs: number, headers?: Record<string, string>): Promise<any> {
  const deadline = Date.now() + timeoutMs
  let last: any
  for (;;) {
    const r = await http(url, { headers })
    last = r.json
    if (r.status === 200 && pred(r.json)) return r.json
    if (Date.now() > deadline) throw new Error(`timed out polling ${url}: ${JSON.stringify(last)?.slice(0, 800)}`)
    await delay(100)
  }
}

/** One Transmission RPC call with the 409 session-id handshake. */
export async function rpc(url: string, method: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<any> {
  let sid = ''
  for (let i = 0; i < 2; i++) {
    const r = await http(`${url}/transmission/rpc`, { body: { method, arguments: args, tag: 7 }, headers: { ...headers, 'X-Transmission-Session-Id': sid } })
    if (r.status === 409) {
      sid = r.headers.get('x-transmission-session-id') ?? ''
      continue
    }
    if (r.status !== 200) throw new Error(`rpc ${method}: HTTP ${r.status} ${r.text}`)
    return r.json
  }
  throw new Error(`rpc ${method}: no session id`)
}
