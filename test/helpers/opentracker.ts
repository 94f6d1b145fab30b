// A real tracker for tests: Debian's opentracker on 127.0.0.1 (HTTP and UDP on one port), serving a whitelist of
// info hashes, killed on stop() and when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import dgram from 'node:dgram'
import http from 'node:http'
import { tmpDir } from './tmp.js'

export interface Opentracker {
  port: number
  /** http://127.0.0.1:PORT/announce */
  httpUrl: string
  /** udp://127.0.0.1:PORT/announce */
  udpUrl: string
  /** Replace the whitelist (hex info hashes) and wait until opentracker serves the new one. */
  allow(infoHashesHex: string[]): Promise<void>
  stop(): Promise<void>
}

const alive = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of alive) {
    try { child.kill('SIGKILL') } catch {}
  }
})

export async function startOpentracker(infoHashesHex: string[]): Promise<Opentracker> {
  // opentracker chroots to the directory and then reads the whitelist as `nobody`.
  const dir = tmpDir('bt-opentracker-')
  chmodSync(dir, 0o755)
  const whitelist = join(dir, 'whitelist')
  let canary = writeWhitelist(whitelist, infoHashesHex)

  let lastError = ''
  for (let attempt = 0; attempt < 8; attempt++) {
    const port = await freePort()
    const child = spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-u', 'nobody', '-w', '/whitelist'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    alive.add(child)
    let stderr = ''
    child.stderr!.on('data', (d) => { if (stderr.length < 4096) stderr += d })
    let exited = false
    const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; alive.delete(child); resolve() }))
    child.once('error', (err) => { stderr += String(err); exited = true; alive.delete(child) })

    const ready = await waitUntil(() => exited ? Promise.resolve('dead') : announceOk(port, canary), 5000)
    // opentracker binds with SO_REUSEPORT, so a second one on the same port starts fine and steals half the
    // traffic: make sure we are alone on this port, else try another.
    if (ready && !exited && listeners(port, 'tcp') === 1 && listeners(port, 'udp') === 1) {
      const stop = async () => {
        if (exited) return
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 2000)
        await exit
        clearTimeout(t)
      }
      return {
        port,
        httpUrl: `http://127.0.0.1:${port}/announce`,
        udpUrl: `udp://127.0.0.1:${port}/announce`,
        async allow(hashes: string[]) {
          canary = writeWhitelist(whitelist, hashes)
          child.kill('SIGHUP')
          if (!(await waitUntil(() => announceOk(port, canary), 5000))) throw new Error('opentracker did not reload its whitelist')
        },
        stop,
      }
    }
    lastError = exited ? `exited: ${stderr.trim()}` : ready ? `port ${port} shared with another process` : 'did not answer within 5 s'
    if (!exited) child.kill('SIGKILL')
    await exit
  }
  throw new Error(`could not start opentracker: ${lastError}`)
}

/** Writes the whitelist plus a fresh canary hash (returned) whose acceptance shows the list is loaded. */
function writeWhitelist(path: string, hashes: string[]): string {
  const canary = randomBytes(20).toString('hex')
  for (const h of hashes) if (!/^[0-9a-fA-F]{40}$/.test(h)) throw new Error(`not a hex info hash: ${h}`)
  writeFileSync(path, [...hashes.map((h) => h.toLowerCase()), canary].join('\n') + '\n')
  chmodSync(path, 0o644)
  return canary
}

/** A port free for TCP and UDP on 127.0.0.1 at this moment. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const srv = net.createServer()
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject)
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port))
    })
    const sock = dgram.createSocket('udp4')
    const udpOk = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false))
      sock.bind(port, '127.0.0.1', () => resolve(true))
    })
    await new Promise<void>((resolve) => srv.close(() => resolve()))
    if (udpOk) await new Promise<void>((resolve) => sock.close(() => resolve()))
    else try { sock.close() } catch {}
    if (udpOk) return port
  }
  throw new Error('no port free for both TCP and UDP')
}

/** How many sockets listen on 127.0.0.1:port (TCP in LISTEN state, or bound UDP). */
function listeners(port: number, proto: 'tcp' | 'udp'): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  let n = 0
  for (const line of readFileSync(`/proc/net/${proto}`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f[1] === local && (proto === 'udp' || f[3] === '0A')) n++
  }
  return n
}

/** Announce the canary hash and withdraw it again; true when opentracker accepted it (whitelist loaded). */
async function announceOk(port: number, canaryHex: string): Promise<boolean> {
  const ih = Buffer.from(canaryHex, 'hex').toString('latin1').split('').map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('')
  const peer = '-ZZ0000-canarycanary'
  const q = `info_hash=${ih}&peer_id=${peer}&port=1&uploaded=0&downloaded=0&left=1&compact=1&numwant=0`
  const body = await httpGet(`http://127.0.0.1:${port}/announce?${q}&event=started`)
  if (body === undefined || !body.includes('8:interval') || body.includes('failure reason')) return false
  await httpGet(`http://127.0.0.1:${port}/announce?${q}&event=stopped`)
  return true
}

function httpGet(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d) => { if (body.length < 65536) body += d })
      res.on('end', () => resolve(body))
      res.on('error', () => resolve(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
  })
}

async function waitUntil(check: () => Promise<boolean | 'dead'>, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const r = await check()
    if (r === 'dead') return false
    if (r) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}
