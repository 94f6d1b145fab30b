// Other BitTorrent clients for interop tests (aria2c, transmission-cli), kept on 127.0.0.1 with DHT, LPD, UPnP off;
// and md5 helpers to compare what they wrote.
//
// Loopback pitfalls of the clients bt was tried against (the setup works around them, never bt itself):
// - transmission 3.00 drops every 127.x peer it learns from a tracker, PEX or the DHT, but accepts incoming
//   connections: the other side dials transmission's port. It unchokes only at its 10 s rechoke.
// - aria2c ignores `x.pe` in magnet links (it reads xt, tr, dn): give it a tracker (--bt-tracker).
// - libtorrent (python3-libtorrent, qBittorrent, deluge) refuses a second connection from an IP it already has a
//   peer on unless `allow_multiple_connections_per_ip` is set; on loopback everyone is 127.0.0.1. deluged 2.0 closes
//   repeated 127.0.0.1 connections for that reason. See libtorrent.ts and qbittorrent.ts.
// - rtorrent and ctorrent keep one peer entry per IP and may dial their own listen port when a tracker hands it
//   back; ctorrent also closes connections from its own IP (bind it to 127.0.0.2). See rtorrent.ts.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { tmpDir } from './tmp.js'

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

/** A TCP port that was free on 127.0.0.1 a moment ago, for tools that cannot listen on port 0 and report it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export interface Aria2Options {
  torrentOrMagnet: string
  dir: string
  /** Tracker to add (aria2 ignores x.pe in magnets, so a magnet needs one). */
  tracker?: string
  timeoutMs: number
  /** Minutes to seed after completion (default 0: exit when done). */
  seedTime?: number
  port?: number
  pex?: boolean
  extraArgs?: string[]
}

export interface Aria2Result {
  /** aria2c's exit code; -1 when it was killed (timeout). */
  code: number
  ms: number
  output: string
}

/** The aria2c arguments that keep it on loopback and make it exit when complete. */
export function aria2Args(opts: Omit<Aria2Options, 'timeoutMs'> & { port: number }): string[] {
  return [
    '--no-conf',
    `--dir=${opts.dir}`,
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    `--enable-peer-exchange=${opts.pex ? 'true' : 'false'}`,
    `--listen-port=${opts.port}`,
    '--interface=127.0.0.1',
    '--disable-ipv6=true',
    `--seed-time=${opts.seedTime ?? 0}`,
    // No --check-integrity: on a fresh directory it only logs a spurious "Checksum error detected".
    '--bt-save-metadata=false',
    '--follow-torrent=mem',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    // Preallocating by writing zeros would add a full pass over the file; fallocate is the fair choice.
    '--file-allocation=falloc',
    '--summary-interval=0',
    '--show-console-readout=false',
    '--console-log-level=warn',
    `--stop-with-process=${process.pid}`,
    ...(opts.tracker ? [`--bt-tracker=${opts.tracker}`] : []),
    ...(opts.extraArgs ?? []),
    opts.torrentOrMagnet,
  ]
}

export async function runAria2(opts: Aria2Options): Promise<Aria2Result> {
  const port = opts.port ?? (await freePort())
  const started = Date.now()
  const child = spawn('aria2c', aria2Args({ ...opts, port }), { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let output = ''
  const keep = (d: Buffer) => { if (output.length < 256 * 1024) output += d.toString() }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
  return new Promise((resolve, reject) => {
    child.on('error', (err) => { clearTimeout(timer); live.delete(child); reject(err) })
    child.on('close', (code) => {
      clearTimeout(timer)
      live.delete(child)
      resolve({ code: code ?? -1, ms: Date.now() - started, output })
    })
  })
}

export interface TransmissionOptions {
  torrentPath: string
  dir: string
  port?: number
  /** Kill it after this long (default 60 s); `done` then rejects. */
  timeoutMs?: number
  /** settings.json `encryption`: 'required' (2) accepts and makes encrypted connections only. Default: its own (1, prefer). */
  encryption?: 'required'
}

export interface TransmissionHandle {
  /** Its peer port on 127.0.0.1: the other side must connect here (transmission 3.00 drops 127.x peers it learns). */
  port: number
  /** Resolves when it reports seeding, with the time since start. */
  done: Promise<{ ms: number }>
  output(): string
  stop(): Promise<void>
}

/** Starts transmission-cli as a leecher; resolves once its session runs (first status line). */
export async function startTransmission(opts: TransmissionOptions): Promise<TransmissionHandle> {
  const port = opts.port ?? (await freePort())
  const config = tmpDir('bt-transmission-')
  // transmission-cli has no flags for these; it reads settings.json from its config dir (-g).
  writeFileSync(join(config, 'settings.json'), JSON.stringify({
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'port-forwarding-enabled': false,
    'bind-address-ipv4': '127.0.0.1',
    'bind-address-ipv6': '::1',
    'peer-port': port,
    'peer-port-random-on-start': false,
    'speed-limit-down-enabled': false,
    'speed-limit-up-enabled': false,
    'message-level': 1,
    ...(opts.encryption === 'required' ? { encryption: 2 } : {}),
  }))
  mkdirSync(opts.dir, { recursive: true })
  const started = Date.now()
  const child = spawn('stdbuf', ['-o0', 'transmission-cli', '-g', config, '-w', opts.dir, '-p', String(port), opts.torrentPath], { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let output = ''
  let tail = ''
  let exited = false
  const exitedP = new Promise<void>((resolve) => child.on('close', () => { exited = true; live.delete(child); resolve() }))
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  exitedP.then(() => clearTimeout(timer))

  let running!: () => void
  let seeding!: (r: { ms: number }) => void
  let failed!: (e: Error) => void
  const runningP = new Promise<void>((res) => { running = res })
  const done = new Promise<{ ms: number }>((res, rej) => { seeding = res; failed = rej })
  done.catch(() => {})
  const onData = (d: Buffer) => {
    const s = d.toString()
    if (output.length < 64 * 1024) output += s
    tail = (tail + s).slice(-400) // status lines are redrawn with \r: look at the latest text only
    if (tail.includes('Progress:') || tail.includes('Seeding')) running()
    if (tail.includes('Seeding')) seeding({ ms: Date.now() - started })
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const spawnErr = new Promise<never>((_, rej) => child.on('error', rej))
  exitedP.then(() => failed(new Error(`transmission-cli exited before seeding (code ${child.exitCode}, signal ${child.signalCode}):\n${output.slice(-2000)}`)))

  const stop = async () => {
    if (exited) return
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exitedP
    clearTimeout(t)
  }
  await Promise.race([runningP, spawnErr, exitedP.then(() => { throw new Error(`transmission-cli exited at start:\n${output}`) })])
  return { port, done, output: () => output, stop }
}

export function md5File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5')
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('error', reject)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
  })
}

/** One digest over every regular file under `dir`: md5 of "relative/path md5\n" lines in byte order of the paths. */
export async function md5Dir(dir: string): Promise<string> {
  const files: string[] = []
  const walk = async (rel: string) => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) await walk(r)
      else if (e.isFile()) files.push(r)
    }
  }
  await walk('')
  files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const h = createHash('md5')
  for (const f of files) h.update(`${f} ${await md5File(join(dir, f))}\n`)
  return h.digest('hex')
}

/** md5 of every file of the torrent under `dir` equals the original's (streamed, for big payloads). */
export async function assertSameMd5(tt: { md5: Map<string, string> }, dir: string): Promise<void> {
  for (const [rel, sum] of tt.md5) {
    const got = await md5File(join(dir, rel))
    if (got !== sum) throw new Error(`${rel} md5: ${got} != ${sum}`)
  }
}
