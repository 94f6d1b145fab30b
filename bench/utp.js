#!/usr/bin/env node
// uTP transport bench: bt's uTP (libutp through src/net/utp.ts: our binding native/utp, and the utp-native npm
// binding it replaces) beside libtorrent's own uTP, the same python3-libtorrent seeder, the same run; and bt's TCP
// from that seeder for the CPU ratio.
//
//   npm run build && node bench/utp.js [--size 256M] [--runs libtorrent-utp,bt-utp,bt-utp-native,bt-tcp] [--upload] [--timeout 600] [--dir /tmp] [--keep]
//
// BT_UTP_BATCH=0 in the environment turns off utp-native's receive batching (src/net/utp-native.ts), for comparison.
//
// The seeder accepts uTP and TCP. Clients, each timed as a whole process (/usr/bin/time: wall, user+sys CPU, RSS):
//   libtorrent utp  a python3-libtorrent leecher with outgoing TCP off (so it dials uTP), exits when complete
//   bt utp          bench/utp-fetch.js over bt's uTP transport (own binding): PeerWire, 128 requests in flight, md5,
//                   no disk
//   bt utp-native   the same over the utp-native binding (BT_UTP_BINDING=utp-native)
//   bt tcp          the same fetcher over TCP
// The bt fetcher measures the transport and the wire only (no session, no disk writes);
// libtorrent's figure includes its disk writes. bench/download.js has the whole-client uTP columns.
//
// --upload adds the other direction: `bt seed` (the whole client) serves a python3-libtorrent leecher over uTP only
// (own binding, then utp-native) and over TCP only; CPU of both processes from /proc/PID/stat, counted from the
// moment bt is seeding (so its start-up check is left out) to the leecher's completion.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BT, BT_NODE_FLAGS, LT_PYTHON, LT_SCRIPT, MiB, ROOT, ensureBuilt, fmtSize, killAll, makePayload, md5File, parseArgs, parseSize, startLtPeer, timed, printHelpAndExit } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help', 'upload'])
if (flags.help) printHelpAndExit(import.meta.url)
const size = parseSize(flags.size ?? '256M')
const timeoutMs = Number(flags.timeout ?? 600) * 1000

ensureBuilt()
const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-utp-'))
process.on('exit', () => { killAll(); if (!flags.keep) rmSync(work, { recursive: true, force: true }) })

const { seedDir, file, srcMd5 } = await makePayload(work, size)
const torrent = join(work, 'payload.torrent')
const mk = spawnSync('mktorrent', ['-l', '20', '-a', 'http://127.0.0.1:9/announce', '-o', torrent, file], { encoding: 'utf8' })
if (mk.status !== 0) throw new Error(`mktorrent: ${mk.stderr}`)
const seeder = await startLtPeer({ torrent, save: seedDir, seed: true, utp: true, interval: 1 })
const seederAddr = `127.0.0.1:${seeder.port}`
console.log(`payload ${fmtSize(size)}, 1 MiB pieces, libtorrent seeder on ${seederAddr} (uTP and TCP)\n`)

const fetcher = join(ROOT, 'bench', 'utp-fetch.js')
const runs = [
  ['libtorrent utp', LT_PYTHON, (out) => [LT_SCRIPT, JSON.stringify({ torrent, save: out, peers: [seederAddr], exit_on_finish: true, interval: 5, utp: true, settings: { enable_outgoing_tcp: false, enable_incoming_tcp: false } })]],
  ['bt utp', process.execPath, () => [fetcher, torrent, seederAddr, 'utp'], { BT_UTP_BINDING: 'own' }],
  ['bt utp-native', process.execPath, () => [fetcher, torrent, seederAddr, 'utp'], { BT_UTP_BINDING: 'utp-native' }],
  ['bt tcp', process.execPath, () => [fetcher, torrent, seederAddr, 'tcp']],
]
const only = flags.runs ? String(flags.runs).split(',').map((s) => s.trim().replace('-', ' ')) : undefined
const selected = runs.filter(([name]) => !only || only.includes(name))
const results = []
for (const [name, cmd, args, env] of selected) {
  const out = join(work, `out-${name.replace(' ', '-')}`)
  mkdirSync(out)
  const r = await timed(cmd, args(out), { timeoutMs, env, stdin: name.startsWith('libtorrent') ? 'pipe' : 'ignore' })
  let md5 = 'missing'
  if (name.startsWith('libtorrent')) {
    try { md5 = statSync(join(out, 'payload.bin')).size === size ? await md5File(join(out, 'payload.bin')) : 'short' } catch {}
  } else {
    try {
      const j = JSON.parse(r.output.trim().split('\n').pop())
      md5 = j.md5
      if (j.connectRetries) console.log(`${name}: the first connect got no answer in 5 s; retried (connected after ${j.connectMs} ms)`)
    } catch {}
  }
  rmSync(out, { recursive: true, force: true })
  if (r.code !== 0 || md5 !== srcMd5) {
    console.log(`${name}: failed (${r.timedOut ? 'timed out' : `exit ${r.code}, md5 ${md5}`}): ${r.output.trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`)
    continue
  }
  const res = { name, ...r, mibs: size / MiB / r.wall }
  results.push(res)
  console.log(`${name}: ${r.wall.toFixed(2)} s, ${res.mibs.toFixed(1)} MiB/s, CPU ${r.cpu.toFixed(2)} s (${(r.cpu / (size / 2 ** 30)).toFixed(2)} s/GiB), RSS ${(r.rssKiB / 1024).toFixed(0)} MiB, md5 ok`)
}
seeder.stop()

/** user+sys CPU seconds of a live process. */
function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100 // utime, stime in clock ticks (100 Hz here)
}

async function upload(name, transport, env) {
  const out = join(work, `up-${name.replace(' ', '-')}`)
  mkdirSync(out)
  const only = transport === 'tcp' ? ['--no-utp'] : ['--no-tcp']
  const bt = spawn(process.execPath, [...BT_NODE_FLAGS, BT, 'seed', torrent, '-d', seedDir, '--port', '0', '--no-dht', '--json', ...only], {
    env: { ...process.env, ...env, XDG_DATA_HOME: join(work, `xdg-${name.replace(' ', '-')}`), BT_DHT_BOOTSTRAP: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    const port = await new Promise((resolve, reject) => {
      bt.on('close', (code) => reject(new Error(`bt seed exited ${code}`)))
      createInterface({ input: bt.stdout }).on('line', (line) => {
        try {
          const e = JSON.parse(line)
          if (e.event === 'seeding') resolve(e.port)
        } catch {}
      })
    })
    const cpu0 = cpuOf(bt.pid)
    const utp = transport !== 'tcp'
    const settings = utp ? { enable_outgoing_tcp: false, enable_incoming_tcp: false } : { enable_outgoing_utp: false, enable_incoming_utp: false }
    const t0 = Date.now()
    const lt = await startLtPeer({ torrent, save: out, peers: [`127.0.0.1:${port}`], utp, interval: 0.25, settings })
    const lt0 = cpuOf(lt.pid)
    const deadline = t0 + timeoutMs
    while (lt.stats().progress !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    const wall = (Date.now() - t0) / 1000
    const btCpu = cpuOf(bt.pid) - cpu0
    const ltCpu = cpuOf(lt.pid) - lt0
    lt.stop()
    if (lt.stats().progress !== 1) return console.log(`upload ${name}: timed out`)
    const md5 = await md5File(join(out, 'payload.bin'))
    const gib = size / 2 ** 30
    console.log(`upload ${name}: ${wall.toFixed(2)} s, ${(size / MiB / wall).toFixed(1)} MiB/s, bt seed CPU ${btCpu.toFixed(2)} s (${(btCpu / gib).toFixed(2)} s/GiB), libtorrent leecher CPU ${ltCpu.toFixed(2)} s, md5 ${md5 === srcMd5 ? 'ok' : 'WRONG'}`)
    return { name, wall, btCpu, ltCpu }
  } finally {
    bt.kill('SIGKILL')
    rmSync(out, { recursive: true, force: true })
  }
}

if (flags.upload) {
  console.log('')
  const up = []
  for (const [name, transport, env] of [['bt utp', 'utp', { BT_UTP_BINDING: 'own' }], ['bt utp-native', 'utp', { BT_UTP_BINDING: 'utp-native' }], ['bt tcp', 'tcp', {}]]) {
    const r = await upload(name, transport, env)
    if (r) up.push(r)
  }
  const u = (n) => up.find((r) => r.name === n)
  const [uu, un, ut] = [u('bt utp'), u('bt utp-native'), u('bt tcp')]
  if (uu && ut) console.log(`upload bt utp / bt tcp: speed ${(ut.wall / uu.wall).toFixed(2)}, bt CPU ${(uu.btCpu / ut.btCpu).toFixed(2)}`)
  if (un && ut) console.log(`upload bt utp-native / bt tcp: speed ${(ut.wall / un.wall).toFixed(2)}, bt CPU ${(un.btCpu / ut.btCpu).toFixed(2)}`)
}
const by = (n) => results.find((r) => r.name === n)
const [lt, bu, bn, bt] = [by('libtorrent utp'), by('bt utp'), by('bt utp-native'), by('bt tcp')]
console.log('')
if (bu && lt) console.log(`bt utp / libtorrent utp: speed ${(bu.mibs / lt.mibs).toFixed(2)} (>1: bt faster), CPU ${(bu.cpu / lt.cpu).toFixed(2)}`)
if (bu && bt) console.log(`bt utp / bt tcp: speed ${(bu.mibs / bt.mibs).toFixed(2)}, CPU ${(bu.cpu / bt.cpu).toFixed(2)} (target <= 1.5)`)
if (bn && bt) console.log(`bt utp-native / bt tcp: speed ${(bn.mibs / bt.mibs).toFixed(2)}, CPU ${(bn.cpu / bt.cpu).toFixed(2)}`)
if (bu && bn) console.log(`bt utp / bt utp-native: speed ${(bu.mibs / bn.mibs).toFixed(2)}, CPU ${(bu.cpu / bn.cpu).toFixed(2)}`)
process.exitCode = results.length === selected.length ? 0 : 1
