#!/usr/bin/env node
// Tracker load bench: bt's tracker against opentracker (Debian) and bittorrent-tracker (npm, installed into
// bench/.cache) on 127.0.0.1 in one run. For each tracker and protocol (UDP, HTTP): fill the swarms, then
// announces/s at saturation (closed loop, realistic event mix), latency at a fixed offered load (open loop:
// p50/p99 and losses), scrapes/s; then RSS with --rss-peers peers in --rss-torrents swarms (1 M in 100 k).
// The UDP load comes from a small C generator (tracker-gen.c, built with cc into bench/.cache: a few µs a request,
// so it outruns even opentracker); HTTP load, and UDP without a compiler, from --gen-workers node threads. All run
// on the same cores as the tracker: compare ratios and the trackers' CPU µs per announce, not absolute capacities.
//
//   node bench/tracker.js                                  # everything, default sizes
//   node bench/tracker.js --trackers bt,opentracker --protos udp --rss-peers 0
//   node bench/tracker.js --bt-workers 0,1,2 --rounds 3 --rss-peers 0   # bt with 0, 1, 2 UDP threads; medians
//   node bench/tracker.js --trackers bt,opentracker --protos udp --bt-workers 0,2 --bt-io native,dgram --rounds 3 --rss-peers 0
//                                                          # bt's batched UDP I/O (native/udp-batch) beside dgram
//   node bench/tracker.js --trackers bt,opentracker --protos udp --bt-workers 0 --bt-io native,nosend --rounds 3 --rss-peers 0
//                                                          # bt's native send thread (the default) beside none
//   node bench/tracker.js --help
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, rmSync, mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dgram from 'node:dgram'
import net from 'node:net'
import { performance } from 'node:perf_hooks'

const PROTOCOL_ID = 0x41727101980n

// ---------------------------------------------------------------------------------------------------------------
// Virtual peers: peer i belongs to torrent i % T, has a 20-byte ASCII id and a port unique within its torrent
// (opentracker keys peers by ip:port, and every bench peer is 127.0.0.1).

function infoHash(t) {
  const b = Buffer.alloc(20)
  b.writeUInt32BE(0xb7b7b7b7, 0)
  b.writeUInt32BE(t, 16)
  return b
}
const peerId = (i) => `-BENCH-${i.toString(16).padStart(13, '0')}`
const peerPort = (i, T) => 1024 + (Math.floor(i / T) % 60000)
const pct = (buf) => [...buf].map((x) => '%' + x.toString(16).padStart(2, '0')).join('')

// ---------------------------------------------------------------------------------------------------------------
// The generator (one per worker thread).

async function generator(cfg) {
  const { proto, host, port, mode, torrents: T, first, count, duration, concurrency, rate, numwant, path } = cfg
  const state = new Uint8Array(count) // 0 not announced yet / stopped, 1 leecher, 2 seeder
  const hashes = Array.from({ length: T }, (_, t) => infoHash(t))
  const hashPct = proto === 'http' ? hashes.map(pct) : null
  let fillNext = 0
  const lat = new Float64Array(Math.min(4_000_000, Math.max(1024, Math.ceil((rate || 50_000) * (duration || 10) * 1.5))))
  let nLat = 0
  let done = 0
  let errors = 0
  let lost = 0
  let firstError = ''

  // What the next request is: [kind, i, event, left, numwant]; kind 'a' announce, 's' scrape.
  function next() {
    if (mode === 'scrape') return ['s']
    if (mode === 'fill') {
      if (fillNext >= count) return null
      const k = fillNext++
      state[k] = 1
      return ['a', first + k, 2, 1000, numwant]
    }
    const k = Math.floor(Math.random() * count)
    const st = state[k]
    const r = Math.random()
    if (st === 0) { state[k] = 1; return ['a', first + k, 2, 1000, numwant] }
    if (st === 1) {
      if (r < 0.05) { state[k] = 2; return ['a', first + k, 1, 0, numwant] }
      if (r < 0.08) { state[k] = 0; return ['a', first + k, 3, 500, 0] }
      return ['a', first + k, 0, 500, numwant]
    }
    if (r < 0.05) { state[k] = 0; return ['a', first + k, 3, 0, 0] }
    return ['a', first + k, 0, 0, numwant]
  }

  const record = (ms, isError, msg) => {
    done++
    if (isError) { errors++; if (!firstError) firstError = msg }
    if (nLat < lat.length) lat[nLat++] = ms
  }

  const started = performance.now()
  const endAt = mode === 'fill' ? Infinity : started + duration * 1000
  let finished
  const finishedP = new Promise((r) => { finished = r })

  if (proto === 'udp') {
    const SLOTS = 65536
    const slotTid = new Uint32Array(SLOTS)
    const slotSent = new Float64Array(SLOTS)
    const busy = new Uint8Array(SLOTS)
    const nSock = Math.min(8, concurrency)
    const socks = []
    const cids = []
    let seq = 1
    let outstanding = 0
    for (let k = 0; k < nSock; k++) {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 })
      await new Promise((r) => s.bind(0, '127.0.0.1', r))
      socks.push(s)
      cids.push(null)
    }
    const connect = (k) => {
      const b = Buffer.alloc(16)
      b.writeBigUInt64BE(PROTOCOL_ID, 0)
      b.writeUInt32BE(0, 8)
      b.writeUInt32BE(0xffff0000 + k, 12)
      socks[k].send(b, port, host)
    }
    const send = (slot) => {
      const req = next()
      if (!req) { busy[slot] = 0; if (outstanding === 0) finished(); return false }
      const k = slot % nSock
      const tid = (((seq++ & 0x7fff) << 16) | slot) >>> 0
      let b
      if (req[0] === 's') {
        b = Buffer.allocUnsafe(16 + 200)
        for (let j = 0; j < 10; j++) hashes[Math.floor(Math.random() * T)].copy(b, 16 + 20 * j)
        cids[k].copy(b, 0)
        b.writeUInt32BE(2, 8)
      } else {
        const [, i, ev, left, nw] = req
        b = Buffer.alloc(98)
        cids[k].copy(b, 0)
        b.writeUInt32BE(1, 8)
        hashes[i % T].copy(b, 16)
        b.write(peerId(i), 36, 'latin1')
        b.writeUInt32BE(left, 68)
        b.writeUInt32BE(ev, 80)
        b.writeInt32BE(nw, 92)
        b.writeUInt16BE(peerPort(i, T), 96)
      }
      b.writeUInt32BE(tid, 12)
      slotTid[slot] = tid
      slotSent[slot] = performance.now()
      if (!busy[slot]) { busy[slot] = 1; outstanding++ }
      socks[k].send(b, port, host)
      return true
    }
    const ready = Promise.all(socks.map((s, k) => new Promise((resolve) => {
      s.on('message', (m) => {
        if (m.length < 8) return
        const action = m.readUInt32BE(0)
        const tid = m.readUInt32BE(4)
        if (action === 0 && m.length >= 16 && tid >>> 16 === 0xffff) { cids[k] = Buffer.from(m.subarray(8, 16)); resolve(); return }
        const slot = tid & 0xffff
        if (!busy[slot] || slotTid[slot] !== tid) return
        busy[slot] = 0
        outstanding--
        record(performance.now() - slotSent[slot], action === 3, action === 3 ? m.toString('utf8', 8) : '')
        if (mode !== 'rate') {
          if (performance.now() < endAt) send(slot)
          else if (outstanding === 0) finished()
        }
      })
      connect(k)
    })))
    const retry = setInterval(() => { socks.forEach((_, k) => { if (!cids[k]) connect(k) }) }, 200)
    await ready
    clearInterval(retry)
    // Connection ids live one to two minutes: refresh them in long runs.
    const refresh = setInterval(() => socks.forEach((_, k) => connect(k)), 30_000)
    let sweep
    const t0 = performance.now()
    if (mode === 'rate') {
      let sent = 0
      let slot = 0
      const tick = setInterval(() => {
        const now = performance.now()
        if (now >= endAt) {
          clearInterval(tick)
          setTimeout(() => finished(), 1000) // late replies still count
          return
        }
        const due = Math.floor(((now - t0) / 1000) * rate) - sent
        for (let j = 0; j < due; j++) {
          slot = (slot + 1) & (SLOTS - 1)
          if (busy[slot]) { lost++; busy[slot] = 0; outstanding-- }
          send(slot)
          sent++
        }
      }, 2)
    } else {
      for (let slot = 0; slot < concurrency; slot++) send(slot)
      // Lost datagrams: a slot silent for a second is counted lost and reused.
      sweep = setInterval(() => {
        const now = performance.now()
        for (let slot = 0; slot < concurrency; slot++) {
          if (busy[slot] && now - slotSent[slot] > 1000) {
            lost++
            busy[slot] = 0
            outstanding--
            if (now < endAt) send(slot)
          }
        }
        if (now >= endAt && outstanding === 0) finished()
      }, 100)
    }
    await finishedP
    clearInterval(refresh)
    clearInterval(sweep)
    for (const s of socks) s.close()
  } else {
    // HTTP/1.1 over raw sockets, one request in flight per connection; a server that closes after each reply
    // (Connection: close) gets a new connection per request, and that cost is part of its figure.
    const conns = []
    const idle = []
    let inflight = 0
    let stop = false
    const reqText = () => {
      const r = next()
      if (!r) return null
      if (r[0] === 's') {
        const qs = Array.from({ length: 10 }, () => `info_hash=${hashPct[Math.floor(Math.random() * T)]}`).join('&')
        return `GET ${path.replace(/announce$/, 'scrape')}?${qs} HTTP/1.1\r\nHost: ${host}\r\n\r\n`
      }
      const [, i, ev, left, nw] = r
      const evs = ['', '&event=completed', '&event=started', '&event=stopped'][ev]
      return `GET ${path}?info_hash=${hashPct[i % T]}&peer_id=${peerId(i)}&port=${peerPort(i, T)}&uploaded=0&downloaded=0&left=${left}${evs}&numwant=${nw}&compact=1 HTTP/1.1\r\nHost: ${host}\r\n\r\n`
    }
    const open = (c) => {
      c.sock = net.connect(port, host)
      c.sock.setNoDelay(true)
      c.buf = ''
      c.sock.setEncoding('latin1')
      c.sock.on('data', (d) => {
        c.buf += d
        const he = c.buf.indexOf('\r\n\r\n')
        if (he < 0) return
        const head = c.buf.slice(0, he).toLowerCase()
        const m = /content-length:\s*(\d+)/.exec(head)
        const len = m ? Number(m[1]) : -1
        if (len >= 0 && c.buf.length < he + 4 + len) return
        if (len < 0 && !c.ended) return // read to the end of the connection
        const body = len >= 0 ? c.buf.slice(he + 4, he + 4 + len) : c.buf.slice(he + 4)
        c.buf = len >= 0 ? c.buf.slice(he + 4 + len) : ''
        finish(c, body, /connection:\s*close/.test(head) || !head.startsWith('http/1.1'))
      })
      c.sock.on('error', () => {})
      c.sock.on('end', () => { c.ended = true; if (c.pending && c.buf) c.sock.emit('data', '') })
      c.sock.on('close', () => {
        c.closed = true
        // A server that closes without saying so (opentracker does) lost the request we wrote after its reply:
        // send it again on a new connection rather than count it as lost.
        const retry = c.pending || c.wantReopen
        if (c.pending) { c.pending = false; inflight-- }
        c.wantReopen = false
        if (stop) return
        open(c)
        // An idle connection (open loop) is still in `idle` and is used from there once it is open again.
        if (retry) { if (mode === 'rate') idle.push(c); else issue(c) }
      })
      c.closed = false
      c.ended = false
    }
    const issue = (c) => {
      if (stop || performance.now() >= endAt) { if (inflight === 0) finished(); return }
      const text = reqText()
      if (text === null) { if (inflight === 0) finished(); return }
      c.pending = true
      inflight++
      c.sent = performance.now()
      c.sock.write(text)
    }
    // Open loop (mode 'rate'): idle connections wait here for the pacer; a request due with none idle is lost.
    const issueOrPark = (c) => { if (mode === 'rate') idle.push(c); else issue(c) }
    const finish = (c, body, closing) => {
      if (!c.pending) return
      c.pending = false
      inflight--
      record(performance.now() - c.sent, body.includes('failure reason'), body.slice(0, 120))
      if (closing) { c.wantReopen = true; c.sock.destroy(); return }
      issueOrPark(c)
    }
    for (let j = 0; j < concurrency; j++) {
      const c = {}
      conns.push(c)
      open(c)
      issueOrPark(c)
    }
    let pacer
    if (mode === 'rate') {
      let sent = 0
      const t0 = performance.now()
      pacer = setInterval(() => {
        const now = performance.now()
        if (now >= endAt) { clearInterval(pacer); stop = true; setTimeout(() => finished(), 1000); return }
        const due = Math.floor(((now - t0) / 1000) * rate) - sent
        for (let j = 0; j < due; j++) {
          sent++
          let c = idle.pop()
          while (c && (c.closed || c.pending)) c = idle.pop()
          if (c) issue(c)
          else lost++
        }
      }, 2)
    }
    const timer = setInterval(() => {
      if (performance.now() >= endAt + 2000) { stop = true; finished() }
    }, 100)
    await finishedP
    clearInterval(timer)
    clearInterval(pacer)
    for (const c of conns) c.sock.destroy()
  }
  const elapsed = (performance.now() - started) / 1000
  return { done, errors, lost, elapsed, firstError, lat: lat.subarray(0, nLat) }
}

if (!isMainThread) {
  generator(workerData).then((r) => parentPort.postMessage(r), (err) => parentPort.postMessage({ error: String(err?.stack ?? err) }))
} else {
  await main()
}

// ---------------------------------------------------------------------------------------------------------------
// The orchestration.

/** The C generator (tracker-gen.c), compiled into bench/.cache on first use; undefined when there is no compiler. */
function cGenerator() {
  const ROOT = new URL('..', import.meta.url).pathname
  const bin = join(ROOT, 'bench', '.cache', 'tracker-gen')
  const src = join(ROOT, 'bench', 'tracker-gen.c')
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin
  mkdirSync(join(ROOT, 'bench', '.cache'), { recursive: true })
  const r = spawnSync('cc', ['-O2', '-o', bin, src], { stdio: 'inherit' })
  return r.status === 0 ? bin : undefined
}

/** UDP load from `procs` processes of the C generator; same result shape as runLoad. */
async function runLoadC(bin, cfg, procs) {
  const per = Math.floor(cfg.peers / procs)
  const results = await Promise.all(Array.from({ length: procs }, (_, w) => new Promise((resolve, reject) => {
    const count = w === procs - 1 ? cfg.peers - w * per : per
    const argv = [cfg.mode, cfg.host, String(cfg.port), String(cfg.torrents), String(w * per), String(count), String(cfg.duration ?? 0), String(Math.max(1, Math.floor(cfg.concurrency / procs))), String((cfg.rate ?? 0) / procs), String(cfg.numwant)]
    const c = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', (d) => { out += d })
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`tracker-gen exited ${code}`))))
  })))
  const done = results.reduce((a, r) => a + r.done, 0)
  const elapsed = Math.max(...results.map((r) => r.elapsed))
  return {
    done, perSec: done / elapsed, elapsed,
    genCpu: results.reduce((a, r) => a + r.cpu, 0) / elapsed,
    errors: results.reduce((a, r) => a + r.errors, 0),
    lost: results.reduce((a, r) => a + r.lost, 0),
    firstError: results.some((r) => r.errors) ? 'error packets' : '',
    // Per process percentiles: with several processes, the largest (an upper bound for the whole).
    p50: Math.max(...results.map((r) => r.p50)), p99: Math.max(...results.map((r) => r.p99)),
  }
}

async function runLoad(cfg, workers) {
  if (cfg.proto === 'udp' && cfg.cgen) return runLoadC(cfg.cgen, cfg, cfg.genProcs)
  const per = Math.floor(cfg.peers / workers)
  const cpu0 = process.cpuUsage() // this process: the generator threads
  const results = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise((resolve, reject) => {
    const wk = new Worker(new URL(import.meta.url), {
      workerData: { ...cfg, first: w * per, count: w === workers - 1 ? cfg.peers - w * per : per, concurrency: Math.max(1, Math.floor(cfg.concurrency / workers)), rate: cfg.rate / workers },
    })
    wk.once('message', (m) => { wk.terminate(); m.error ? reject(new Error(m.error)) : resolve(m) })
    wk.once('error', reject)
  })))
  const done = results.reduce((a, r) => a + r.done, 0)
  const elapsed = Math.max(...results.map((r) => r.elapsed))
  const all = new Float64Array(results.reduce((a, r) => a + r.lat.length, 0))
  let o = 0
  for (const r of results) { all.set(r.lat, o); o += r.lat.length }
  all.sort()
  const q = (p) => (all.length ? all[Math.min(all.length - 1, Math.floor(p * all.length))] : NaN)
  const cpu = process.cpuUsage(cpu0)
  return {
    done, perSec: done / elapsed, elapsed,
    genCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
    errors: results.reduce((a, r) => a + r.errors, 0),
    lost: results.reduce((a, r) => a + r.lost, 0),
    firstError: results.find((r) => r.firstError)?.firstError ?? '',
    p50: q(0.5), p99: q(0.99),
  }
}

function usage() {
  console.log(`usage: node bench/tracker.js [options]
  --trackers LIST     bt,opentracker,bittorrent-tracker (default: all)
  --protos LIST       udp,http (default: both)
  --torrents N        swarms in the load phases (default 10000)
  --peers N           virtual peers in the load phases (default 100000)
  --duration S        seconds per measured phase (default 5)
  --rounds N          measure every tracker N times, interleaved; compare the median rounds (default 1)
  --concurrency N     requests in flight at saturation (default 256 UDP; HTTP uses --connections)
  --connections N     HTTP connections (default 32)
  --rate N            offered announces/s in the fixed-load phase (default 10000 UDP, 3000 HTTP)
  --numwant N         peers asked per announce (default 50)
  --generator c|node  UDP load from the C generator (bench/tracker-gen.c, built with cc; default when cc works) or
                      from node threads (node's dgram costs as much per datagram as a fast tracker's announce)
  --gen-procs N       C generator processes (default 1)
  --gen-workers N     node generator threads (default 1; HTTP, and UDP with --generator node)
  --rss-peers N       peers for the memory phase (default 1000000; 0 skips it)
  --rss-torrents N    swarms for the memory phase (default 100000)
  --bt-workers LIST   bt's --workers values, each measured (default 0,1)
  --bt-io LIST        bt's UDP I/O: native (batched recvmmsg/sendmmsg, native/udp-batch; with --workers 0 replies
                      go out from a native send thread), nosend (native without that thread: --no-send-thread) and/or
                      dgram (BT_UDP_NATIVE=0), each measured (default native,dgram; named bt/wN, bt/wN-nosend, bt/wN-dgram)
  --bt-args "..."     extra arguments for bt tracker (e.g. "--memory")
  --bt-node-args "…"  node flags for bt's process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")`)
}

async function main() {
  const args = parseFlags(process.argv.slice(2))
  if (args.help) return usage()
  const ROOT = new URL('..', import.meta.url).pathname
  if (!existsSync(join(ROOT, 'dist', 'cmd', 'bt.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  // bt runs once per --bt-workers count (UDP threads) and --bt-io, named bt/wN[-dgram]; HTTP and memory do not
  // depend on them (one run, the first bt).
  const btWorkers = String(args['bt-workers'] ?? '0,1').split(',').map(Number)
  const btIo = String(args['bt-io'] ?? 'native,dgram').split(',')
  const trackers = (args.trackers ?? 'bt,opentracker,bittorrent-tracker').split(',').flatMap((t) => (t === 'bt' ? btIo.flatMap((io) => btWorkers.map((w) => `bt/w${w}${io === 'native' ? '' : `-${io}`}`)) : [t]))
  const protos = (args.protos ?? 'udp,http').split(',')
  const T = Number(args.torrents ?? 10_000)
  const P = Number(args.peers ?? 100_000)
  const duration = Number(args.duration ?? 5)
  const numwant = Number(args.numwant ?? 50)
  const genWorkers = Number(args['gen-workers'] ?? 1)
  const rssPeers = Number(args['rss-peers'] ?? 1_000_000)
  const rssTorrents = Number(args['rss-torrents'] ?? 100_000)
  const cgen = (args.generator ?? 'c') === 'c' ? cGenerator() : undefined
  if ((args.generator ?? 'c') === 'c' && !cgen) console.log('no C compiler: the UDP load comes from node threads')
  const genProcs = Number(args['gen-procs'] ?? 1)
  const work = mkdtempSync(join(tmpdir(), 'bt-bench-tracker-'))
  const children = new Set()
  const cleanup = () => { for (const c of children) try { c.kill('SIGKILL') } catch {} ; rmSync(work, { recursive: true, force: true }) }
  process.on('exit', cleanup)
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

  console.log(`tracker bench: ${trackers.join(', ')} over ${protos.join(', ')}; ${P} peers in ${T} torrents, ${duration} s phases, numwant ${numwant}, ${cgen ? `UDP load from ${genProcs} C generator process(es), HTTP from` : ''} ${genWorkers} node generator thread(s)`)
  console.log(`machine: ${spawnSync('nproc').stdout.toString().trim()} CPUs, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)

  const start = {
    async bt(port, nTorrents, workers = 0, dgram = false, nosend = false) {
      const extra = args['bt-args'] ? args['bt-args'].split(/\s+/).filter(Boolean) : []
      const nodeArgs = args['bt-node-args'] ? args['bt-node-args'].split(/\s+/).filter(Boolean) : []
      const c = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'bt.js'), 'tracker', '--host', '127.0.0.1', '--http-port', String(port), '--udp-port', String(port), '--state', join(work, `bt-${port}.db`), '--rate-limit', '0', '--workers', String(workers), '--json', ...(nosend ? ['--no-send-thread'] : []), ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(dgram ? { BT_UDP_NATIVE: '0' } : {}) } })
      return await readyOn(c, port, nTorrents)
    },
    async opentracker(port, nTorrents) {
      // Debian's opentracker is built whitelist-only: give it every bench hash. It chroots to the directory.
      const dir = join(work, `ot-${port}`)
      mkdirSync(dir)
      chmodSync(dir, 0o755)
      const lines = []
      for (let t = 0; t < nTorrents; t++) lines.push(infoHash(t).toString('hex'))
      writeFileSync(join(dir, 'whitelist'), lines.join('\n') + '\n')
      chmodSync(join(dir, 'whitelist'), 0o644)
      const c = spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-u', 'nobody', '-w', '/whitelist'], { stdio: ['ignore', 'ignore', 'pipe'] })
      return await readyOn(c, port, nTorrents)
    },
    async 'bittorrent-tracker'(port, nTorrents) {
      const cache = join(ROOT, 'bench', '.cache')
      const mod = join(cache, 'node_modules', 'bittorrent-tracker', 'server.js')
      if (!existsSync(mod)) {
        console.log('installing bittorrent-tracker 11 into bench/.cache (its WebRTC parts are left out: they do not build here)')
        const r = spawnSync('npm', ['install', '--prefix', cache, 'bittorrent-tracker@11', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'], { stdio: 'inherit' })
        if (r.status !== 0) throw new Error('npm install bittorrent-tracker failed')
      }
      // server.js only: the package's index pulls in the WebRTC client.
      const script = `import Server from ${JSON.stringify(mod)}
const s = new Server({ udp: true, http: true, ws: false, stats: false, trustProxy: false })
s.on('error', (e) => { console.error(String(e)); process.exit(1) })
s.on('warning', () => {})
s.listen({ http: ${port}, udp: ${port} }, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => console.log('ready'))`
      const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      return await readyOn(c, port, nTorrents)
    },
  }

  async function readyOn(c, port, nTorrents) {
    children.add(c)
    let err = ''
    c.stderr.on('data', (d) => { if (err.length < 4000) err += d })
    c.on('close', () => children.delete(c))
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      if (c.exitCode !== null) break
      if (await udpConnectOk(port)) {
        return { pid: c.pid, port, stop: async () => { c.kill('SIGTERM'); await new Promise((r) => { const t = setTimeout(() => { c.kill('SIGKILL'); r() }, 10_000); c.once('close', () => { clearTimeout(t); r() }) }) } }
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    c.kill('SIGKILL')
    throw new Error(`tracker on port ${port} did not start: ${err.trim()}`)
  }

  const launch = (name, port, n) => (name.startsWith('bt/w') ? start.bt(port, n, parseInt(name.slice(4), 10), name.endsWith('-dgram'), name.endsWith('-nosend')) : start[name](port, n))
  const results = []
  const rounds = Number(args.rounds ?? 1)
  // Rounds interleave the trackers (A B C A B C …): on a shared machine the load drifts, and the median round of
  // each tracker is compared, so no tracker gets only the quiet or only the busy minutes.
  for (let round = 1; round <= rounds; round++)
  for (const name of trackers) {
    if (name === 'opentracker' && spawnSync('sh', ['-c', 'command -v opentracker']).status !== 0) { console.log('opentracker: not installed, skipped'); continue }
    for (const proto of protos) {
      if (proto === 'http' && name.startsWith('bt/w') && name !== trackers.find((t) => t.startsWith('bt/w'))) continue
      const port = await freeBothPort()
      const tr = await launch(name, port, T)
      try {
        const base = { proto, host: '127.0.0.1', port, path: '/announce', torrents: T, peers: P, numwant, cgen, genProcs }
        const conc = proto === 'udp' ? Number(args.concurrency ?? 256) : Number(args.connections ?? 32)
        const fill = await runLoad({ ...base, mode: 'fill', concurrency: conc, numwant: 0 }, genWorkers)
        const cpu0 = cpuSeconds(tr.pid)
        const load = await runLoad({ ...base, mode: 'load', duration, concurrency: conc }, genWorkers)
        // CPU per answered announce: steadier than announces/s on a shared machine.
        load.cpuUs = ((cpuSeconds(tr.pid) - cpu0) / load.done) * 1e6
        const rate = Number(args.rate ?? (proto === 'udp' ? 10_000 : 3_000))
        const fixed = await runLoad({ ...base, mode: 'rate', duration, concurrency: conc, rate }, genWorkers)
        const scrape = await runLoad({ ...base, mode: 'scrape', duration: Math.max(2, duration / 2), concurrency: conc }, genWorkers)
        const rss = rssKiB(tr.pid)
        const r = { name, proto, fill, load, fixed, rate, scrape, rss }
        results.push(r)
        console.log(`${rounds > 1 ? `[${round}] ` : ''}${name.padEnd(18)} ${proto.padEnd(4)} fill ${fill.perSec.toFixed(0).padStart(6)}/s | saturated ${load.perSec.toFixed(0).padStart(6)} ann/s p99 ${load.p99.toFixed(1)} ms, ${load.cpuUs.toFixed(1)} CPU µs/ann (tracker ${((load.cpuUs * load.perSec) / 1e4).toFixed(0)} % of a core, generator ${(load.genCpu * 100).toFixed(0)} %) | at ${rate}/s: p50 ${fixed.p50.toFixed(2)} ms p99 ${fixed.p99.toFixed(2)} ms, ${fixed.done} answered, ${fixed.lost} lost | scrape(10) ${scrape.perSec.toFixed(0)}/s | errors ${load.errors + fixed.errors + fill.errors}${load.firstError || fill.firstError ? ` (${(load.firstError || fill.firstError).slice(0, 60)})` : ''} | RSS ${(rss / 1024).toFixed(0)} MiB`)
      } finally {
        await tr.stop()
      }
    }
  }

  const mem = []
  if (rssPeers > 0) {
    console.log(`\nmemory: ${rssPeers} peers in ${rssTorrents} torrents, announced over UDP with numwant=0`)
    for (const name of trackers) {
      // Memory: the first --bt-workers count, once per --bt-io.
      if (name.startsWith('bt/w') && parseInt(name.slice(4), 10) !== btWorkers[0]) continue
      const port = await freeBothPort()
      const tr = await launch(name, port, rssTorrents)
      try {
        const before = rssKiB(tr.pid)
        const fill = await runLoad({ proto: 'udp', host: '127.0.0.1', port, path: '/announce', torrents: rssTorrents, peers: rssPeers, numwant: 0, mode: 'fill', concurrency: 256, cgen, genProcs }, genWorkers)
        await new Promise((r) => setTimeout(r, 3000)) // let a background flush land
        const rss = rssKiB(tr.pid)
        mem.push({ name, rss, fill })
        console.log(`${name.padEnd(18)} RSS ${(before / 1024).toFixed(0)} MiB empty -> ${(rss / 1024).toFixed(0)} MiB with ${fill.done - fill.errors} peers announced (${fill.perSec.toFixed(0)}/s, ${fill.errors} errors, ${fill.lost} lost)`)
      } finally {
        await tr.stop()
      }
    }
  }

  // The median round of each tracker and protocol, by announces/s.
  const median = []
  for (const name of trackers) for (const proto of protos) {
    const rs = results.filter((r) => r.name === name && r.proto === proto).sort((a, b) => a.load.perSec - b.load.perSec)
    if (rs.length) median.push(rs[Math.floor((rs.length - 1) / 2)])
  }
  console.log(`\nsummary${rounds > 1 ? ` (median of ${rounds} rounds)` : ''}: saturated announces/s and tracker CPU µs per announce (all its threads)`)
  for (const r of median) console.log(`  ${r.name.padEnd(18)} ${r.proto.padEnd(4)} ${r.load.perSec.toFixed(0).padStart(7)} ann/s  ${r.load.cpuUs.toFixed(1).padStart(6)} µs/ann  generator ${(r.load.genCpu * 100).toFixed(0)} % of a core`)
  console.log('\nratios (bt / other):')
  for (const proto of protos) {
    for (const b of median.filter((r) => r.name.startsWith('bt/') && r.proto === proto)) {
    for (const r of median.filter((x) => x.proto === proto && !x.name.startsWith('bt/'))) {
      console.log(`  ${proto} ${b.name} vs ${r.name}: announces/s at saturation ${(b.load.perSec / r.load.perSec).toFixed(2)}x, tracker CPU per announce ${(b.load.cpuUs / r.load.cpuUs).toFixed(2)}x, p99 at ${b.rate}/s ${(b.fixed.p99 / r.fixed.p99).toFixed(2)}x, scrapes/s ${(b.scrape.perSec / r.scrape.perSec).toFixed(2)}x`)
    }
    }
  }
  const bm = mem.find((m) => m.name.startsWith('bt/'))
  if (bm) for (const m of mem.filter((x) => !x.name.startsWith('bt/'))) console.log(`  RSS with ${rssPeers} peers vs ${m.name}: ${(bm.rss / m.rss).toFixed(2)}x (${(bm.rss / 1024).toFixed(0)} vs ${(m.rss / 1024).toFixed(0)} MiB)`)
}

function parseFlags(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--help' || a === '-h') out.help = true
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1)
      else out[a.slice(2)] = argv[++i]
    }
  }
  return out
}

/** User + system CPU seconds of a process (all its threads), from /proc. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}

function rssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  } catch {
    return NaN
  }
}

/** A port free for both TCP and UDP on 127.0.0.1 right now. */
async function freeBothPort() {
  for (let i = 0; i < 50; i++) {
    const srv = net.createServer()
    const port = await new Promise((resolve, reject) => { srv.once('error', reject); srv.listen(0, '127.0.0.1', () => resolve(srv.address().port)) })
    const sock = dgram.createSocket('udp4')
    const ok = await new Promise((resolve) => { sock.once('error', () => resolve(false)); sock.bind(port, '127.0.0.1', () => resolve(true)) })
    await new Promise((r) => srv.close(r))
    try { sock.close() } catch {}
    if (ok) return port
  }
  throw new Error('no free port')
}

function udpConnectOk(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    const b = Buffer.alloc(16)
    b.writeBigUInt64BE(PROTOCOL_ID, 0)
    b.writeUInt32BE(0, 8)
    b.writeUInt32BE(42, 12)
    const t = setTimeout(() => { s.close(); resolve(false) }, 200)
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m.length >= 16 && m.readUInt32BE(0) === 0) })
    s.on('error', () => {})
    s.send(b, port, '127.0.0.1')
  })
}
