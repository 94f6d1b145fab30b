// Real libtorrent peers for interop tests: spawns test/helpers/lt_node.py under /usr/bin/python3 (the only python
// that imports python3-libtorrent here), confined to 127.0.0.1 with DHT/LSD/UPnP/NAT-PMP off unless asked.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

export const LT_SCRIPT = fileURLToPath(new URL('./lt_node.py', import.meta.url))
export const LT_PYTHON = process.env.BT_LT_PYTHON || '/usr/bin/python3'

export interface LtOptions {
  torrentPath?: string
  magnet?: string
  saveDir: string
  /** The data is already in saveDir: check it, seed it; startLibtorrent resolves once seeding and announced. */
  seed?: boolean
  /** Extra tracker URLs, added to those of the torrent or magnet. */
  trackers?: string[]
  /** 'host:port' peers to connect to (once the torrent is checked). */
  peers?: string[]
  /** Enables DHT, bootstrapping from these 'host:port' nodes only. */
  dhtBootstrap?: string[]
  /** Listen port on 127.0.0.1; 0 or unset picks a free one. */
  port?: number
  /** Bytes per second for this torrent's uploads (applies to loopback peers too). */
  uploadLimit?: number
  /** libtorrent's high_performance_seed settings pack (deep request queues, big send buffers): for benches. */
  highPerformance?: boolean
  /** Allow uTP (off by default: libtorrent's uTP manages ~10 MiB/s on loopback, and it prefers uTP when dialing). */
  utp?: boolean
  /** Protocol encryption: 'forced' = encrypted (RC4) only both ways, 'disabled' = plain only; unset = libtorrent's default. */
  encryption?: 'forced' | 'disabled'
  /** Extra libtorrent settings_pack entries, applied last (e.g. { unchoke_slots_limit: 0 }). */
  settings?: Record<string, string | number | boolean>
  /** Seconds between progress lines (default 0.25). */
  interval?: number
  /** How long startLibtorrent waits for the peer to be ready (default 30 s). */
  readyTimeoutMs?: number
}

export interface LtStats {
  progress: number
  peers: number
  state: string
  /** Payload rates, bytes per second. */
  down: number
  up: number
  /** Bytes of verified pieces we have. */
  done: number
  uploaded: number
}

export interface LtHandle {
  port: number
  infoHash: string
  /** Resolves when the torrent is complete (at once for a seeder); rejects if the process ends first. */
  done: Promise<void>
  /** The latest progress line. */
  stats(): LtStats
  addPeer(hostPort: string): void
  /** Every event line so far, and stderr: for assertion messages. */
  log(): string
  stop(): Promise<void>
}

interface LtEvent {
  ev: string
  [k: string]: unknown
}

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

export function startLibtorrent(opts: LtOptions): Promise<LtHandle> {
  if (!opts.torrentPath === !opts.magnet) return Promise.reject(new Error('startLibtorrent: give torrentPath or magnet'))
  const cfg = {
    torrent: opts.torrentPath,
    magnet: opts.magnet,
    save: opts.saveDir,
    seed: opts.seed ?? false,
    trackers: opts.trackers,
    peers: opts.peers,
    dht_bootstrap: opts.dhtBootstrap,
    port: opts.port ?? 0,
    upload_limit: opts.uploadLimit,
    high_performance: opts.highPerformance ?? false,
    utp: opts.utp ?? false,
    interval: opts.interval,
    encryption: opts.encryption,
    settings: opts.settings,
  }
  const child = spawn(LT_PYTHON, [LT_SCRIPT, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] })
  live.add(child)
  const lines: string[] = []
  let stderr = ''
  let port = 0
  let infoHash = ''
  let stats: LtStats = { progress: 0, peers: 0, state: 'starting', down: 0, up: 0, done: 0, uploaded: 0 }
  let exited = false
  const exitedP = new Promise<void>((resolve) => child.on('close', () => { exited = true; live.delete(child); resolve() }))
  child.stdin.on('error', () => {})
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 64 * 1024) stderr += d.toString() })
  const log = () => lines.join('\n') + (stderr ? `\n[stderr]\n${stderr}` : '')

  let finish!: () => void
  let fail!: (e: Error) => void
  const done = new Promise<void>((res, rej) => { finish = res; fail = rej })
  done.catch(() => {}) // a caller that never awaits `done` must not see an unhandled rejection

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.stdin.end()
      const t = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exitedP
      clearTimeout(t)
    }
  }

  return new Promise<LtHandle>((resolve, reject) => {
    let ready = false
    const timer = setTimeout(() => {
      if (ready) return
      child.kill('SIGKILL')
      reject(new Error(`libtorrent peer not ready after ${opts.readyTimeoutMs ?? 30000} ms:\n${log()}`))
    }, opts.readyTimeoutMs ?? 30000)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    exitedP.then(() => {
      clearTimeout(timer)
      const err = new Error(`libtorrent peer exited (code ${child.exitCode}, signal ${child.signalCode}):\n${log()}`)
      if (!ready) reject(err)
      fail(err)
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (lines.length < 2000 || !line.includes('"progress"')) lines.push(line)
      let e: LtEvent
      try { e = JSON.parse(line) as LtEvent } catch { return }
      switch (e.ev) {
        case 'listening': port = Number(e.port); break
        case 'added': infoHash = String(e.info_hash); break
        case 'progress': stats = e as unknown as LtStats; break
        case 'finished': finish(); break
        case 'ready':
          ready = true
          clearTimeout(timer)
          resolve({
            port,
            infoHash,
            done,
            stats: () => stats,
            addPeer: (hp) => { if (!exited) child.stdin.write(`add_peer ${hp}\n`) },
            log,
            stop,
          })
          break
      }
    })
  })
}
