#!/usr/bin/env node
// Magnet metadata from rtorrent alone: rtorrent seeds a torrent whose info dict is over 20 KiB (many files with long
// names, little data), then bt and a python3-libtorrent leecher in turn get only `magnet:?xt=urn:btih:HEX&x.pe=…`
// naming rtorrent. Prints time to metadata and to done (from the client's spawn, its startup included), the client's
// CPU seconds (user+sys from /proc when it reports done, startup included) and bt/libtorrent. rtorrent answers one ut_metadata request at a time and drops a request that arrives while a reply is
// pending, which once kept bt from ever completing such a magnet.
//
//   npm run build && node bench/rtorrent-magnet.js [--files 300] [--runs 3] [--timeout 60] [--dir /tmp] [--keep]
//
// Runs on the host's 127.0.0.1: rtorrent binds 127.0.0.1 with DHT and PEX off (it has no UPnP or LSD) and gets a dead
// tracker (http://127.0.0.1:9/announce; it refuses a torrent without one); bt runs with --no-dht; libtorrent listens
// on 127.0.0.1 with DHT, LSD, UPnP and NAT-PMP off. rtorrent needs a terminal: it runs under `script`.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { BT, LT_PYTHON, LT_SCRIPT, ROOT, ensureBuilt, freePort, have, killAll, parseArgs, printHelpAndExit } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help'])
if (flags.help) printHelpAndExit(import.meta.url)
const files = Number(flags.files ?? 300)
const runs = Math.max(1, Number(flags.runs ?? 3))
const timeoutMs = Number(flags.timeout ?? 60) * 1000
ensureBuilt()
for (const cmd of ['rtorrent', 'script']) if (!have(cmd)) { console.error(`${cmd} is missing`); process.exit(2) }

const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-rtmagnet-'))
const procs = new Set()
const cleanup = () => {
  for (const p of procs) { try { process.kill(p, 'SIGKILL') } catch {} }
  if (!flags.keep) rmSync(work, { recursive: true, force: true })
}
process.on('exit', cleanup)

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const delay = (ms) => new Promise((r) => setTimeout(r, ms))

function portOpen(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** CPU seconds (user+sys) a live process has used, from /proc/PID/stat (USER_HZ 100); NaN once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}

/**
 * Spawn a client; resolves with ms from spawn to the first lines matching `metadata` and `done`, and from its first
 * `added` line (the torrent exists, the process has started) to `metadata`: process startup is slow on a busy machine.
 */
function timeClient(cmd, args, { added, metadata, done }) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, BT_DHT_BOOTSTRAP: 'none' } })
    procs.add(child.pid)
    let metaMs
    let doneMs
    let addedMs
    let cpu = NaN
    let err = ''
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000) })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (addedMs === undefined && added.test(line)) addedMs = performance.now() - t0
      if (metaMs === undefined && metadata.test(line)) metaMs = performance.now() - t0
      if (doneMs === undefined && done.test(line)) {
        doneMs = performance.now() - t0
        cpu = cpuSeconds(child.pid)
        child.stdin.end() // lt_node.py exits on stdin EOF
      }
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      procs.delete(child.pid)
      if (metaMs === undefined || doneMs === undefined) reject(new Error(`${cmd} did not finish (code ${code}):\n${err}`))
      else resolve({ metaMs, doneMs, sinceAddedMs: metaMs - (addedMs ?? 0), cpuMs: cpu * 1000 })
    })
  })
}

async function main() {
  const seed = join(work, 'seed')
  const album = join(seed, 'album')
  mkdirSync(album, { recursive: true })
  for (let i = 0; i < files; i++) writeFileSync(join(album, `track ${String(i).padStart(3, '0')} - a rather long title for a file in an album.flac`), Buffer.alloc(200 + i, i))
  const torrent = join(work, 'album.torrent')
  const mk = spawn(process.execPath, [BT, 'create', album, '-l', '16k', '-t', 'http://127.0.0.1:9/announce', '-o', torrent, '-q', '--no-date'], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (await new Promise((r) => mk.on('close', r)) !== 0) throw new Error('bt create failed')
  const { parseTorrent } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'metainfo', 'metainfo.js')).href)
  const meta = parseTorrent(readFileSync(torrent))
  const hash = meta.infoHash
  const port = await freePort()
  const session = join(work, 'rt-session')
  mkdirSync(session)
  const script = spawn('script', ['-qec', `rtorrent -n -d '${seed}' -s '${session}' -p ${port}-${port} -b 127.0.0.1 -o dht.mode.set=disable -o protocol.pex.set=no '${torrent}'`, '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, TERM: 'xterm' } })
  procs.add(script.pid)
  for (let i = 0; i < 100 && !(await portOpen(port)); i++) await delay(100)
  for (const c of readFileSync(`/proc/${script.pid}/task/${script.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) procs.add(Number(c))
  await delay(1000) // its hash check of ~100 KB
  const magnet = `magnet:?xt=urn:btih:${hash}&x.pe=127.0.0.1:${port}`
  console.log(`rtorrent seeding ${files} files (info dict ${meta.infoBuffer.length} bytes), ${runs} runs each; ${magnet}`)
  const results = { bt: [], libtorrent: [] }
  for (let r = 0; r < runs; r++) {
    const btOut = join(work, `bt-${r}`)
    results.bt.push(await timeClient(process.execPath, [BT, 'download', magnet, '-o', btOut, '--port', '0', '--no-dht', '--json'], { added: /"event":"added"/, metadata: /"event":"metadata"/, done: /"event":"done"/ }))
    const ltOut = join(work, `lt-${r}`)
    mkdirSync(ltOut)
    const cfg = { magnet, save: ltOut, peers: [`127.0.0.1:${port}`], exit_on_finish: true }
    results.libtorrent.push(await timeClient(LT_PYTHON, [LT_SCRIPT, JSON.stringify(cfg)], { added: /"ev": "added"/, metadata: /"ev": "metadata"/, done: /"ev": "finished"/ }))
  }
  for (const [who, rs] of Object.entries(results)) {
    const f = (k) => rs.map((x) => (x[k] / 1000).toFixed(2)).join(' / ')
    console.log(`${who.padEnd(10)} from spawn: metadata ${f('metaMs')} s, done ${f('doneMs')} s; from added to metadata ${f('sinceAddedMs')} s; CPU ${f('cpuMs')} s`)
  }
  const ratio = (k) => median(results.bt.map((x) => x[k])) / median(results.libtorrent.map((x) => x[k]))
  console.log(`bt/libtorrent (medians): metadata ${ratio('metaMs').toFixed(2)}, done ${ratio('doneMs').toFixed(2)}, added to metadata ${ratio('sinceAddedMs').toFixed(2)}, CPU ${ratio('cpuMs').toFixed(2)}`)
  script.kill('SIGTERM')
}

main().then(() => { killAll(); process.exit(0) }, (err) => { console.error(err.message); killAll(); process.exit(1) })
