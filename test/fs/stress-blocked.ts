// Stress harness for test/fs/swarm-blocked's first test (not a test: run by hand, under load): N reads blocked on one
// open file plus one 200 KiB pread, a bt seeder started 1.5 s later on the --peer port; prints per round whether they
// finished, and on a hang torrentfs's stall report, ss -ti of the connection, the seeder's wire events and peer state.
// Usage: BT_DHT_BOOTSTRAP=none N=24 ROUNDS=25 node --import tsx test/fs/stress-blocked.ts (add CPU hogs to reproduce)
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
// Repro: N concurrent small reads on one open file blocked before a seeder exists; then seeder starts.
import { join } from 'node:path'
import { makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'
import { start, delay, within, preadChild } from './helpers.js'
import { KiB, MiB, CMD, copyTorrent, freePort, md5Range, mountDirs, startTorrentfs as startTf, stopTorrentfs } from './swarm-cli.js'
import { waitFor } from './helpers.js'
import { readdir } from 'node:fs/promises'
import { ROOT } from '../helpers/cli.js'

const N = Number(process.env.N ?? 24)
const LIMIT = Number(process.env.UPLIMIT ?? 0)
const ROUNDS = Number(process.env.ROUNDS ?? 1)
const DIAL = process.env.DIAL === '1' // seeder dials torrentfs instead of re-dial backoff
const CONCURRENT = `const { open } = require('node:fs/promises'); const { createHash } = require('node:crypto');
(async () => { const [file, ...offs] = process.argv.slice(1); const fh = await open(file, 'r'); const t0 = Date.now();
  const out = await Promise.all(offs.map(async (o) => { const b = Buffer.alloc(1000);
    const { bytesRead } = await fh.read(b, 0, 1000, Number(o)); process.stderr.write('done ' + o + ' ' + (Date.now()-t0) + '\\n'); return { offset: Number(o), md5: createHash('md5').update(b.subarray(0, bytesRead)).digest('hex') } }));
  console.log(JSON.stringify(out)); await fh.close() })().catch((e) => { console.log(JSON.stringify({ error: e.code })); process.exit(1) })`

const tt = await makeTestTorrent([Number(process.env.SIZE_MIB ?? 4) * MiB], { pieceLength: 64 * KiB, seed: 31 })
const src = join(tt.seedDir, 'file.bin')
let fails = 0
let roundNo = 0
async function startTorrentfs(dirs: any, extra: string[], expect: string[]) {
  if (!process.env.STRACE) return startTf(dirs, extra, expect)
  const child = start('strace', ['-f', '-qq', '-e', 'trace=read,readv,recvfrom,recvmsg,recvmmsg,close,pread64,connect,socket', '-o', `/tmp/fsrace-st/${process.pid}-${roundNo}.txt`, process.execPath, '--import', 'tsx', CMD, '-mountDir', dirs.mnt, '-metainfoDir', dirs.torrents, '-downloadDir', dirs.data, '--no-dht', '--verbose', ...extra], { cwd: ROOT, env: { XDG_DATA_HOME: dirs.xdg, BT_DHT_BOOTSTRAP: 'none' } })
  await waitFor('mount', () => /mounted/.test(child.stderr()) || child.proc.exitCode !== null, 30_000)
  await waitFor('show', async () => ((await readdir(dirs.mnt).catch(() => [])) as string[]).includes('file.bin'), 10_000)
  return { ...dirs, child }
}
for (let round = 0; round < ROUNDS; round++) {
  roundNo = round
  const port = await freePort()
  const lport = await freePort()
  const dirs = mountDirs()
  copyTorrent(tt, dirs)
  const m = await startTorrentfs(dirs, DIAL ? ['--port', String(lport)] : ['--peer', `127.0.0.1:${port}`], ['file.bin'])
  const offsets = Array.from({ length: N }, (_, i) => MiB + i * 64 * KiB + i)
  const many = start(process.execPath, ['-e', CONCURRENT, join(m.mnt, 'file.bin'), ...offsets.map(String)], { env: { UV_THREADPOOL_SIZE: '32' } })
  const blocked = process.env.BLOCKED === '0' ? undefined : preadChild(join(m.mnt, 'file.bin'), [[3 * MiB + 100, 200 * KiB]])
  await delay(1500)
  const t0 = Date.now()
  const seeder = await seedWith(tt, DIAL ? { peers: [{ host: '127.0.0.1', port: lport }] } : {}, { port, uploadLimit: LIMIT || undefined })
  const ev: string[] = []
  const T0 = Date.now()
  const note = (x: string) => { ev.push(`${Date.now() - T0} ${x}`); if (ev.length > 400) ev.shift() }
  seeder.torrent.on('peer', (peer: any) => {
    note(`peer ${peer.key}`)
    peer.socket.on('data', (d: Buffer) => note(`sock data ${d.length} first ${d[4]}`))
    peer.wire.on('request', (i: number, o: number) => note(`wire request ${i}:${o} choking ${peer.wire.amChoking} q ${peer.uploadQueue.length} inflight ${peer.uploadsInFlight} waiting ${peer.uploadWaiting}`))
    peer.wire.on('interested', () => note('interested'))
    peer.wire.on('uninterested', () => note('uninterested'))
    peer.wire.on('cancel', (i: number, o: number) => note(`cancel ${i}:${o}`))
    const origChoke = peer.wire.choke.bind(peer.wire); peer.wire.choke = () => { note('choke'); return origChoke() }
    const origUnchoke = peer.wire.unchoke.bind(peer.wire); peer.wire.unchoke = () => { note('unchoke'); return origUnchoke() }
  })
  let probing = true
  ;(async () => { const { stat } = await import('node:fs/promises'); while (probing) { const a = Date.now(); await stat('/'); const d = Date.now() - a; if (d > 300) note(`POOL stat took ${d} ms`); await delay(200) } })()
  let ok = true
  try {
    if (blocked) { await within(blocked.exited, 40_000, 'blocked'); console.log(`blocked read done ${Date.now() - t0} ms`) }
    await within(many.exited, 40_000, 'reads')
    const got = JSON.parse(many.stdout())
    const want = offsets.map((o) => ({ offset: o, md5: md5Range(src, o, 1000) }))
    if (JSON.stringify(got) !== JSON.stringify(want)) { ok = false; console.log('WRONG', many.stdout()) }
  } catch (e) {
    ok = false
    console.log('HANG', String(e))
    console.log('done lines:', many.stderr().split('\n').filter(Boolean).length, many.stderr())
    await delay(5500) // a stall report
    console.log(m.child.stderr().slice(-10000))
    try { console.log('SS', require('node:child_process').execFileSync('ss', ['-tnie', 'sport', '=', `:${seeder.client.port()}`, 'or', 'dport', '=', `:${seeder.client.port()}`]).toString()) } catch (e) { console.log('ss failed', String(e)) }
    try {
      const pid = m.child.proc.pid
      console.log('FDS', require('node:child_process').execFileSync('sh', ['-c', `ls -l /proc/${pid}/fd; for f in /proc/${pid}/fd/*; do l=$(readlink $f); case $l in anon_inode:*poll*) echo "== $f"; cat /proc/${pid}/fdinfo/$(basename $f);; esac; done; cat /proc/${pid}/net/tcp | head -0`]).toString())
    } catch (e) { console.log('fds failed', String(e)) }
    console.log('EVENTS\n' + ev.filter((e) => e.includes('POOL')).join('\n') + '\n' + ev.slice(-30).join('\n'))
    for (const peer of (seeder.torrent as any).peers.values()) {
      const w = peer.wire, so = peer.socket
      console.log(`SEEDER peer ${peer.key}: amChoking ${w.amChoking} peerInterested ${w.peerInterested} peerRequests ${w.peerRequests.length} uploadQueue ${peer.uploadQueue.length} inFlight ${peer.uploadsInFlight} waiting ${peer.uploadWaiting} uploaded ${w.uploaded} backlog ${w.backlog} writableLength ${so.writableLength} read ${so.bytesRead} wrote ${so.bytesWritten} destroyed ${w.destroyed} ports ${so.localPort}<-${so.remotePort} reading ${so._handle?.reading}`)
    }
  }
  if (ok && process.env.BASELINE) {
    for (const peer of (seeder.torrent as any).peers.values()) peer.wire.choke()
    await delay(300)
    const late = preadChild(join(m.mnt, 'file.bin'), [[100 * KiB, 1000]])
    await delay(5600)
    console.log('BASE', m.child.stderr().split('\n').filter((l: string) => l.includes('peers [')).pop()?.slice(0, 300))
    try { console.log('SS', require('node:child_process').execFileSync('sh', ['-c', `ss -tnie sport = :${seeder.client.port()} or dport = :${seeder.client.port()} | grep -o "127.0.0.1:[0-9]* *127.0.0.1:[0-9]*\\|bytes_sent:[0-9]*\\|bytes_received:[0-9]*"`]).toString().replace(/\n/g, ' ')) } catch {}
    for (const peer of (seeder.torrent as any).peers.values()) console.log(`SEEDER read ${peer.socket.bytesRead} wrote ${peer.socket.bytesWritten}`)
    late.proc.kill('SIGKILL')
  }
  probing = false
  console.log(`round ${round}: ${ok ? 'ok' : 'FAIL'} in ${Date.now() - t0} ms; last done: ${many.stderr().trim().split('\n').pop()}`)
  if (!ok) fails++
  many.proc.kill('SIGKILL')
  await seeder.client.destroy()
  await stopTorrentfs(m).catch((e) => console.log('stop', String(e)))
}
await stopAll()
console.log(`fails ${fails}/${ROUNDS}`)
process.exit(0)
