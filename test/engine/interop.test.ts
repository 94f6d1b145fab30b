// bt against real clients on 127.0.0.1: `bt download` from a libtorrent seeder through opentracker (HTTP and UDP),
// libtorrent and aria2c downloading from `bt seed`. transmission-cli is in transmission.test.ts (it is slow).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { BT, bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, type TestTorrent } from '../helpers/swarm.js'
import { startOpentracker, type Opentracker } from '../helpers/opentracker.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { assertSameMd5, runAria2 } from '../helpers/clients.js'
import { within } from '../helpers/wait.js'

const MiB = 1024 * 1024

// --- a long-running bt child (bt seed) ---------------------------------------------------------------------------

interface BtChild {
  child: ChildProcess
  events: Array<Record<string, any>>
  /** Resolves with the first JSON event of this name on stdout. */
  event(name: string, ms: number): Promise<Record<string, any>>
  output(): string
  stop(): Promise<void>
}

const children = new Set<ChildProcess>()
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

function spawnBt(args: string[], env: NodeJS.ProcessEnv): BtChild {
  const child = spawn(process.execPath, [BT, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const events: Array<Record<string, any>> = []
  let text = ''
  const waiters: Array<() => void> = []
  const exited = new Promise<void>((resolve) => child.on('close', () => { children.delete(child); resolve(); for (const w of waiters.splice(0)) w() }))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (text.length < 64 * 1024) text += line + '\n'
    try { events.push(JSON.parse(line)) } catch { return }
    for (const w of waiters.splice(0)) w()
  })
  child.stderr!.on('data', (d) => { if (text.length < 64 * 1024) text += d })
  return {
    child,
    events,
    output: () => text,
    event(name, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${name}" event from bt ${args[0]} after ${ms} ms:\n${text}`)), ms)
        const check = () => {
          const e = events.find((x) => x.event === name)
          if (e) { clearTimeout(timer); resolve(e) } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer)
            reject(new Error(`bt ${args[0]} exited (${child.exitCode ?? child.signalCode}) before "${name}":\n${text}`))
          } else waiters.push(check)
        }
        check()
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}

/** A fresh XDG_DATA_HOME so resume state never touches the real home. */
function xdg(): NodeJS.ProcessEnv {
  return { XDG_DATA_HOME: tmpDir('bt-xdg-') }
}



function rate(bytes: number, ms: number): string {
  return `${((bytes / MiB) / (ms / 1000)).toFixed(1)} MiB/s`
}

const stoppers: Array<{ stop(): Promise<void> }> = []
test.after.each(async () => {
  await Promise.allSettled(stoppers.splice(0).reverse().map((s) => s.stop()))
})

/** A torrent announcing to a fresh opentracker (over `proto`) that whitelists it. */
async function tracked(sizes: number[], proto: 'http' | 'udp', seed: number): Promise<{ tt: TestTorrent; tracker: Opentracker; url: string }> {
  const tracker = await startOpentracker([])
  stoppers.push(tracker)
  const url = proto === 'http' ? tracker.httpUrl : tracker.udpUrl
  const tt = await makeTestTorrent(sizes, { pieceLength: 256 * 1024, seed, trackers: [[url]] })
  await tracker.allow([tt.metainfo.infoHash])
  return { tt, tracker, url }
}

// --- bt downloads from libtorrent ----------------------------------------------------------------------------------

async function btFromLibtorrent(sizes: number[], proto: 'http' | 'udp', seed: number): Promise<void> {
  const { tt } = await tracked(sizes, proto, seed)
  const lt: LtHandle = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true })
  stoppers.push(lt)
  assert.ok(lt.log().includes('tracker_reply'), 'libtorrent announced to opentracker')
  const out = tmpDir('bt-out-')
  const started = Date.now()
  const r = await bt(['download', tt.torrentPath, '-o', out, '--port', '0', '--json'], { env: xdg(), timeoutMs: 30_000 })
  const ms = Date.now() - started
  assert.is(r.code, 0, r.stderr + r.stdout)
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  const added = events.find((e) => e.event === 'added')
  const done = events.find((e) => e.event === 'done')
  assert.ok(added && done, r.stdout)
  const inProcess = Date.parse(done.time) - Date.parse(added.time)
  await assertSameMd5(tt, out)
  assert.ok(lt.stats().uploaded >= tt.metainfo.length || (await waitUploaded(lt, tt.metainfo.length)), 'libtorrent uploaded the payload')
  console.error(`  bt <- libtorrent (${proto}, ${sizes.length} files, ${(tt.metainfo.length / MiB).toFixed(1)} MiB): ${ms} ms wall; added -> done ${inProcess} ms = ${rate(tt.metainfo.length, inProcess)}`)
}

/** libtorrent's counters lag a progress interval behind. */
async function waitUploaded(lt: LtHandle, bytes: number): Promise<boolean> {
  for (let i = 0; i < 40 && lt.stats().uploaded < bytes; i++) await new Promise((r) => setTimeout(r, 100))
  return lt.stats().uploaded >= bytes
}

test('bt download from a libtorrent seeder through opentracker over HTTP, single file', async () => {
  await btFromLibtorrent([8 * MiB + 12345], 'http', 41)
})

test('bt download from a libtorrent seeder through opentracker over UDP, multi-file', async () => {
  await btFromLibtorrent([1 * MiB + 17, 2 * MiB - 5, 999, 0, 700_000], 'udp', 42)
})

test('bt download from a libtorrent seeder through opentracker over UDP, single file', async () => {
  await btFromLibtorrent([3 * MiB + 1], 'udp', 43)
})

test('bt download from a libtorrent seeder through opentracker over HTTP, multi-file', async () => {
  await btFromLibtorrent([300_000, 1 * MiB, 2 * MiB + 3], 'http', 44)
})

// --- others download from bt seed ----------------------------------------------------------------------------------

async function btSeeder(tt: TestTorrent, extra: string[] = []): Promise<{ port: number; magnet: string; seeder: BtChild }> {
  const seeder = spawnBt(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--json', ...extra], xdg())
  stoppers.push(seeder)
  const e = await seeder.event('seeding', 15_000)
  assert.is(e.have, tt.metainfo.length)
  return { port: e.port, magnet: e.magnet, seeder }
}

test('libtorrent leecher downloads from bt seed through opentracker (HTTP)', async () => {
  const { tt } = await tracked([4 * MiB + 3], 'http', 45)
  await btSeeder(tt)
  const out = tmpDir('lt-out-')
  const started = Date.now()
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: out })
  stoppers.push(lt)
  await within(lt.done, 20_000, () => lt.log().slice(-2000))
  console.error(`  libtorrent <- bt seed: ${Date.now() - started} ms`)
  assert.ok(lt.log().includes('"tracker_reply"'), 'libtorrent found bt through the tracker')
  await assertSameMd5(tt, out)
})

test('libtorrent leecher downloads a multi-file torrent from bt seed through opentracker (UDP)', async () => {
  const { tt } = await tracked([500_000, 1 * MiB + 5, 77], 'udp', 46)
  await btSeeder(tt)
  const out = tmpDir('lt-out-')
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: out })
  stoppers.push(lt)
  await within(lt.done, 20_000, () => lt.log().slice(-2000))
  await assertSameMd5(tt, out)
})

test('aria2c downloads from bt seed (torrent file, --bt-tracker)', async () => {
  const { tt, url } = await tracked([4 * MiB - 7], 'http', 47)
  await btSeeder(tt)
  const out = tmpDir('aria2-out-')
  const r = await runAria2({ torrentOrMagnet: tt.torrentPath, dir: out, tracker: url, timeoutMs: 25_000 })
  assert.is(r.code, 0, r.output.slice(-2000))
  console.error(`  aria2c <- bt seed: ${r.ms} ms`)
  await assertSameMd5(tt, out)
})

test('aria2c downloads from bt seed by magnet (metadata from bt over ut_metadata)', async () => {
  const { tt, url } = await tracked([2 * MiB + 9], 'http', 48)
  const { magnet } = await btSeeder(tt)
  const out = tmpDir('aria2-out-')
  const r = await runAria2({ torrentOrMagnet: magnet, dir: out, tracker: url, timeoutMs: 25_000 })
  assert.is(r.code, 0, r.output.slice(-2000))
  await assertSameMd5(tt, out)
})

test.run()
