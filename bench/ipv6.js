#!/usr/bin/env node
// IPv6 against IPv4 on loopback: one python3-libtorrent seeder listening on 127.0.0.1 and [::1] (same port), then bt
// and a libtorrent leecher each download the same payload over 127.0.0.1 and over ::1, in one run. Prints wall time,
// MiB/s, CPU seconds and peak RSS per download, and bt/libtorrent ratios per family.
//
//   npm run build && node bench/ipv6.js [--size 256M] [--timeout 300] [--dir /tmp] [--keep]
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BT, LT_PYTHON, LT_SCRIPT, MiB, ensureBuilt, fmtSize, freePort, makePayload, md5File, parseArgs, parseSize,
  printHelpAndExit, startLtPeer, timed,
} from './lib.js'

const { flags } = parseArgs(process.argv.slice(2), ['keep', 'help'])
if (flags.help) printHelpAndExit(import.meta.url)
ensureBuilt()
const size = parseSize(flags.size ?? '256M')
const timeoutMs = Number(flags.timeout ?? 300) * 1000
const work = mkdtempSync(join(flags.dir ?? tmpdir(), 'bt-bench-ipv6-'))

try {
  const { seedDir, file, srcMd5 } = await makePayload(work, size)
  const torrent = join(work, 'payload.torrent')
  const mk = spawnSync(process.execPath, [BT, 'create', file, '-l', '1M', '--no-date', '-q', '-o', torrent], { encoding: 'utf8' })
  if (mk.status !== 0) throw new Error(`bt create failed: ${mk.stderr}`)
  const port = await freePort()
  const seeder = await startLtPeer({ torrent, save: seedDir, seed: true, port, settings: { listen_interfaces: `127.0.0.1:${port},[::1]:${port}` } })
  console.log(`libtorrent seeder on 127.0.0.1:${port} and [::1]:${port}, payload ${fmtSize(size)}`)
  const rows = []
  try {
    for (const [family, host, peer] of [['IPv4', '127.0.0.1', `127.0.0.1:${port}`], ['IPv6', '::1', `[::1]:${port}`]]) {
      const runs = {
        bt: (out) => [process.execPath, [BT, 'download', torrent, '-o', out, '--peer', peer, '--bind', host, '-p', '0', '--no-dht', '-q'], { XDG_DATA_HOME: join(out, '.xdg') }],
        libtorrent: (out) => [LT_PYTHON, [LT_SCRIPT, JSON.stringify({ torrent, save: out, peers: [peer], exit_on_finish: true, interval: 5,
          settings: { listen_interfaces: host === '::1' ? '[::1]:0' : '127.0.0.1:0' } })], {}],
      }
      for (const [name, make] of Object.entries(runs)) {
        const out = mkdtempSync(join(work, `${name}-${family}-`))
        const [cmd, args, env] = make(out)
        // lt_node.py ends when its stdin closes: give it an open pipe.
        const r = await timed(cmd, args, { timeoutMs, env, stdin: name === 'libtorrent' ? 'pipe' : 'ignore' })
        const md5 = r.code === 0 ? await md5File(join(out, 'payload.bin')).catch(() => 'missing') : '-'
        rows.push({ family, name, ...r, ok: md5 === srcMd5 })
        if (md5 !== srcMd5) console.error(`${name} over ${family}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}, md5 ${md5}\n${r.output.slice(-2000)}`)
        rmSync(out, { recursive: true, force: true })
      }
    }
  } finally {
    seeder.stop()
  }
  console.log('\nfamily  client      wall s   MiB/s   CPU s   RSS MiB  md5')
  for (const r of rows) {
    console.log(`${r.family.padEnd(8)}${r.name.padEnd(12)}${r.wall.toFixed(2).padStart(6)}  ${(size / MiB / r.wall).toFixed(1).padStart(6)}  ${r.cpu.toFixed(2).padStart(6)}  ${(r.rssKiB / 1024).toFixed(0).padStart(7)}  ${r.ok ? 'ok' : 'BAD'}`)
  }
  for (const family of ['IPv4', 'IPv6']) {
    const b = rows.find((r) => r.family === family && r.name === 'bt')
    const l = rows.find((r) => r.family === family && r.name === 'libtorrent')
    if (b?.ok && l?.ok) console.log(`${family}: bt/libtorrent wall ${(b.wall / l.wall).toFixed(2)}, CPU ${(b.cpu / l.cpu).toFixed(2)}`)
  }
  const b4 = rows.find((r) => r.family === 'IPv4' && r.name === 'bt')
  const b6 = rows.find((r) => r.family === 'IPv6' && r.name === 'bt')
  if (b4?.ok && b6?.ok) console.log(`bt IPv6/IPv4: wall ${(b6.wall / b4.wall).toFixed(2)}, CPU ${(b6.cpu / b4.cpu).toFixed(2)}`)
} finally {
  if (!flags.keep) rmSync(work, { recursive: true, force: true })
}
