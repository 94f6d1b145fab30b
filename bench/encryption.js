#!/usr/bin/env node
// Protocol encryption bench: what RC4 costs bt, native (OpenSSL with --openssl-legacy-provider) against
// bittorrent-protocol's JavaScript fallback, beside plain TCP and beside libtorrent doing the same, in one run.
//
//   npm run build && node bench/encryption.js [--size 256M] [--runs 5] [--timeout 600] [--dir /tmp] [--keep]
//
// Two python3-libtorrent seeders on 127.0.0.1 share one payload: one forces RC4 (pe_forced both ways, pe_rc4), one
// is plain (pe_disabled). Each client downloads the payload from one of them by direct address (no tracker, no DHT):
//   bt rc4 native   node --openssl-legacy-provider bin/bt.js download --encryption require  (from the RC4 seeder)
//   bt rc4 js       node bin/bt.js download --encryption require                         (JavaScript RC4)
//   bt plain        node bin/bt.js download --encryption off                              (from the plain seeder)
//   libtorrent rc4 / libtorrent plain: a python3-libtorrent leecher, forced / disabled likewise
// Then the launcher's startup cost (`bt --version`, median of --runs): the shebang passing the flag, and no flag
// (`node bin/bt.js`, which then uses the JavaScript RC4).
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BT, LT_PYTHON, LT_SCRIPT, MiB, ensureBuilt, fmtSize, killAll, makePayload, md5File, parseArgs, parseSize, startLtPeer, timed, printHelpAndExit } from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help'])
if (flags.help) printHelpAndExit(import.meta.url)
const size = parseSize(flags.size ?? '256M')
const runs = Number(flags.runs ?? 5)
const timeoutMs = Number(flags.timeout ?? 600) * 1000

ensureBuilt()
const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-enc-'))
process.on('exit', () => { killAll(); if (!flags.keep) rmSync(work, { recursive: true, force: true }) })

const { seedDir, file, srcMd5 } = await makePayload(work, size)
const torrent = join(work, 'payload.torrent')
// mktorrent wants an announce URL; nothing listens there (port 9 on loopback), peers are given directly.
const mk = spawnSync('mktorrent', ['-l', '20', '-a', 'http://127.0.0.1:9/announce', '-o', torrent, file], { encoding: 'utf8' })
if (mk.status !== 0) throw new Error(`mktorrent: ${mk.stderr}`)
const rc4Seeder = await startLtPeer({ torrent, save: seedDir, seed: true, encryption: 'forced', interval: 1 })
const plainSeeder = await startLtPeer({ torrent, save: seedDir, seed: true, encryption: 'disabled', interval: 1 })
const rc4Addr = `127.0.0.1:${rc4Seeder.port}`
const plainAddr = `127.0.0.1:${plainSeeder.port}`
console.log(`payload ${fmtSize(size)}, 1 MiB pieces; libtorrent seeders: RC4-only on ${rc4Addr}, plain-only on ${plainAddr}\n`)

const btArgs = (out, peer, enc) => [BT, 'download', torrent, '-o', out, '--quiet', '--no-dht', '--peer', peer, '--encryption', enc]
const ltArgs = (out, peer, enc) => [LT_SCRIPT, JSON.stringify({ torrent, save: out, peers: [peer], exit_on_finish: true, interval: 5, encryption: enc })]
const cases = [
  ['bt rc4 native', process.execPath, ['--openssl-legacy-provider', ...btArgs('{out}', rc4Addr, 'require')], {}],
  ['bt rc4 js', process.execPath, btArgs('{out}', rc4Addr, 'require'), {}],
  ['bt plain', process.execPath, btArgs('{out}', plainAddr, 'off'), {}],
  ['libtorrent rc4', LT_PYTHON, ltArgs('{out}', rc4Addr, 'forced'), {}],
  ['libtorrent plain', LT_PYTHON, ltArgs('{out}', plainAddr, 'disabled'), {}],
]

const results = new Map()
for (const [name, cmd, args, env] of cases) {
  const out = join(work, 'out-' + name.replaceAll(' ', '-'))
  mkdirSync(out)
  const r = await timed(cmd, args.map((a) => a.replaceAll('{out}', out)), { timeoutMs, env, stdin: cmd === LT_PYTHON ? 'pipe' : 'ignore' })
  const got = join(out, 'payload.bin')
  let md5 = 'missing'
  try { md5 = statSync(got).size === size ? await md5File(got) : `short (${statSync(got).size} bytes)` } catch {}
  rmSync(out, { recursive: true, force: true })
  if (r.code !== 0 || md5 !== srcMd5) {
    console.log(`${name}: failed (${r.timedOut ? 'timed out' : `exit ${r.code}, md5 ${md5}`}): ${r.output.trim().split('\n').slice(-3).join(' / ').slice(0, 300)}`)
    continue
  }
  const mibs = size / MiB / r.wall
  results.set(name, { ...r, mibs })
  console.log(`${name.padEnd(17)} ${r.wall.toFixed(2).padStart(6)} s  ${mibs.toFixed(0).padStart(5)} MiB/s  CPU ${r.cpu.toFixed(2)} s  RSS ${(r.rssKiB / 1024).toFixed(0)} MiB  md5 ok`)
}
rc4Seeder.stop()
plainSeeder.stop()

const ratio = (a, b) => (results.has(a) && results.has(b) ? (results.get(a).mibs / results.get(b).mibs).toFixed(2) : 'n/a')
console.log(`\nspeed ratios: bt rc4 native / js ${ratio('bt rc4 native', 'bt rc4 js')}, bt rc4 native / bt plain ${ratio('bt rc4 native', 'bt plain')},` +
  ` bt rc4 native / libtorrent rc4 ${ratio('bt rc4 native', 'libtorrent rc4')}, bt plain / libtorrent plain ${ratio('bt plain', 'libtorrent plain')}`)

// Launcher startup: median wall time of `bt --version`.
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const startup = (cmd, args, env) => {
  const ms = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
    ms.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return median(ms)
}
const shebang = startup(BT, ['--version'], {})
const noFlag = startup(process.execPath, [BT, '--version'], {})
console.log(`\nbt --version, median of ${runs}: shebang with the flag ${shebang.toFixed(0)} ms, no flag (node bin/bt.js) ${noFlag.toFixed(0)} ms`)
