#!/usr/bin/env node
// Trackerless after a restart (issue 17): one bare magnet fetched three times, by bt and by a fresh python3-libtorrent
// leecher, against a local DHT of --nodes bt DhtNodes (one child process):
//   fresh     a fresh bt state directory, bootstrap from $BT_DHT_BOOTSTRAP;
//   restarted the DHT restarted on the same ports with new node ids; bt starts from the table it saved in "fresh";
//   moved     the DHT on other ports, its bootstrap node given with --dht-bootstrap; bt's saved table is all dead.
// A libtorrent seeder without DHT serves the data; a DHT node in the child announces it into each new DHT.
// Prints, per case and client: time to metadata and to done counted from the torrent being added (the client is up:
// what the DHT changes), the whole process's wall and CPU time (GNU time), the ratios bt/libtorrent, and whether bt's
// done time met issue 17's bound (2 × libtorrent's + 1 s).
//
//   npm run build && node bench/dht-restart.js [--size 64M] [--nodes 20] [--runs 1] [--timeout 120] [--no-netns] [--keep]
//                                              [--lt-dht]   (a DHT of --nodes 8 python3-libtorrent nodes, as in the issue)
//
// Network: as bench/magnet.js, a throwaway network namespace with only `lo` when root; else the host's 127.0.0.1,
// every node told only about the local bootstrap node.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  BT, LT_PYTHON, LT_SCRIPT, ROOT, ensureBuilt, have, killAll, makePayload, fmtSize, md5File, parseArgs, parseSize,
  readTimeFile, reexecInNetns, startLtPeer,
  printHelpAndExit,
} from './lib.js'

const children = new Set()
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL') } catch {} } })
const { flags } = parseArgs(process.argv.slice(2), ['no-netns', 'keep', 'help', 'dht-child', 'lt-dht'])
if (flags.help) printHelpAndExit(import.meta.url)

if (flags['dht-child']) {
  await dhtChild(Number(flags.nodes ?? 20), flags.ports ? String(flags.ports).split(',').map(Number) : [], String(flags.announce))
} else {
  if (!process.env.BT_BENCH_NETNS && !flags['no-netns']) {
    const r = await reexecInNetns('btdhtrestart', import.meta.url)
    if (r.unavailable) console.error(`${r.unavailable}: running on the host's 127.0.0.1`)
    if (r.code !== undefined) process.exit(r.code)
  }
  await main({
    size: parseSize(flags.size ?? '64M'),
    nodes: Number(flags.nodes ?? (flags['lt-dht'] ? 8 : 20)),
    runs: Math.max(1, Number(flags.runs ?? 1)),
    timeoutMs: Number(flags.timeout ?? 120) * 1000,
  })
}

/** n DhtNodes (on `ports` if given), then one more that announces HEX:PORT; JSON lines `ready` and `announced`. */
async function dhtChild(n, ports, announce) {
  const { DhtNode } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'discovery', 'dht.js')).href)
  const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
  process.stdout.on('error', () => process.exit(0))
  const all = []
  let bootstrap
  let lt
  if (flags['lt-dht']) {
    // The DHT of issue 17's report: python3-libtorrent nodes (bench/lt-dht.py), killed when we end.
    lt = spawn(LT_PYTHON, [join(ROOT, 'bench', 'lt-dht.py'), String(n), ports.join(',')], { stdio: ['pipe', 'pipe', 'inherit'] })
    const info = await new Promise((resolve, reject) => {
      lt.on('close', (code) => reject(new Error(`lt-dht.py exited (${code})`)))
      createInterface({ input: lt.stdout }).once('line', (line) => resolve(JSON.parse(line)))
    })
    bootstrap = info.bootstrap
    say({ ev: 'ready', bootstrap, ports: info.ports })
  } else {
    all.push(new DhtNode({ host: '127.0.0.1', port: ports[0] ?? 0, bootstrap: false }))
    bootstrap = `127.0.0.1:${await all[0].listen()}`
    for (let i = 1; i < n; i++) all.push(new DhtNode({ host: '127.0.0.1', port: ports[i] ?? 0, bootstrap: [bootstrap] }))
    await Promise.all(all.slice(1).map(async (d) => { await d.listen(); await d.ready() }))
    for (const d of all) d.on('warning', () => {})
    say({ ev: 'ready', bootstrap, ports: all.map((d) => d.port) })
  }
  const [hex, port] = announce.split(':')
  const a = new DhtNode({ host: '127.0.0.1', bootstrap: [bootstrap] })
  all.push(a)
  await a.listen()
  a.once('announced', (_h, reached) => say({ ev: 'announced', reached }))
  a.announce(Buffer.from(hex, 'hex'), Number(port))
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await Promise.allSettled(all.map((d) => d.destroy()))
    lt?.kill('SIGKILL')
    process.exit(0)
  })
}

function startDht(nodes, ports, announce) {
  const args = [fileURLToPath(import.meta.url), '--dht-child', '--nodes', String(nodes), '--announce', announce, ...(flags['lt-dht'] ? ['--lt-dht'] : [])]
  if (ports) args.push('--ports', ports.join(','))
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  children.add(child)
  let ready
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the DHT child did not get ready in 60 s')), 60_000)
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`the DHT child exited (${code})`)) })
    createInterface({ input: child.stdout }).on('line', (line) => {
      let e
      try { e = JSON.parse(line) } catch { return }
      if (e.ev === 'ready') ready = e
      if (e.ev === 'announced') {
        clearTimeout(timer)
        resolve({
          ...ready, reached: e.reached,
          stop: () => new Promise((res) => { child.removeAllListeners('close'); child.on('close', () => { children.delete(child); res() }); child.stdin.end(); setTimeout(() => child.kill('SIGKILL'), 3000).unref() }),
        })
      }
    })
  })
}

/**
 * Runs a client under GNU time, timing its events from spawn: { code, added, metadata, done, wall, cpu, output }
 * (event times in ms, cpu in s: user + system of the whole process).
 */
function run(cmd, args, { env, keepStdinOpen, parse, timeoutMs, work }) {
  return new Promise((resolve, reject) => {
    const tf = join(work, `time-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`)
    const t0 = performance.now()
    const child = spawn('/usr/bin/time', ['-o', tf, '-f', '%e %U %S %M', cmd, ...args],
      { env: { ...process.env, ...env }, stdio: [keepStdinOpen ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true })
    const kill = () => { try { process.kill(-child.pid, 'SIGKILL') } catch {} }
    const entry = { kill }
    children.add(entry)
    child.stdin?.on('error', () => {})
    const marks = {}
    let output = ''
    child.stderr.on('data', (d) => { output = (output + d).slice(-4000) })
    createInterface({ input: child.stdout }).on('line', (line) => {
      output = (output + line + '\n').slice(-4000)
      const what = parse(line)
      if (what && marks[what] === undefined) marks[what] = performance.now() - t0
      if (what === 'done' && keepStdinOpen) child.stdin.end() // lt_node.py ends when its stdin closes
    })
    const timer = setTimeout(kill, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      children.delete(entry)
      resolve({ code, ...marks, wall: performance.now() - t0, cpu: readTimeFile(tf).cpu, output })
    })
  })
}

async function main({ size, nodes, runs, timeoutMs }) {
  ensureBuilt()
  if (!have('mktorrent')) throw new Error('mktorrent is missing (Debian package mktorrent)')
  const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-dht-restart-'))
  process.on('exit', () => { killAll(); if (!flags.keep) rmSync(work, { recursive: true, force: true }) })
  const ltVersion = spawnSync(LT_PYTHON, ['-c', 'import libtorrent as lt; print(lt.__version__)'], { encoding: 'utf8' }).stdout.trim()
  console.log(`payload ${fmtSize(size)}, ${nodes}-node local DHT of ${flags['lt-dht'] ? 'python3-libtorrent' : 'bt'} nodes, libtorrent ${ltVersion}, ` +
    `${process.env.BT_BENCH_NETNS ? `netns ${process.env.BT_BENCH_NETNS} (lo only)` : "host's 127.0.0.1"}`)
  const { seedDir, file, srcMd5 } = await makePayload(work, size)
  const torrent = join(work, 'payload.torrent')
  const mk = spawnSync('mktorrent', ['-l', '20', '-o', torrent, file], { encoding: 'utf8' })
  if (mk.status !== 0) throw new Error(`mktorrent: ${mk.stderr}`)
  const infoHash = spawnSync(LT_PYTHON, ['-c', 'import sys, libtorrent as lt; print(lt.torrent_info(sys.argv[1]).info_hash())', torrent], { encoding: 'utf8' }).stdout.trim()
  const magnet = `magnet:?xt=urn:btih:${infoHash}`
  // The seeder has no DHT: the child's announcer puts its address into each new DHT, as its own next round would.
  const seeder = await startLtPeer({ torrent, save: seedDir, seed: true, interval: 5 })
  const announce = `${infoHash}:${seeder.port}`

  const clients = {
    libtorrent: (out, bootstrap) => ({
      cmd: LT_PYTHON,
      args: [LT_SCRIPT, JSON.stringify({ magnet, save: out, dht_bootstrap: [bootstrap], interval: 5 })],
      env: {},
      keepStdinOpen: true,
      parse: (line) => {
        try {
          const e = JSON.parse(line)
          return e.ev === 'added' ? 'added' : e.ev === 'metadata' ? 'metadata' : e.ev === 'finished' ? 'done' : undefined
        } catch { return undefined }
      },
    }),
    bt: (out, bootstrap, home, explicit) => ({
      cmd: process.execPath,
      args: [BT, 'download', magnet, '-o', out, '--port', '0', '--json', '--metadata-timeout', String(Math.ceil(timeoutMs / 1000)),
        ...(explicit ? ['--dht-bootstrap', bootstrap] : [])],
      env: { XDG_DATA_HOME: home, XDG_CONFIG_HOME: home, BT_DHT_BOOTSTRAP: explicit ? 'none' : bootstrap },
      parse: (line) => {
        try {
          const e = JSON.parse(line)
          return ['added', 'metadata', 'done'].includes(e.event) ? e.event : undefined
        } catch { return undefined }
      },
    }),
  }

  const rows = []
  for (let r = 1; r <= runs; r++) {
    const home = join(work, `home-${r}`) // bt's state directory, kept across the three cases of a run
    mkdirSync(home)
    let dht
    let firstPorts
    for (const kase of ['fresh', 'restarted', 'moved']) {
      await dht?.stop()
      dht = await startDht(nodes, kase === 'restarted' ? firstPorts : undefined, announce)
      if (kase === 'fresh') firstPorts = dht.ports
      console.log(`\n${kase}${runs > 1 ? ` #${r}` : ''}: DHT on ${dht.bootstrap} (${kase === 'restarted' ? 'same ports, new ids' : kase === 'moved' ? 'new ports' : 'new'}), seeder announced to ${dht.reached} nodes`)
      // libtorrent first: its first announce waits for its bootstrap walk, which waits out dead nodes (an exited
      // leecher's DHT node would be one); bt meets libtorrent's exited node instead.
      for (const name of ['libtorrent', 'bt']) {
        const out = join(work, `out-${name}-${kase}-${r}`)
        mkdirSync(out)
        const spec = clients[name](out, dht.bootstrap, home, kase === 'moved')
        const res = await run(spec.cmd, spec.args, { ...spec, timeoutMs, work })
        let md5 = 'missing'
        try { md5 = statSync(join(out, 'payload.bin')).size === size ? await md5File(join(out, 'payload.bin')) : 'short' } catch {}
        rmSync(out, { recursive: true, force: true })
        const ok = res.code === 0 && md5 === srcMd5 && res.done !== undefined && res.added !== undefined
        if (!ok) {
          console.log(`  ${name}: failed (exit ${res.code}, md5 ${md5}): ${res.output.trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`)
          continue
        }
        const row = { kase, name, metadata: (res.metadata - res.added) / 1000, done: (res.done - res.added) / 1000, wall: res.wall / 1000, cpu: res.cpu }
        rows.push(row)
        console.log(`  ${name.padEnd(10)} metadata ${row.metadata.toFixed(2)} s, done ${row.done.toFixed(2)} s after the torrent was added; wall ${row.wall.toFixed(2)} s, CPU ${row.cpu.toFixed(2)} s, md5 ok`)
      }
    }
    await dht?.stop()
  }
  seeder.stop()

  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
  console.log('\ncase        client      metadata s   done s   wall s    CPU s   (medians; metadata/done counted from the torrent added)')
  const ratios = []
  for (const kase of ['fresh', 'restarted', 'moved']) {
    const agg = {}
    for (const name of ['libtorrent', 'bt']) {
      const rs = rows.filter((x) => x.kase === kase && x.name === name)
      if (!rs.length) continue
      agg[name] = { metadata: median(rs.map((x) => x.metadata)), done: median(rs.map((x) => x.done)), wall: median(rs.map((x) => x.wall)), cpu: median(rs.map((x) => x.cpu)) }
      const a = agg[name]
      console.log(`${kase.padEnd(11)} ${name.padEnd(10)} ${a.metadata.toFixed(2).padStart(10)} ${a.done.toFixed(2).padStart(8)} ${a.wall.toFixed(2).padStart(8)} ${a.cpu.toFixed(2).padStart(7)}`)
    }
    if (agg.bt && agg.libtorrent) ratios.push(`${kase}: metadata ${(agg.bt.metadata / agg.libtorrent.metadata).toFixed(2)}, done ${(agg.bt.done / agg.libtorrent.done).toFixed(2)}, wall ${(agg.bt.wall / agg.libtorrent.wall).toFixed(2)}, CPU ${(agg.bt.cpu / agg.libtorrent.cpu).toFixed(2)}; ` +
      `bound 2 × libtorrent + 1 s on done: ${agg.bt.done <= 2 * agg.libtorrent.done + 1 ? 'met' : 'missed'}`)
  }
  console.log(`\nbt / libtorrent (<1: bt faster):\n  ${ratios.join('\n  ')}`)
  process.exitCode = rows.length === 6 * runs ? 0 : 1
}
