#!/usr/bin/env node
// Trackerless magnet benchmark: a local DHT of --nodes bt DhtNodes (one child process), a python3-libtorrent seeder
// bootstrapped into it, then bt and a libtorrent leecher in turn get only `magnet:?xt=urn:btih:HEX` and that DHT's
// bootstrap node. Prints time to metadata, time to done, wall, CPU, peak RSS, md5, and the ratios bt/libtorrent.
//
//   npm run build && node bench/magnet.js [--size 1G] [--nodes 20] [--clients bt,libtorrent] [--runs 1]
//        [--timeout 600] [--dir /tmp] [--no-netns] [--keep]
//
// Times are counted from the moment the client process is spawned (its startup included): "metadata" is bt's
// `metadata` JSON event or libtorrent's metadata_received_alert (lt_node.py's `metadata` line), "done" is bt's `done`
// event or lt_node.py's `finished` line (all pieces verified and flushed to disk); wall, CPU (user+sys) and peak RSS
// are the whole process's, from GNU time. Leechers run one after another from fresh directories and a fresh bt state
// directory (no saved routing table); each one announces itself to the DHT, so a later leecher may also be told about
// an earlier one that has since exited (a refused connection on loopback, which costs nothing measurable).
//
// Network: the whole run happens in a throwaway network namespace with only `lo` (the script re-executes itself
// there with nsenter; needs root), so no packet can leave the machine whatever a client does. --no-netns (or not
// root) runs on the host's 127.0.0.1: every DHT node, the seeder and both leechers are told only about the local
// bootstrap node and libtorrent listens on 127.0.0.1 only.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  BT, LT_PYTHON, LT_SCRIPT, MiB, ROOT, ensureBuilt, makePayload, fmtSize, have, killAll, md5File, parseArgs, parseSize,
  readTimeFile, reexecInNetns as runInNetns, startLtPeer, writeRandomFile,
  printHelpAndExit,
} from './lib.js'

const ALL = ['bt', 'libtorrent']
const children = new Set() // processes started here (lib.js tracks those it starts)
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL') } catch {} } })
const { flags } = parseArgs(process.argv.slice(2), ['no-netns', 'keep', 'help', 'dht-child'])
if (flags.help) printHelpAndExit(import.meta.url)

if (flags['dht-child']) {
  await dhtChild(Number(flags.nodes ?? 20))
} else {
  const size = parseSize(flags.size ?? '1G')
  const nodes = Number(flags.nodes ?? 20)
  const runs = Math.max(1, Number(flags.runs ?? 1))
  const clients = String(flags.clients ?? ALL.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
  for (const c of clients) if (!ALL.includes(c)) { console.error(`unknown client ${c} (known: ${ALL.join(', ')})`); process.exit(2) }
  const timeoutMs = Number(flags.timeout ?? 600) * 1000
  if (!process.env.BT_BENCH_NETNS && !flags['no-netns']) {
    const code = await reexecInNetns()
    if (code !== undefined) process.exit(code)
  }
  await main({ size, nodes, runs, clients, timeoutMs })
}

/**
 * The DHT: node 0 alone, the others bootstrapped from it. One JSON line on stdout when every node finished its first
 * table walk (`ready`, with the bootstrap address), then one per new (info hash, port) announced to any node. Ends
 * when stdin closes.
 */
async function dhtChild(n) {
  const { DhtNode } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'discovery', 'dht.js')).href)
  const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
  process.stdout.on('error', () => process.exit(0)) // the bench is gone
  const all = [new DhtNode({ host: '127.0.0.1', port: 0, bootstrap: false })]
  const port0 = await all[0].listen()
  const bootstrap = `127.0.0.1:${port0}`
  for (let i = 1; i < n; i++) all.push(new DhtNode({ host: '127.0.0.1', port: 0, bootstrap: [bootstrap] }))
  const started = Date.now()
  await Promise.all(all.slice(1).map(async (d) => {
    await d.listen()
    await Promise.race([d.ready(), new Promise((_, rej) => setTimeout(() => rej(new Error('a DHT node did not bootstrap in 20 s')), 20_000).unref())])
  }))
  const seen = new Set()
  for (const d of all) {
    d.on('warning', () => {})
    d.dht.on('announce', (peer, infoHash) => {
      const key = `${infoHash.toString('hex')} ${peer.port}`
      if (seen.has(key)) return
      seen.add(key)
      say({ ev: 'announce', infoHash: infoHash.toString('hex'), port: peer.port })
    })
  }
  const known = all.map((d) => d.nodeCount)
  say({ ev: 'ready', bootstrap, nodes: n, ms: Date.now() - started, minKnown: Math.min(...known), maxKnown: Math.max(...known) })
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await Promise.allSettled(all.map((d) => d.destroy()))
    process.exit(0)
  })
}

/** Makes the namespace, runs this script inside it, removes the namespace; undefined when there is none to be had. */
async function reexecInNetns() {
  const r = await runInNetns('btmagnet', import.meta.url)
  if (r.unavailable) console.error(`${r.unavailable}: running on the host's 127.0.0.1`)
  return r.code
}

/**
 * Runs cmd under GNU time, handing each stdout line to onLine(line, msSinceSpawn) as it arrives. Resolves with
 * { code, wall, user, sys, cpu, rssKiB, output, timedOut }.
 */
function timedLines(cmd, args, { timeoutMs, env, onLine, keepStdinOpen }) {
  const tf = join(tmpdir(), `bt-magnet-time-${process.pid}-${Date.now()}.txt`)
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn('/usr/bin/time', ['-o', tf, '-f', '%e %U %S %M', cmd, ...args], {
      env: { ...process.env, ...env }, stdio: [keepStdinOpen ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    child.stdin?.on('error', () => {})
    let output = ''
    const keep = (d) => { output = (output + d).slice(-20_000) }
    child.stderr.on('data', keep)
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line + '\n')
      onLine(line, performance.now() - t0)
    })
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('error', (e) => { clearTimeout(timer); reject(e) })
    child.on('close', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code: code ?? -1, ...readTimeFile(tf), output, timedOut })
    })
  })
}

function startDht(n) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--dht-child', '--nodes', String(n)], { stdio: ['pipe', 'pipe', 'inherit'] })
  children.add(child)
  const announced = [] // { infoHash, port }
  const waiters = new Set()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the DHT child did not get ready in 60 s')), 60_000)
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`the DHT child exited (${code})`)) })
    createInterface({ input: child.stdout }).on('line', (line) => {
      let e
      try { e = JSON.parse(line) } catch { return }
      if (e.ev === 'announce') {
        announced.push(e)
        for (const w of waiters) w()
      } else if (e.ev === 'ready') {
        clearTimeout(timer)
        resolve({
          ...e,
          /** Resolves once `port` was announced for `infoHash` to some node. */
          announcedBy(infoHash, port, ms) {
            return new Promise((res, rej) => {
              const check = () => {
                if (!announced.some((a) => a.infoHash === infoHash && a.port === port)) return
                waiters.delete(check)
                clearTimeout(t)
                res()
              }
              const t = setTimeout(() => { waiters.delete(check); rej(new Error(`port ${port} not announced to the DHT in ${ms / 1000} s`)) }, ms)
              waiters.add(check)
              check()
            })
          },
          stop() { child.stdin.end(); setTimeout(() => child.kill('SIGKILL'), 2000).unref() },
        })
      }
    })
  })
}

function versionOf(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return r.status === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined
}

async function main({ size, nodes, runs, clients, timeoutMs }) {
  ensureBuilt()
  for (const need of ['mktorrent', '/usr/bin/time']) {
    if (!have(need)) throw new Error(`${need} is missing (Debian packages: mktorrent, time)`)
  }
  const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-magnet-'))
  process.on('exit', () => { killAll(); if (!flags.keep) rmSync(work, { recursive: true, force: true }) })

  console.log(`payload ${fmtSize(size)}, 1 MiB pieces, ${nodes}-node local DHT, libtorrent ${versionOf(LT_PYTHON, ['-c', 'import libtorrent as lt; print(lt.__version__)'])} seeder, ` +
    `${process.env.BT_BENCH_NETNS ? `netns ${process.env.BT_BENCH_NETNS} (lo only)` : "host's 127.0.0.1"}, work dir ${work}`)
  const { seedDir, file, srcMd5 } = await makePayload(work, size)
  let t = Date.now()
  // No announce URL: the DHT is the only way to find the seeder.
  const torrent = join(work, 'payload.torrent')
  const mk = spawnSync('mktorrent', ['-l', '20', '-o', torrent, file], { encoding: 'utf8' })
  if (mk.status !== 0) throw new Error(`mktorrent: ${mk.stderr}`)
  const ih = spawnSync(LT_PYTHON, ['-c', 'import sys, libtorrent as lt; print(lt.torrent_info(sys.argv[1]).info_hash())', torrent], { encoding: 'utf8' })
  if (ih.status !== 0) throw new Error(`reading the info hash: ${ih.stderr}`)
  const infoHash = ih.stdout.trim()
  const magnet = `magnet:?xt=urn:btih:${infoHash}`

  t = Date.now()
  const dht = await startDht(nodes)
  console.log(`DHT: ${nodes} nodes bootstrapped from ${dht.bootstrap} in ${(dht.ms / 1000).toFixed(1)} s (each knows ${dht.minKnown}–${dht.maxKnown} nodes)`)
  t = Date.now()
  const seeder = await startLtPeer({ torrent, save: seedDir, seed: true, dht_bootstrap: [dht.bootstrap], interval: 1 })
  const checked = Date.now() - t
  await dht.announcedBy(infoHash, seeder.port, 120_000)
  console.log(`seeder on 127.0.0.1:${seeder.port}: checked in ${(checked / 1000).toFixed(1)} s, announced to the DHT ${((Date.now() - t - checked) / 1000).toFixed(1)} s later`)
  console.log(`magnet: ${magnet}\n`)

  const commands = {
    bt: (out, home) => ({
      cmd: process.execPath,
      args: [BT, 'download', magnet, '-o', out, '--dht-bootstrap', dht.bootstrap, '--json', '--metadata-timeout', String(Math.ceil(timeoutMs / 1000))],
      // A fresh state directory: no routing table saved by an earlier run, no resume state.
      env: { XDG_DATA_HOME: home, XDG_CONFIG_HOME: home, BT_DHT_BOOTSTRAP: dht.bootstrap },
      parse: (line) => {
        try {
          const e = JSON.parse(line)
          return e.event === 'metadata' ? 'metadata' : e.event === 'done' ? 'done' : undefined
        } catch { return undefined }
      },
    }),
    libtorrent: (out) => ({
      cmd: LT_PYTHON,
      args: [LT_SCRIPT, JSON.stringify({ magnet, save: out, dht_bootstrap: [dht.bootstrap], exit_on_finish: true, interval: 5 })],
      env: {},
      keepStdinOpen: true, // lt_node.py ends when its stdin closes
      parse: (line) => {
        try {
          const e = JSON.parse(line)
          return e.ev === 'metadata' ? 'metadata' : e.ev === 'finished' ? 'done' : undefined
        } catch { return undefined }
      },
    }),
  }

  const results = []
  for (let run = 1; run <= runs; run++) {
    for (const c of clients) {
      const label = runs > 1 ? `${c} #${run}` : c
      const out = join(work, `out-${c}-${run}`)
      const home = join(work, `home-${c}-${run}`)
      mkdirSync(out)
      mkdirSync(home)
      const spec = commands[c](out, home)
      const marks = {}
      const r = await timedLines(spec.cmd, spec.args, {
        timeoutMs, env: spec.env, keepStdinOpen: spec.keepStdinOpen,
        onLine: (line, ms) => {
          const what = spec.parse(line)
          if (what && marks[what] === undefined) marks[what] = ms / 1000
        },
      })
      const got = join(out, 'payload.bin')
      let md5 = 'missing'
      try { md5 = statSync(got).size === size ? await md5File(got) : `short (${statSync(got).size} bytes)` } catch {}
      rmSync(out, { recursive: true, force: true })
      const ok = r.code === 0 && md5 === srcMd5 && marks.metadata !== undefined && marks.done !== undefined
      if (!ok) {
        const why = r.timedOut ? `timed out after ${timeoutMs / 1000} s` : r.code !== 0 ? `exit code ${r.code}` : md5 !== srcMd5 ? `md5 ${md5}` : `no ${marks.metadata === undefined ? 'metadata' : 'done'} event`
        console.log(`${label}: failed (${why}): ${r.output.trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`)
        continue
      }
      const res = { client: c, label, ...r, metadata: marks.metadata, done: marks.done, mibs: size / MiB / (marks.done - marks.metadata) }
      results.push(res)
      console.log(`${label}: metadata ${res.metadata.toFixed(2)} s, done ${res.done.toFixed(2)} s, wall ${r.wall.toFixed(2)} s, ` +
        `${res.mibs.toFixed(0)} MiB/s after metadata, CPU ${r.cpu.toFixed(2)} s, RSS ${(r.rssKiB / 1024).toFixed(0)} MiB, md5 ok`)
    }
  }
  seeder.stop()
  dht.stop()

  console.log('\nclient          metadata s   done s   wall s   MiB/s*   CPU s (user+sys)    peak RSS MiB   md5')
  for (const r of results) {
    console.log(`${r.label.padEnd(14)} ${r.metadata.toFixed(2).padStart(10)} ${r.done.toFixed(2).padStart(8)} ${r.wall.toFixed(2).padStart(8)} ${r.mibs.toFixed(0).padStart(8)}   ` +
      `${r.cpu.toFixed(2).padStart(6)} (${r.user.toFixed(2)}+${r.sys.toFixed(2)})`.padEnd(23) + `${(r.rssKiB / 1024).toFixed(0).padStart(10)}        ok`)
  }
  console.log('* payload / (done - metadata): the transfer rate once the metadata is known')
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
  const agg = (c) => {
    const rs = results.filter((r) => r.client === c)
    if (rs.length === 0) return undefined
    const m = (k) => median(rs.map((r) => r[k]))
    return { metadata: m('metadata'), done: m('done'), wall: m('wall'), cpu: m('cpu'), rssKiB: m('rssKiB') }
  }
  const b = agg('bt')
  const l = agg('libtorrent')
  if (b && l) {
    console.log(`\nbt / libtorrent${runs > 1 ? ' (medians)' : ''}: <1 means bt is faster, cheaper or smaller`)
    console.log(`  time to metadata ${(b.metadata / l.metadata).toFixed(2)}   time to done ${(b.done / l.done).toFixed(2)}   wall ${(b.wall / l.wall).toFixed(2)}   ` +
      `CPU ${(b.cpu / l.cpu).toFixed(2)}   peak RSS ${(b.rssKiB / l.rssKiB).toFixed(2)}`)
  } else {
    console.log('\nno ratios: bt and libtorrent did not both finish')
  }
  process.exitCode = results.length === clients.length * runs ? 0 : 1
}
