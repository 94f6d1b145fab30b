// rtorrent (Debian 0.9.8, rakshasa libtorrent 0.13.8) as a seeder or leecher on 127.0.0.1, for interop tests.
//
// Loopback pitfalls found here (they belong to the test setup, not to workarounds in bt):
// - It refuses a torrent with no tracker ("Could not find any trackers"): give the torrent a dead one,
//   http://127.0.0.1:9/announce (nothing listens on port 9; the announce fails at once and harmlessly).
// - It is a curses program and exits without a terminal: run it under `script -qec "…" /dev/null`. `script` starts it
//   in a session of its own, so killing script's process group misses it: stop() signals rtorrent by pid too.
// - It keeps one peer entry per IP, and may dial its own listen port when a tracker hands it back: on loopback every
//   peer is 127.0.0.1, so do not give it peers through a tracker. Dial it instead (bt --peer, or x.pe in a magnet).
// - It answers one ut_metadata request at a time: a request that arrives while its reply is pending is dropped
//   without a reject (rakshasa libtorrent's pending-message check).
// - `-b 127.0.0.1` binds its listen socket; DHT is off with `dht.mode.set=disable`, PEX with `protocol.pex.set=no`.
//   It has no UPnP or LSD. Its output is a screen, not a log: completion is judged from the files on disk.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './clients.js'
import { tmpDir } from './tmp.js'
import { delay } from './wait.js'

/** The dead tracker rtorrent needs in every torrent it loads. */
export const DEAD_TRACKER = 'http://127.0.0.1:9/announce'

export interface RtorrentHandle {
  port: number
  /** '127.0.0.1:PORT' */
  addr: string
  dir: string
  /** The screen output so far, control sequences stripped (for failure messages). */
  output(): string
  stop(): Promise<void>
}

const live = new Set<{ script: ChildProcess; pid?: number }>()
process.on('exit', () => {
  for (const l of live) {
    try { l.script.kill('SIGKILL') } catch {}
    if (l.pid) try { process.kill(l.pid, 'SIGKILL') } catch {}
  }
})

/** Child pids of `pid` (from /proc), to find rtorrent under script. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** Start rtorrent with `torrentPath` loaded and started; data lives under `dir` (seeding if complete there). */
export async function startRtorrent(opts: { torrentPath: string; dir: string }): Promise<RtorrentHandle> {
  const port = await freePort()
  const session = tmpDir('bt-rtorrent-session-')
  mkdirSync(opts.dir, { recursive: true })
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const cmd = [
    'rtorrent', '-n', '-d', quote(opts.dir), '-s', quote(session), '-p', `${port}-${port}`, '-b', '127.0.0.1',
    '-o', 'dht.mode.set=disable', '-o', 'protocol.pex.set=no', '-o', 'trackers.use_udp.set=no',
    quote(opts.torrentPath),
  ].join(' ')
  const script = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } })
  const entry: { script: ChildProcess; pid?: number } = { script }
  live.add(entry)
  let raw = ''
  const keep = (d: Buffer) => { if (raw.length < 256 * 1024) raw += d.toString('latin1') }
  script.stdout!.on('data', keep)
  script.stderr!.on('data', keep)
  let exited = false
  const exit = new Promise<void>((resolve) => script.on('close', () => { exited = true; resolve() }))
  const output = () => raw.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()=>][A-Za-z0-9]?/g, ' ').replace(/[^\x20-\x7e\n]/g, '')
  const stop = async () => {
    if (entry.pid) try { process.kill(entry.pid, 'SIGTERM') } catch {}
    if (!exited) script.kill('SIGTERM')
    await Promise.race([exit, delay(3000)])
    if (entry.pid) try { process.kill(entry.pid, 'SIGKILL') } catch {}
    if (!exited) script.kill('SIGKILL')
    live.delete(entry)
  }
  // Ready when its listen socket is up (rtorrent hashes a complete torrent before it uploads; bt retries the dial).
  const deadline = Date.now() + 10_000
  for (;;) {
    entry.pid ??= childPids(script.pid!)[0]
    if (output().includes(`Port: ${port}`)) break
    if (exited || Date.now() > deadline) {
      await stop()
      throw new Error(`rtorrent did not start:\n${output().slice(-2000)}`)
    }
    await delay(50)
  }
  return { port, addr: `127.0.0.1:${port}`, dir: opts.dir, output, stop }
}
