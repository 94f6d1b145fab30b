#!/usr/bin/env node
// FUSE benchmark: torrentfs against btfs (Debian's libtorrent FUSE file system), both reading one random payload
// (1 MiB pieces) from one python3-libtorrent seeder on 127.0.0.1 (high_performance_seed settings), in the same run.
//
//   npx tsc -p . && node bench/torrentfs.js [--size 1G] [--samples 3] [--clients torrentfs,btfs] [--readahead 64M]
//        [--timeout 600] [--dir /tmp] [--no-netns] [--keep]
//
// Measured for each, from a fresh download directory:
//   first 16 KiB  time from the file showing in a fresh mount to `dd bs=16k count=1` returning (peer connection
//                 included); median of --samples fresh mounts. Also from the mount command's start (process
//                 startup, mount, check of the empty download dir included)
//   random 1 MiB  in each of those mounts, right after: `dd bs=1M count=1` at a random 1 MiB-aligned offset in the
//                 second half of the file, which nothing has read yet (median)
//   cold MiB/s    a fresh mount: `cat mnt/big.bin | md5sum` (wall time of the pipeline; the md5 is checked)
//   warm MiB/s    the data complete on disk, a second mount: `cat mnt/big.bin | md5sum`
//   plain MiB/s   `cat FILE | md5sum` of the payload on the plain file system (the page cache holds it: the ceiling)
//   bt download   with torrentfs: `bt download` of the same torrent from the same seeder (wall time of the process),
//                 the yardstick of issue 14 (torrentfs cold ≥ 0.9× bt download)
// plus the CPU seconds and peak RSS of the file-system process over the cold read. Ratios: torrentfs/btfs and
// warm/plain. Nothing drops the page cache (other work shares this machine), so warm and plain read from memory.
//
// Network: btfs cannot switch off its DHT (it bootstraps from public routers), so the whole run happens in a fresh
// network namespace holding only `lo` (ip netns add …; this script re-executes itself there with nsenter, which needs
// root). A FUSE mount made inside the namespace is visible outside it: only the network is private. Without a
// namespace (--no-netns, or not root) btfs is skipped and torrentfs runs on the host's 127.0.0.1 with --no-dht.
//
// What it takes to make btfs read (found here, btfs 2.24 / libtorrent 2.0): btfs has no way to be given a peer, and
// with no tracker and no DHT it never finds one, so a read just hangs. The seeder therefore dials btfs: btfs listens
// on the one port of --min-port=P --max-port=P, and each fresh mount sends `add_peer 127.0.0.1:P` to the seeder
// (lt_node.py's stdin command). btfs deletes its data at unmount unless given --keep, and even with --keep a new mount
// makes a new btfs-XXXXXX directory under --data-directory, so its data is never reused: btfs's "warm" figure is a
// second `cat` in the same mount, once the first finished. torrentfs's warm figure is a new mount over the same
// download directory (its resume state says the data is complete).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { BT, BT_NODE_FLAGS, LT_PYTHON, LT_SCRIPT, MiB, ROOT, fmtSize, freePort, have, killAll, md5File, parseArgs, parseSize, reexecInNetns as runInNetns, writeRandomFile, printHelpAndExit } from './lib.js'

const TORRENTFS = join(ROOT, 'bin', 'torrentfs.js')
const ALL = ['torrentfs', 'btfs']
const { flags } = parseArgs(process.argv.slice(2), ['no-netns', 'keep', 'help'])
if (flags.help) printHelpAndExit(import.meta.url)
const size = parseSize(flags.size ?? '1G')
const pieceLength = MiB
const samples = Math.max(1, Number(flags.samples ?? 3))
const readahead = String(flags.readahead ?? '64M')
const timeoutMs = Number(flags.timeout ?? 600) * 1000
const clients = String(flags.clients ?? ALL.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
for (const c of clients) if (!ALL.includes(c)) { console.error(`unknown client ${c} (known: ${ALL.join(', ')})`); process.exit(2) }
if (size < 4 * pieceLength) { console.error('--size: at least 4M'); process.exit(2) }
const skipped = new Map()

const delay = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }

// Mounts still up and children still running, so a failure or ^C leaves nothing behind.
const mounts = new Set()
const children = new Set()
function cleanupAll() {
  for (const c of children) { try { process.kill(-c.pid, 'SIGKILL') } catch { try { c.kill('SIGKILL') } catch {} } }
  for (const m of mounts) spawnSync('fusermount', ['-uz', m], { stdio: 'ignore' })
  killAll()
}
process.on('exit', cleanupAll)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

if (!process.env.BT_BENCH_NETNS && !flags['no-netns']) {
  const code = await reexecInNetns()
  if (code !== undefined) process.exit(code)
}
if (!process.env.BT_BENCH_NETNS && clients.includes('btfs')) skipped.set('btfs', 'needs a network namespace (it cannot disable its DHT); run as root without --no-netns')
try {
  await main()
} catch (e) {
  console.error(`bench failed: ${e.stack ?? e}`)
  process.exitCode = 1
}
process.exit() // children's pipes would keep the loop alive

/** Runs this script inside a fresh namespace with only `lo`; undefined when none can be made (then run here). */
async function reexecInNetns() {
  const r = await runInNetns('btfsbench', import.meta.url, { forwardSignals: true })
  if (r.unavailable) console.error(`${r.unavailable}: running on the host's 127.0.0.1`)
  return r.code
}

/** Spawn in its own process group; collects (the tail of) its output. */
function startChild(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], detached: true })
  children.add(child)
  let output = ''
  const keep = (d) => { output = (output + d).slice(-20_000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) => child.on('close', (code, sig) => { children.delete(child); resolve(code ?? sig) }))
  return { child, exited, output: () => output }
}

/** Run a shell command line to completion (bash, pipefail); { code, out, ms }. Killed after timeoutMs. */
async function sh(line, ms = timeoutMs) {
  const t0 = process.hrtime.bigint()
  const c = startChild('bash', ['-c', `set -o pipefail; ${line}`])
  const timer = setTimeout(() => { try { process.kill(-c.child.pid, 'SIGKILL') } catch {} }, ms)
  const code = await c.exited
  clearTimeout(timer)
  return { code, out: c.output(), ms: Number(process.hrtime.bigint() - t0) / 1e6 }
}

async function waitFor(what, fn, ms = 30_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(20)
  }
}

function isMounted(dir) {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir)
}

/** CPU seconds (user+sys) and peak RSS (KiB) of a live process, from /proc. */
function procUsage(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(f[11]) + Number(f[12]) // utime, stime (fields 14, 15)
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return { cpu: ticks / 100, rssKiB: hwm ? Number(hwm[1]) : NaN }
  } catch {
    return { cpu: NaN, rssKiB: NaN }
  }
}

/** The python3-libtorrent seeder (test/helpers/lt_node.py), with its stdin kept for `add_peer` commands. */
function startSeeder(cfg) {
  const c = startChild(LT_PYTHON, [LT_SCRIPT, JSON.stringify(cfg)], { stdin: 'pipe' })
  c.child.stdin.on('error', () => {})
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`libtorrent seeder not ready in 10 min:\n${c.output()}`)), 600_000)
    c.exited.then((code) => { clearTimeout(timer); reject(new Error(`libtorrent seeder exited (${code}):\n${c.output()}`)) })
    let port = 0
    createInterface({ input: c.child.stdout }).on('line', (line) => {
      let e
      try { e = JSON.parse(line) } catch { return }
      if (e.ev === 'listening') port = e.port
      if (e.ev === 'ready') {
        clearTimeout(timer)
        resolve({ port, addPeer: (hp) => c.child.stdin.write(`add_peer ${hp}\n`), stop: () => { c.child.stdin.end(); c.child.kill('SIGKILL') } })
      }
    })
  })
}

/**
 * One FUSE client's way of mounting: mount(dataDir) resolves once the payload shows, with { file, pid, unmount }.
 */
function makeMounters(work, torrentPath, seeder) {
  const torrentsDir = join(work, 'torrents')
  mkdirSync(torrentsDir, { recursive: true })
  spawnSync('cp', [torrentPath, join(torrentsDir, 'big.torrent')])
  let n = 0
  const fresh = (tag) => {
    const mnt = join(work, `mnt-${tag}-${++n}`)
    mkdirSync(mnt)
    return mnt
  }
  return {
    torrentfs: async (dataDir) => {
      const mnt = fresh('torrentfs')
      const startedAt = performance.now()
      const c = startChild(process.execPath, [...BT_NODE_FLAGS, TORRENTFS, '-mountDir', mnt, '-metainfoDir', torrentsDir, '-downloadDir', dataDir,
        '--peer', `127.0.0.1:${seeder.port}`, '--no-dht', '--readahead', readahead], {
        env: { XDG_DATA_HOME: join(dataDir, '.xdg'), BT_DHT_BOOTSTRAP: 'none', NO_COLOR: '1' },
      })
      mounts.add(mnt)
      const file = join(mnt, 'big.bin')
      await waitFor('torrentfs to show big.bin', () => {
        if (c.child.exitCode !== null) throw new Error(`torrentfs exited: ${c.output()}`)
        return existsSync(file)
      }, 120_000)
      return {
        file,
        startedAt,
        pid: c.child.pid,
        unmount: async () => {
          c.child.kill('SIGTERM')
          const code = await Promise.race([c.exited, delay(15_000).then(() => 'timeout')])
          mounts.delete(mnt)
          if (code !== 0) { spawnSync('fusermount', ['-uz', mnt]); throw new Error(`torrentfs exit ${code} after SIGTERM: ${c.output()}`) }
        },
      }
    },
    btfs: async (dataDir) => {
      const mnt = fresh('btfs')
      const port = await freePort()
      const startedAt = performance.now()
      const c = startChild('btfs', ['-f', '--keep', `--data-directory=${dataDir}`, `--min-port=${port}`, `--max-port=${port}`, join(torrentsDir, 'big.torrent'), mnt])
      mounts.add(mnt)
      const file = join(mnt, 'big.bin')
      await waitFor('btfs to show big.bin', () => {
        if (c.child.exitCode !== null) throw new Error(`btfs exited: ${c.output()}`)
        return isMounted(mnt) && existsSync(file)
      }, 60_000)
      // btfs finds no peer on its own (no tracker, no DHT here): the seeder dials it.
      seeder.addPeer(`127.0.0.1:${port}`)
      return {
        file,
        startedAt,
        pid: c.child.pid,
        unmount: async () => {
          spawnSync('fusermount', ['-u', mnt])
          const code = await Promise.race([c.exited, delay(15_000).then(() => 'timeout')])
          if (code === 'timeout') { spawnSync('fusermount', ['-uz', mnt]); c.child.kill('SIGKILL') }
          mounts.delete(mnt)
        },
      }
    },
  }
}

async function catMd5(file) {
  const r = await sh(`cat '${file}' | md5sum`)
  if (r.code !== 0) throw new Error(`cat ${file} | md5sum: exit ${r.code}: ${r.out.trim()}`)
  return { md5: r.out.split(' ')[0], ms: r.ms }
}

async function ddTime(file, bs, offset) {
  const r = await sh(`dd if='${file}' bs=${bs} count=1 skip=${offset} iflag=skip_bytes status=none | wc -c`)
  if (r.code !== 0) throw new Error(`dd of ${file} at ${offset}: exit ${r.code}: ${r.out.trim()}`)
  if (Number(r.out.trim()) !== Math.min(bs, size - offset)) throw new Error(`dd of ${file} at ${offset}: got ${r.out.trim()} bytes`)
  return r.ms
}

/** Run each measurement of one client; returns its figures. */
async function measure(name, mount, work, srcMd5) {
  const res = { client: name, ttfb: [], fromStart: [], random: [] }
  // Fresh mounts: time to the first 16 KiB, then one 1 MiB read at an offset nothing has read.
  for (let i = 0; i < samples; i++) {
    const dataDir = join(work, `data-${name}-s${i}`)
    mkdirSync(dataDir)
    const m = await mount(dataDir)
    try {
      res.ttfb.push(await ddTime(m.file, 16 * 1024, 0))
      res.fromStart.push(performance.now() - m.startedAt)
      const pieces = Math.floor(size / pieceLength)
      const offset = (Math.floor(pieces / 2) + Math.floor(Math.random() * Math.floor(pieces / 2))) * pieceLength
      res.random.push(await ddTime(m.file, MiB, offset))
    } finally {
      await m.unmount()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  // Cold sequential read from a fresh directory, then warm.
  const dataDir = join(work, `data-${name}`)
  mkdirSync(dataDir)
  let m = await mount(dataDir)
  const cold = await catMd5(m.file)
  const usage = procUsage(m.pid)
  if (cold.md5 !== srcMd5) throw new Error(`${name}: cold read md5 ${cold.md5}, want ${srcMd5}`)
  Object.assign(res, { coldMs: cold.ms, cpu: usage.cpu, rssKiB: usage.rssKiB })
  if (name === 'btfs') {
    // btfs never reuses its data dir across mounts: warm is a second read in this mount.
    const warm = await catMd5(m.file)
    if (warm.md5 !== srcMd5) throw new Error(`${name}: warm read md5 ${warm.md5}`)
    res.warmMs = warm.ms
    res.warmHow = 'same mount'
    await m.unmount()
  } else {
    await m.unmount()
    m = await mount(dataDir)
    try {
      const warm = await catMd5(m.file)
      if (warm.md5 !== srcMd5) throw new Error(`${name}: warm read md5 ${warm.md5}`)
      res.warmMs = warm.ms
      res.warmHow = 'second mount'
    } finally {
      await m.unmount()
    }
    // The same bytes on the plain file system, from where torrentfs stored them.
    const onDisk = readdirSync(dataDir).includes('big.bin') ? join(dataDir, 'big.bin') : undefined
    if (onDisk) {
      const plain = await catMd5(onDisk)
      if (plain.md5 !== srcMd5) throw new Error(`${name}: the downloaded file's md5 is ${plain.md5}`)
      res.plainDownloadedMs = plain.ms
    }
  }
  rmSync(dataDir, { recursive: true, force: true })
  return res
}

async function main() {
  if (clients.includes('torrentfs') && !existsSync(join(ROOT, 'dist', 'cmd', 'torrentfs.js'))) skipped.set('torrentfs', 'dist/ is missing: run `npx tsc -p .` first')
  if (clients.includes('btfs') && !skipped.has('btfs') && !have('btfs')) skipped.set('btfs', 'btfs not installed (Debian package btfs)')
  for (const need of ['mktorrent', 'fusermount']) if (!have(need)) throw new Error(`${need} is missing (Debian packages: mktorrent, fuse)`)

  const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-fsbench-'))
  process.on('exit', () => { cleanupAll(); if (!flags.keep) rmSync(work, { recursive: true, force: true }) })
  const ltVersion = spawnSync(LT_PYTHON, ['-c', 'import libtorrent as lt; print(lt.__version__)'], { encoding: 'utf8' }).stdout.trim()
  console.log(`payload ${fmtSize(size)}, 1 MiB pieces, python3-libtorrent ${ltVersion} seeder (high_performance_seed), ` +
    `${process.env.BT_BENCH_NETNS ? `netns ${process.env.BT_BENCH_NETNS} (lo only)` : "host's 127.0.0.1"}, torrentfs --readahead ${readahead}, ${samples} samples, work dir ${work}`)
  const seedDir = join(work, 'seed')
  mkdirSync(seedDir)
  const src = join(seedDir, 'big.bin')
  let t = Date.now()
  writeRandomFile(src, size)
  const srcMd5 = await md5File(src)
  const torrentPath = join(work, 'big.torrent')
  const mk = spawnSync('mktorrent', ['-l', '20', '-o', torrentPath, src], { encoding: 'utf8' })
  if (mk.status !== 0) throw new Error(`mktorrent: ${mk.stderr}`)
  console.log(`payload written, hashed and made a torrent in ${((Date.now() - t) / 1000).toFixed(1)} s (md5 ${srcMd5})`)
  t = Date.now()
  const seeder = await startSeeder({ torrent: torrentPath, save: seedDir, seed: true, high_performance: true, interval: 5 })
  console.log(`seeder on 127.0.0.1:${seeder.port} (checked in ${((Date.now() - t) / 1000).toFixed(1)} s)`)

  const plain = await catMd5(src)
  if (plain.md5 !== srcMd5) throw new Error('plain read md5 mismatch')
  const mounters = makeMounters(work, torrentPath, seeder)
  const results = []
  for (const c of clients) {
    if (skipped.has(c)) { console.log(`${c}: skipped: ${skipped.get(c)}`); continue }
    try {
      const r = await measure(c, mounters[c], work, srcMd5)
      results.push(r)
      console.log(`${c}: cold ${mibs(r.coldMs)} MiB/s, warm ${mibs(r.warmMs)} MiB/s (${r.warmHow}), first 16 KiB ${r.ttfb.map(ms).join('/')} ms (${r.fromStart.map(ms).join('/')} ms from the mount command), ` +
        `random 1 MiB ${r.random.map(ms).join('/')} ms, CPU ${r.cpu.toFixed(1)} s, RSS ${(r.rssKiB / 1024).toFixed(0)} MiB`)
    } catch (e) {
      console.log(`${c}: failed: ${e.message.split('\n').slice(0, 4).join(' / ').slice(0, 600)}`)
      skipped.set(c, 'failed')
    }
  }
  // Issue 14's yardstick for the cold read: `bt download` of the same torrent from the same seeder, in this run.
  let download
  if (clients.includes('torrentfs') && !skipped.has('torrentfs')) {
    const out = join(work, 'data-download')
    mkdirSync(out)
    const t0 = performance.now()
    const c = startChild(process.execPath, [...BT_NODE_FLAGS, BT, 'download', torrentPath, '-o', out, '--quiet', '--peer', `127.0.0.1:${seeder.port}`, '--no-dht', '--no-utp', '--port', '0'],
      { env: { XDG_DATA_HOME: join(out, '.xdg'), BT_DHT_BOOTSTRAP: 'none' } })
    const code = await c.exited
    download = { ms: performance.now() - t0 }
    if (code !== 0) { console.log(`bt download: exit ${code}: ${c.output().slice(-300)}`); download = undefined }
    else console.log(`bt download: ${mibs(download.ms)} MiB/s (whole process, start-up included)`)
    rmSync(out, { recursive: true, force: true })
  }
  seeder.stop()
  // The plain figure again, after the runs, so both sides of warm/plain see the same page cache state.
  const plain2 = await catMd5(src)
  const plainMs = Math.min(plain.ms, plain2.ms)

  console.log(`\nclient       cold MiB/s  warm MiB/s  first 16 KiB ms  (from mount cmd)  random 1 MiB ms  CPU s (cold)  RSS MiB   md5`)
  for (const r of results) {
    console.log(`${r.client.padEnd(12)} ${mibs(r.coldMs).padStart(10)}  ${mibs(r.warmMs).padStart(10)}  ${ms(median(r.ttfb)).padStart(15)}  ${ms(median(r.fromStart)).padStart(16)}  ${ms(median(r.random)).padStart(15)}  ` +
      `${r.cpu.toFixed(1).padStart(12)}  ${(r.rssKiB / 1024).toFixed(0).padStart(7)}   ok`)
  }
  console.log(`${'plain cat'.padEnd(12)} ${''.padStart(10)}  ${mibs(plainMs).padStart(10)}   (cat FILE | md5sum of the payload on disk)`)
  const tfs = results.find((r) => r.client === 'torrentfs')
  if (tfs?.plainDownloadedMs) console.log(`${'plain cat'.padEnd(12)} ${''.padStart(10)}  ${mibs(tfs.plainDownloadedMs).padStart(10)}   (the file torrentfs downloaded)`)
  const bt = results.find((r) => r.client === 'btfs')
  if (tfs && bt) {
    console.log('\ntorrentfs / btfs:  cold speed %s (>1: torrentfs faster)  warm speed %s  first 16 KiB %s (<1: torrentfs quicker; from the mount command %s)  random 1 MiB %s (<1: torrentfs quicker)',
      (bt.coldMs / tfs.coldMs).toFixed(2), (bt.warmMs / tfs.warmMs).toFixed(2), (median(tfs.ttfb) / median(bt.ttfb)).toFixed(2), (median(tfs.fromStart) / median(bt.fromStart)).toFixed(2), (median(tfs.random) / median(bt.random)).toFixed(2))
  }
  if (tfs && download) console.log(`torrentfs cold / bt download: ${(download.ms / tfs.coldMs).toFixed(2)} (target ≥ 0.9; bt download ${mibs(download.ms)} MiB/s)`)
  for (const r of results) console.log(`warm / plain, ${r.client}: ${(plainMs / r.warmMs).toFixed(2)}`)
  process.exitCode = results.length === clients.length ? 0 : 1
}

function mibs(msVal) { return (size / MiB / (msVal / 1000)).toFixed(0) }
function ms(v) { return v >= 100 ? v.toFixed(0) : v.toFixed(1) }
