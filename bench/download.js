#!/usr/bin/env node
// Download benchmark: one python3-libtorrent seeder on 127.0.0.1 (announced to a local opentracker), then each client
// downloads the same payload in turn from a fresh directory; prints wall time, MiB/s, CPU, peak RSS, md5 and bt/other.
//
//   npm run build && node bench/download.js [--size 1G] [--clients bt,bt-utp,aria2,libtorrent,libtorrent-utp,webtorrent]
//        [--timeout 600] [--seeder default|fast] [--no-seeder-utp] [--bt-args "..."] [--dir /tmp] [--no-netns] [--keep]
//        [--runs N] [--profile DIR]
//
// --runs N downloads N times per client against the same seeder (clients interleaved) and reports each client's
// median run: on a shared machine one run's CPU figure is noise. --profile DIR runs bt under `node --cpu-prof` and
// leaves one .cpuprofile per run in DIR (open it in Chrome devtools, or summarise it with bench/cpuprofile-top.js).
// --bt-args appends arguments to bt's command line; {seeder} in them becomes the seeder's host:port.
// uTP columns: bt-utp is `bt download --no-tcp`, libtorrent-utp a libtorrent leecher with TCP off both ways; the
// plain bt and libtorrent columns are TCP (bt with --no-utp, so no dial falls back to uTP).
// The seeder accepts TCP and uTP (clients pick; webtorrent is ~8x faster over uTP than TCP against libtorrent);
// the libtorrent leecher dials over TCP (libtorrent's own uTP manages ~10 MiB/s on loopback) and gets the seeder's
// address directly as well as from the tracker. Wall time is the whole process, startup and shutdown included
// (aria2c spends ~3 s of it in its one-second ticks). libtorrent's peak RSS counts its memory-mapped file pages.
//
// Network: webtorrent-cli cannot switch off DHT or its default public trackers, so the whole run (tracker, seeder,
// every client) happens inside a fresh network namespace that has only `lo` (ip netns add; nsenter --net=...): this
// script re-executes itself there, which needs root. Every client then sees the same loopback, so the comparison stays
// fair. webtorrent-cli is installed first (outside the namespace, with npm) into bench/.cache/webtorrent. Without a
// namespace (--no-netns, or not root) webtorrent is skipped and the rest runs on the host's 127.0.0.1.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BT, LT_PYTHON, LT_SCRIPT, MiB, ensureBuilt, makePayload, ensureWebtorrent, fmtSize, freePort, have, killAll, md5File, parseArgs,
  parseSize, reexecInNetns as runInNetns, startLtPeer, startOpentracker, timed, writeRandomFile,
  printHelpAndExit,
} from './lib.js'

const ALL = ['bt', 'bt-utp', 'aria2', 'libtorrent', 'libtorrent-utp', 'webtorrent']
const { flags } = parseArgs(process.argv.slice(2), ['no-netns', 'keep', 'help', 'no-seeder-utp'])
if (flags.help) printHelpAndExit(import.meta.url)
const size = parseSize(flags.size ?? '1G')
const clients = String(flags.clients ?? ALL.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
for (const c of clients) if (!ALL.includes(c)) { console.error(`unknown client ${c} (known: ${ALL.join(', ')})`); process.exit(2) }
const timeoutMs = Number(flags.timeout ?? 600) * 1000
const runs = Math.max(1, Number(flags.runs ?? 1) | 0)
const nodeArgs = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${flags.profile}`] : []
const skipped = new Map() // client -> reason

if (!process.env.BT_BENCH_NETNS && !flags['no-netns']) {
  const code = await reexecInNetns()
  if (code !== undefined) process.exit(code)
}
if (process.env.BT_BENCH_SKIP) for (const [c, why] of JSON.parse(process.env.BT_BENCH_SKIP)) skipped.set(c, why)
if (!process.env.BT_BENCH_NETNS && clients.includes('webtorrent') && !skipped.has('webtorrent')) {
  skipped.set('webtorrent', 'needs a network namespace (it cannot disable DHT or public trackers); run as root without --no-netns')
}
await main()

/**
 * Installs webtorrent (needs the registry), makes the namespace, runs this script inside it, removes the namespace.
 * Returns the inner run's exit code, or undefined when no namespace could be made (then run here, on the host).
 */
async function reexecInNetns() {
  const skip = []
  let webtorrent
  if (clients.includes('webtorrent')) {
    try { webtorrent = ensureWebtorrent() } catch (e) { skip.push(['webtorrent', e.message]) }
  }
  const r = await runInNetns('btbench', import.meta.url, { env: { BT_BENCH_SKIP: JSON.stringify(skip), BT_BENCH_WEBTORRENT: webtorrent ?? '' } })
  if (r.unavailable) {
    console.error(`${r.unavailable}: running on the host's 127.0.0.1`)
    for (const [c, why] of skip) skipped.set(c, why)
    if (!skipped.has('webtorrent')) skipped.set('webtorrent', `${r.unavailable}; webtorrent cannot disable DHT or public trackers`)
    return undefined
  }
  return r.code
}

function versionOf(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return r.status === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined
}

async function main() {
  const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-'))
  const cleanupWork = () => { if (!flags.keep) rmSync(work, { recursive: true, force: true }) }
  process.on('exit', () => { killAll(); cleanupWork() })

  for (const c of clients) {
    if (skipped.has(c)) continue
    if (c === 'bt' || c === 'bt-utp') { try { ensureBuilt() } catch (e) { skipped.set(c, e.message) } }
    if (c.endsWith('-utp') && flags['no-seeder-utp']) skipped.set(c, '--no-seeder-utp')
    if (c === 'aria2' && !have('aria2c')) skipped.set(c, 'aria2c not installed (Debian package aria2)')
    if (c === 'webtorrent' && !process.env.BT_BENCH_WEBTORRENT) {
      try { process.env.BT_BENCH_WEBTORRENT = ensureWebtorrent() } catch (e) { skipped.set(c, e.message) }
    }
  }
  for (const need of ['mktorrent', 'opentracker', '/usr/bin/time']) {
    if (!have(need)) throw new Error(`${need} is missing (Debian packages: mktorrent, opentracker, time)`)
  }

  console.log(`payload ${fmtSize(size)}, 1 MiB pieces, libtorrent ${versionOf(LT_PYTHON, ['-c', 'import libtorrent as lt; print(lt.__version__)'])} seeder` +
    ` (${flags.seeder === 'fast' ? 'high_performance_seed' : 'default'} settings, ${flags['no-seeder-utp'] ? 'TCP only' : 'TCP and incoming uTP'}), ${process.env.BT_BENCH_NETNS ? `netns ${process.env.BT_BENCH_NETNS} (lo only)` : "host's 127.0.0.1"}, work dir ${work}`)
  const { seedDir, file, srcMd5 } = await makePayload(work, size)
  let t = Date.now()

  const trackerPort = await freePort()
  const announce = `http://127.0.0.1:${trackerPort}/announce`
  const torrent = join(work, 'payload.torrent')
  const mk = spawnSync('mktorrent', ['-l', '20', '-d', '-a', announce, '-o', torrent, file], { encoding: 'utf8' })
  if (mk.status !== 0) throw new Error(`mktorrent: ${mk.stderr}`)
  const ih = spawnSync(LT_PYTHON, ['-c', 'import sys, libtorrent as lt; print(lt.torrent_info(sys.argv[1]).info_hash())', torrent], { encoding: 'utf8' })
  if (ih.status !== 0) throw new Error(`reading the info hash: ${ih.stderr}`)
  const infoHash = ih.stdout.trim()
  const tracker = await startOpentracker(trackerPort, [infoHash], join(work, 'opentracker'))
  t = Date.now()
  const seeder = await startLtPeer({ torrent, save: seedDir, seed: true, high_performance: flags.seeder === 'fast', utp: !flags['no-seeder-utp'], interval: 1 })
  const seederAddr = `127.0.0.1:${seeder.port}`
  console.log(`opentracker on ${trackerPort}, seeder on ${seederAddr} (checked and announced in ${((Date.now() - t) / 1000).toFixed(1)} s)\n`)

  const btArgs = flags['bt-args'] ? String(flags['bt-args']).replaceAll('{seeder}', seederAddr).split(/\s+/).filter(Boolean) : []
  const commands = {
    // DHT off, as for aria2c and libtorrent: outside a namespace bt would otherwise ask the public routers.
    bt: (out) => [process.execPath, [...nodeArgs, BT, 'download', torrent, '-o', out, '--quiet', '--no-utp', '--no-dht', ...btArgs]],
    'bt-utp': (out) => [process.execPath, [...nodeArgs, BT, 'download', torrent, '-o', out, '--quiet', '--no-tcp', '--no-dht', ...btArgs]],
    aria2: (out) => ['aria2c', ['--no-conf', `--dir=${out}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
      '--enable-peer-exchange=false', '--interface=127.0.0.1', '--disable-ipv6=true', '--seed-time=0', '--bt-save-metadata=false',
      '--follow-torrent=mem', '--allow-overwrite=true', '--file-allocation=falloc', '--summary-interval=0',
      '--show-console-readout=false', '--console-log-level=warn', `--stop-with-process=${process.pid}`, torrent]],
    // The libtorrent leecher gets the seeder both from the tracker and as a direct peer address.
    libtorrent: (out) => [LT_PYTHON, [LT_SCRIPT, JSON.stringify({ torrent, save: out, peers: [seederAddr], exit_on_finish: true, interval: 5 })]],
    'libtorrent-utp': (out) => [LT_PYTHON, [LT_SCRIPT, JSON.stringify({ torrent, save: out, peers: [seederAddr], exit_on_finish: true, interval: 5, utp: true,
      settings: { enable_outgoing_tcp: false, enable_incoming_tcp: false } })]],
    webtorrent: (out) => [process.execPath, [process.env.BT_BENCH_WEBTORRENT, 'download', torrent, '-o', out, '-q']],
  }

  const all = new Map() // client -> every successful run
  for (let run = 0; run < runs; run++) for (const c of clients) {
    if (skipped.has(c)) { if (run === 0) console.log(`${c}: skipped: ${skipped.get(c)}`); continue }
    const out = join(work, `out-${c}`)
    mkdirSync(out)
    const [cmd, args] = commands[c](out)
    const r = await timed(cmd, args, { timeoutMs, stdin: c.startsWith('libtorrent') ? 'pipe' : 'ignore' })
    const got = join(out, 'payload.bin')
    let md5 = 'missing'
    try { if (statSync(got).size === size) md5 = await md5File(got); else md5 = `short (${statSync(got).size} bytes)` } catch {}
    const ok = r.code === 0 && md5 === srcMd5
    rmSync(out, { recursive: true, force: true })
    if (!ok) {
      const why = r.timedOut ? `timed out after ${timeoutMs / 1000} s` : r.code !== 0 ? `exit code ${r.code}` : `md5 ${md5}`
      console.log(`${c}: failed (${why}): ${r.output.trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`)
      skipped.set(c, why)
      continue
    }
    const res = { client: c, ...r, mibs: size / MiB / r.wall, md5ok: true }
    if (!all.has(c)) all.set(c, [])
    all.get(c).push(res)
    console.log(`${c}${runs > 1 ? ` #${run + 1}` : ''}: ${r.wall.toFixed(2)} s, ${res.mibs.toFixed(0)} MiB/s, CPU ${r.cpu.toFixed(2)} s, RSS ${(r.rssKiB / 1024).toFixed(0)} MiB, md5 ok`)
  }
  tracker.stop()
  seeder.stop()
  // Each client's median run by CPU (its wall and RSS are that run's).
  const results = [...all.values()].map((rs) => [...rs].sort((a, b) => a.cpu - b.cpu)[(rs.length - 1) >> 1])
  if (runs > 1) {
    console.log('\nCPU s per GiB, every run:')
    for (const [c, rs] of all) console.log(`${c.padEnd(15)} ${rs.map((r) => (r.cpu / (size / 1024 / MiB)).toFixed(2)).join(' ')}`)
  }

  if (runs > 1) console.log(`\neach client's median run of ${runs} (by CPU):`)
  console.log('\nclient       wall s   MiB/s   CPU s (user+sys)   peak RSS MiB   md5')
  for (const r of results) {
    console.log(`${r.client.padEnd(15)} ${r.wall.toFixed(2).padStart(6)}  ${r.mibs.toFixed(0).padStart(6)}   ${r.cpu.toFixed(2).padStart(6)} (${r.user.toFixed(2)}+${r.sys.toFixed(2)})`.padEnd(52) +
      `${(r.rssKiB / 1024).toFixed(0).padStart(8)}        ok`)
  }
  const bt = results.find((r) => r.client === 'bt')
  if (bt && results.length > 1) {
    console.log('\nbt / other   speed (>1: bt faster)   CPU (<1: bt cheaper)   RSS (<1: bt smaller)')
    for (const r of results) {
      if (r === bt) continue
      console.log(`${r.client.padEnd(15)} ${(bt.mibs / r.mibs).toFixed(2).padStart(8)}                ${(bt.cpu / r.cpu).toFixed(2).padStart(8)}               ${(bt.rssKiB / r.rssKiB).toFixed(2).padStart(8)}`)
    }
    const btUtp = results.find((r) => r.client === 'bt-utp')
    const ltUtp = results.find((r) => r.client === 'libtorrent-utp')
    if (btUtp && ltUtp) console.log(`\nuTP: bt-utp / libtorrent-utp speed ${(btUtp.mibs / ltUtp.mibs).toFixed(2)} (target >= 1), CPU ${(btUtp.cpu / ltUtp.cpu).toFixed(2)}`)
    if (btUtp) console.log(`uTP: bt-utp / bt (TCP) CPU ${(btUtp.cpu / bt.cpu).toFixed(2)} (target <= 1.5), speed ${(btUtp.mibs / bt.mibs).toFixed(2)}`)
  } else if (!bt) {
    console.log(`\nno bt figures (${skipped.get('bt') ?? 'not selected'}): no ratios`)
  }
  process.exitCode = skipped.size && results.length === 0 ? 1 : 0
}
