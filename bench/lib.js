// Shared pieces of the benches: sizes, random payloads, timing a process with GNU time, md5, a local opentracker,
// python3-libtorrent peers (test/helpers/lt_node.py), and the webtorrent-cli install under bench/.cache.
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync, chmodSync } from 'node:fs'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import http from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BT = join(ROOT, 'bin', 'bt.js')
/** The node flags of bin/bt.js's #! line: a bench that runs `node bin/bt.js` measures what `bt` users run. */
export const BT_NODE_FLAGS = (/^#!.*?\bnode\b(.*)$/m.exec(readFileSync(BT, 'utf8').split('\n')[0])?.[1] ?? '').trim().split(/\s+/).filter(Boolean)
export const LT_SCRIPT = join(ROOT, 'test', 'helpers', 'lt_node.py')
export const LT_PYTHON = process.env.BT_LT_PYTHON || '/usr/bin/python3'
export const MiB = 1024 * 1024

/** '1G', '256M', '512k', '1048576' -> bytes. */
export function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(String(s).trim())
  if (!m) throw new Error(`bad size: ${s}`)
  const mult = { '': 1, k: 1024, m: MiB, g: 1024 * MiB, t: 1024 * 1024 * MiB }[m[2].toLowerCase()]
  return Math.round(Number(m[1]) * mult)
}

export function fmtSize(n) {
  return n >= 1024 * MiB ? `${+(n / 1024 / MiB).toFixed(2)} GiB` : `${+(n / MiB).toFixed(1)} MiB`
}

/** Minimal --flag value / --flag parser: returns { flags, positional }. */
/**
 * A deterministic xorshift32 generator for synthetic bench data: rnd() in [0, 1), int(a, b) inclusive, pick(list),
 * reseed(n) to replay the same sequence.
 */
export function seededRandom(seed) {
  let s = seed >>> 0
  const rnd = () => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s / 4294967296
  }
  const reseed = (n) => { s = n >>> 0 }
  return { rnd, int: (a, b) => a + Math.floor(rnd() * (b - a + 1)), pick: (xs) => xs[Math.floor(rnd() * xs.length)], reseed }
}

/** --help: print the bench's leading comment block (after the #! line) and exit. */
export function printHelpAndExit(moduleUrl) {
  const lines = readFileSync(new URL(moduleUrl), 'utf8').split('\n').slice(1)
  const head = []
  for (const l of lines) {
    if (!l.startsWith('//')) break
    head.push(l.replace(/^\/\/ ?/, ''))
  }
  process.stdout.write(head.join('\n') + '\n')
  process.exit(0)
}

export function parseArgs(argv, booleans = []) {
  const flags = {}
  const positional = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) { positional.push(a); continue }
    const [k, v] = a.slice(2).split(/=(.*)/s, 2)
    if (v !== undefined) flags[k] = v
    else if (booleans.includes(k)) flags[k] = true
    else flags[k] = argv[++i]
  }
  return { flags, positional }
}

export function ensureBuilt() {
  if (!existsSync(join(ROOT, 'dist', 'cmd', 'bt.js'))) throw new Error('dist/ is missing: run `npm run build` first')
}

export function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

/** Random file written in 64 MiB chunks (crypto.randomFillSync is ~1 GiB/s; a seeded PRNG in JS would be slower). */
export function writeRandomFile(path, size) {
  const chunk = Buffer.allocUnsafe(Math.min(size, 64 * MiB))
  const fd = openSync(path, 'w')
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(chunk.length, size - done)
      randomFillSync(chunk, 0, n)
      writeSync(fd, chunk, 0, n)
      done += n
    }
  } finally {
    closeSync(fd)
  }
}

export function md5File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('md5')
    createReadStream(path, { highWaterMark: 4 * MiB })
      .on('error', reject)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
  })
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const children = new Set()
function track(child) {
  children.add(child)
  child.on('close', () => children.delete(child))
  return child
}
export function killAll() {
  for (const c of children) { try { c.kill('SIGKILL') } catch {} }
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130) })

/** A random payload of `size` bytes at work/seed/payload.bin, hashed; logs how long that took. */
export async function makePayload(work, size) {
  const seedDir = join(work, 'seed')
  mkdirSync(seedDir)
  const file = join(seedDir, 'payload.bin')
  const t = Date.now()
  writeRandomFile(file, size)
  const srcMd5 = await md5File(file)
  console.log(`random payload written and hashed in ${((Date.now() - t) / 1000).toFixed(1)} s (md5 ${srcMd5})`)
  return { seedDir, file, srcMd5 }
}

/** The figures GNU time wrote with `-f '%e %U %S %M'` (and removes the file): seconds, KiB. NaN when missing. */
export function readTimeFile(tf) {
  let t = ['NaN', 'NaN', 'NaN', 'NaN']
  try {
    // GNU time prefixes "Command exited with non-zero status N" lines; the figures are on the last line.
    t = readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ')
    rmSync(tf, { force: true })
  } catch {}
  const [wall, user, sys, rss] = t.map(Number)
  return { wall, user, sys, cpu: user + sys, rssKiB: rss }
}

/**
 * Re-runs `script` (this bench) with the same arguments inside a fresh network namespace holding only `lo`
 * (ip netns add; nsenter — needs root), so nothing a client does can leave the machine, and removes the namespace
 * afterwards. Resolves { code } with the inner run's exit code, or { unavailable: reason } when no namespace could
 * be made (the caller then runs on the host). With `forwardSignals`, SIGINT/SIGTERM go to the inner run, which
 * cleans up (mounts) before the namespace is removed.
 */
export async function reexecInNetns(prefix, script, { env = {}, forwardSignals = false } = {}) {
  const ns = `${prefix}-${process.pid}`
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' })
  if (add.status !== 0) return { unavailable: `no network namespace (ip netns add: ${(add.stderr || add.error?.message || '').trim()})` }
  let deleted = false
  const cleanup = () => { if (!deleted) { deleted = true; spawnSync('ip', ['netns', 'del', ns]) } }
  process.on('exit', cleanup) // SIGINT/SIGTERM become process.exit (below)
  try {
    const up = spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' })
    if (up.status !== 0) throw new Error(`ip link set lo up: ${up.stderr}`)
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, fileURLToPath(script), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, ...env, BT_BENCH_NETNS: ns },
    })
    if (forwardSignals) {
      for (const sig of ['SIGINT', 'SIGTERM']) {
        process.removeAllListeners(sig)
        process.on(sig, () => child.kill(sig))
      }
    }
    return { code: await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1))) }
  } finally {
    cleanup()
  }
}

/**
 * Runs cmd under GNU time; resolves { code, wall, user, sys, cpu, rssKiB, output, timedOut }.
 * `wall` is the whole process's wall time in seconds (startup included), as a user would see it.
 */
export function timed(cmd, args, { timeoutMs = 600_000, cwd, env, stdin = 'ignore' } = {}) {
  const tf = join(fileURLToPath(new URL('.', import.meta.url)), '.cache', `time-${process.pid}-${Date.now()}.txt`)
  mkdirSync(join(ROOT, 'bench', '.cache'), { recursive: true })
  return new Promise((resolve, reject) => {
    const child = track(spawn('/usr/bin/time', ['-o', tf, '-f', '%e %U %S %M', cmd, ...args], { cwd, env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] }))
    let output = ''
    const keep = (d) => { output = (output + d).slice(-20_000) }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('error', (e) => { clearTimeout(timer); reject(e) })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, ...readTimeFile(tf), output, timedOut })
    })
  })
}

/** Debian opentracker on 127.0.0.1:port (HTTP+UDP) serving the whitelisted hashes; resolves once it accepts them. */
export async function startOpentracker(port, infoHashesHex, dir) {
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755) // it chroots here and reads the whitelist as nobody
  writeFileSync(join(dir, 'whitelist'), infoHashesHex.join('\n') + '\n')
  chmodSync(join(dir, 'whitelist'), 0o644)
  const child = track(spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-u', 'nobody', '-w', '/whitelist'], { stdio: ['ignore', 'ignore', 'pipe'] }))
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  const ih = infoHashesHex[0].replace(/../g, '%$&')
  const probe = `http://127.0.0.1:${port}/announce?info_hash=${ih}&peer_id=-ZZ0000-benchprobe00&port=1&uploaded=0&downloaded=0&left=0&numwant=0&compact=1&event=stopped`
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break
    const body = await new Promise((resolve) => {
      http.get(probe, { agent: false, timeout: 500 }, (res) => {
        let b = ''
        res.on('data', (d) => { b += d })
        res.on('end', () => resolve(b))
      }).on('error', () => resolve('')).on('timeout', function () { this.destroy() })
    })
    if (body.includes('interval')) return { port, url: `http://127.0.0.1:${port}/announce`, stop: () => child.kill('SIGKILL') }
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`opentracker did not start on port ${port}: ${stderr.trim()}`)
}

/** A python3-libtorrent peer; resolves once it reports `ready` (a seeder: checked, seeding and announced). */
export function startLtPeer(cfg) {
  const child = track(spawn(LT_PYTHON, [LT_SCRIPT, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] }))
  child.stdin.on('error', () => {})
  let log = ''
  child.stderr.on('data', (d) => { log += d })
  let stats = {}
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`libtorrent peer not ready in 10 min:\n${log}`)) }, 600_000)
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`libtorrent peer exited (${code}):\n${log}`)) })
    let port = 0
    createInterface({ input: child.stdout }).on('line', (line) => {
      let e
      try { e = JSON.parse(line) } catch { return }
      if (e.ev !== 'progress') log += line + '\n'
      if (e.ev === 'listening') port = e.port
      if (e.ev === 'progress') stats = e
      if (e.ev === 'ready') {
        clearTimeout(timer)
        resolve({ port, pid: child.pid, stats: () => stats, stop: () => { child.stdin.end(); child.kill('SIGKILL') } })
      }
    })
  })
}

/**
 * webtorrent-cli in bench/.cache/webtorrent (never a project dependency). It installs here only with overrides:
 * ip-set pinned to 2.2.0, and webrtc-polyfill replaced by an empty local package (the real one fetches a native
 * library at install time; TCP/uTP need none of it). Returns the binary's path; throws with npm's message on failure.
 */
export function ensureWebtorrent() {
  const dir = join(ROOT, 'bench', '.cache', 'webtorrent')
  const bin = join(dir, 'node_modules', '.bin', 'webtorrent')
  if (existsSync(bin)) return bin
  mkdirSync(join(dir, 'webrtc-polyfill-stub'), { recursive: true })
  // simple-peer imports these three by name; undefined makes it report "no WebRTC support", as in a browserless node.
  writeFileSync(join(dir, 'webrtc-polyfill-stub', 'package.json'), JSON.stringify({ name: 'webrtc-polyfill', version: '1.0.0', type: 'module', main: 'index.js' }, null, 2))
  writeFileSync(join(dir, 'webrtc-polyfill-stub', 'index.js'), 'export const RTCPeerConnection = undefined\nexport const RTCSessionDescription = undefined\nexport const RTCIceCandidate = undefined\n')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: 'bt-bench-webtorrent',
    private: true,
    dependencies: { 'webtorrent-cli': '^6' },
    overrides: { 'ip-set': '2.2.0', 'webrtc-polyfill': 'file:./webrtc-polyfill-stub' },
  }, null, 2))
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0 || !existsSync(bin)) throw new Error(`npm install webtorrent-cli failed: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-5).join(' / ')}`)
  return bin
}

/**
 * `bt serve` on free ports with no DHT, its state in `state` and downloads in `downloadDir`; resolves once it prints
 * its URL: { url, pid, stop } (stop: SIGTERM, resolves on exit). `children` gets the process (for an exit-time kill).
 */
export async function startServe({ state, downloadDir, args = [], nodeArgs = [], children }) {
  const child = spawn(process.execPath, [...BT_NODE_FLAGS, ...nodeArgs, BT, 'serve', '--port', '0', '--peer-port', '0', '--no-dht', '--download-dir', downloadDir, ...args], {
    env: { ...process.env, XDG_DATA_HOME: state, BT_DHT_BOOTSTRAP: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children?.add(child)
  child.on('close', () => children?.delete(child))
  let err = ''
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000) })
  // BT_TRACE_STREAM=1: bt's streaming timeline (src/session/stream-trace.ts) goes to the bench's stderr.
  if (process.env.BT_TRACE_STREAM) child.stderr.on('data', (d) => process.stderr.write(d))
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => resolve(l.trim()))
    child.once('close', (code) => reject(new Error(`bt serve exited ${code}: ${err}`)))
  })
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('close', resolve)
    child.kill('SIGTERM')
  })
  return { url, pid: child.pid, stop }
}

