#!/usr/bin/env node
// Upload benchmark: transmission-cli leeches the same payload from a bt seeder and from a python3-libtorrent seeder
// (each dials transmission, which drops 127.x peers it learns elsewhere); prints transmission's MiB/s from each and
// bt/libtorrent. Transmission refills its requests about once a second, so the seeder's advertised request queue
// (BEP 10 `reqq`) caps it: at reqq 500 and 16 KiB blocks that is at most ~8 MB/s.
//
//   npm run build && node bench/upload.js [--size 256M] [--seeders bt,libtorrent] [--bt PATH/TO/bin/bt.js]
//        [--timeout 300] [--dir /tmp] [--keep]
//
// --bt runs another build of bt (e.g. an older checkout's bin/bt.js) to compare before and after a change.
// Beside the rate it prints each seeder's CPU seconds per GiB sent (user+sys from /proc, from its start to
// transmission's end, so its check of the data is in it for both seeders) and transmission's own CPU.
// Everything runs on the host's 127.0.0.1: transmission, bt and libtorrent all have DHT, LPD, UPnP and PEX off.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BT, MiB, ensureBuilt, fmtSize, freePort, have, killAll, makePayload, md5File, parseArgs, parseSize, startLtPeer, printHelpAndExit } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help'])
if (flags.help) printHelpAndExit(import.meta.url)
const size = parseSize(flags.size ?? '256M')
const seeders = String(flags.seeders ?? 'bt,libtorrent').split(',').filter(Boolean)
const btBin = flags.bt ?? BT
const timeoutMs = Number(flags.timeout ?? 300) * 1000
if (!flags.bt) ensureBuilt()
for (const cmd of ['transmission-cli', 'stdbuf']) if (!have(cmd)) { console.error(`${cmd} is missing`); process.exit(2) }

const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-upload-'))
process.on('exit', () => { if (!flags.keep) rmSync(work, { recursive: true, force: true }) })

const TICKS = 100 // USER_HZ: /proc/PID/stat counts CPU time in these
/** CPU seconds (user+sys) a live process has used so far, from /proc/PID/stat; NaN once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / TICKS // utime, stime (fields 14 and 15)
  } catch {
    return NaN
  }
}

/** transmission-cli as a leecher on 127.0.0.1:port; resolves with seconds from start to "Seeding". */
function runTransmission(torrent, dir, port) {
  const config = join(work, `tr-config-${port}`)
  mkdirSync(config)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(config, 'settings.json'), JSON.stringify({
    'dht-enabled': false, 'lpd-enabled': false, 'pex-enabled': false, 'port-forwarding-enabled': false,
    'bind-address-ipv4': '127.0.0.1', 'peer-port': port, 'peer-port-random-on-start': false,
    'speed-limit-down-enabled': false, 'speed-limit-up-enabled': false, 'message-level': 1,
  }))
  const started = Date.now()
  let cpuAtDone = NaN
  const child = spawn('stdbuf', ['-o0', 'transmission-cli', '-g', config, '-w', dir, '-p', String(port), torrent], { stdio: ['ignore', 'pipe', 'pipe'] })
  let tail = ''
  let output = ''
  return {
    child,
    cpu: () => cpuAtDone,
    done: new Promise((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`transmission not done in ${timeoutMs / 1000} s:\n${output.slice(-1500)}`)) }, timeoutMs)
      const onData = (d) => {
        const s = d.toString()
        output = (output + s).slice(-20_000)
        tail = (tail + s).slice(-400)
        if (tail.includes('Seeding')) {
          clearTimeout(timer)
          cpuAtDone = cpuSeconds(child.pid) // stdbuf execs transmission-cli: same pid
          resolve((Date.now() - started) / 1000)
          child.kill('SIGTERM')
        }
      }
      child.stdout.on('data', onData)
      child.stderr.on('data', onData)
      child.on('close', () => { clearTimeout(timer); reject(new Error(`transmission exited:\n${output.slice(-1500)}`)) })
    }),
  }
}

async function main() {
  console.log(`payload ${fmtSize(size)}, 1 MiB pieces, transmission-cli leeching; bt = ${btBin}`)
  const { seedDir, file, srcMd5 } = await makePayload(work, size)
  const torrent = join(work, 'payload.torrent')
  const mk = spawn(process.execPath, [btBin, 'create', file, '-l', '1M', '-o', torrent, '-q', '--no-date'], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (await new Promise((r) => mk.on('close', r)) !== 0) throw new Error('bt create failed')
  const results = new Map()
  for (const who of seeders) {
    const port = await freePort()
    const out = join(work, `out-${who}`)
    const tr = runTransmission(torrent, out, port)
    let stop
    let pid
    if (who === 'bt') {
      const child = spawn(process.execPath, [btBin, 'seed', torrent, '-d', seedDir, '--port', '0', '--no-dht', '--peer', `127.0.0.1:${port}`, '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, XDG_DATA_HOME: join(work, `xdg-${who}`), BT_DHT_BOOTSTRAP: 'none' } })
      stop = () => child.kill('SIGKILL')
      pid = child.pid
    } else if (who === 'libtorrent') {
      const lt = await startLtPeer({ torrent, save: seedDir, seed: true, peers: [`127.0.0.1:${port}`], interval: 1 })
      stop = lt.stop
      pid = lt.pid
    } else throw new Error(`unknown seeder ${who}`)
    try {
      const secs = await tr.done
      const seederCpu = cpuSeconds(pid)
      const sum = await md5File(join(out, 'payload.bin'))
      results.set(who, size / MiB / secs)
      console.log(`${who.padEnd(10)} -> transmission: ${secs.toFixed(1)} s, ${(size / MiB / secs).toFixed(1)} MiB/s, md5 ${sum === srcMd5 ? 'ok' : 'MISMATCH'}; ` +
        `seeder CPU ${seederCpu.toFixed(2)} s (${(seederCpu / (size / 1024 / MiB)).toFixed(2)} s/GiB), transmission CPU ${tr.cpu().toFixed(2)} s`)
    } finally {
      stop()
      tr.child.kill('SIGKILL')
      rmSync(out, { recursive: true, force: true })
    }
  }
  if (results.has('bt') && results.has('libtorrent')) console.log(`bt/libtorrent (transmission's download rate): ${(results.get('bt') / results.get('libtorrent')).toFixed(2)}`)
}

main().then(() => { killAll(); process.exit(0) }, (err) => { console.error(err.message); killAll(); process.exit(1) })
