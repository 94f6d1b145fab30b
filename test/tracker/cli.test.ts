// `bt tracker` as a user runs it: state survives SIGTERM (nothing lost) and kill -9 (all but the last second),
// usage errors and a busy port give one-line errors with the right exit codes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { bt, killSpawned, spawnBt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor, within } from '../helpers/wait.js'
import { httpAnnounce, httpScrape } from '../../src/discovery/tracker-http.js'
import { udpAnnounce, udpScrape } from '../../src/discovery/tracker-udp.js'

const IH = Buffer.alloc(20, 0x42)
const IH2 = Buffer.alloc(20, 0x43)

test.after.each(() => killSpawned())

async function startCli(state: string, extra: string[] = []) {
  const p = spawnBt(['tracker', '--http-port', '0', '--udp-port', '0', '--state', state, '--json', ...extra])
  const ev = await waitFor('the listening line', () => p.events.find((e) => e.event === 'listening'), 15_000).catch((err) => {
    throw new Error(`${err.message}: ${p.stderr()}`)
  })
  return { ...p, http: ev!.http[0] as string, udp: ev!.udp[0] as string, restored: ev!.restored as { peers: number } }
}

const peer = (n: number) => Buffer.from(`-XX0001-${String(n).padStart(12, '0')}`)
const base = { uploaded: 0, downloaded: 0 }

test('SIGTERM saves everything; a restart restores swarms, peers and completed counts', async () => {
  const state = join(tmpDir('bt-trk-'), 'sub', 'tracker.db')
  let t = await startCli(state)
  await httpAnnounce(t.http, { ...base, infoHash: IH, peerId: peer(1), port: 7001, left: 5, event: 'started' })
  await httpAnnounce(t.http, { ...base, infoHash: IH, peerId: peer(2), port: 7002, left: 5, event: 'started' })
  await httpAnnounce(t.http, { ...base, infoHash: IH, peerId: peer(2), port: 7002, left: 0, event: 'completed' })
  await udpAnnounce(t.udp, { ...base, infoHash: IH2, peerId: peer(3), port: 7003, left: 0, event: 'started' })
  const before = await httpScrape(t.http, [IH, IH2])
  t.child.kill('SIGTERM')
  const exit = await within(t.exit, 10_000, 'tracker exit after SIGTERM')
  assert.is(exit.code, 0, t.stderr())
  t = await startCli(state)
  assert.is(t.restored.peers, 3)
  const after = await httpScrape(t.http, [IH, IH2])
  assert.equal(after, before)
  assert.equal(after.get(IH.toString('hex')), { complete: 1, incomplete: 1, downloaded: 1 })
  // The restored peers are handed out again.
  const r = await udpAnnounce(t.udp, { ...base, infoHash: IH, peerId: peer(4), port: 7004, left: 5, event: 'started' })
  assert.equal(r.peers.map((p) => p.port).sort(), [7001, 7002])
  t.child.kill('SIGINT')
  assert.is((await within(t.exit, 10_000, 'exit after SIGINT')).code, 130)
})

test('kill -9 loses at most the last moments; peers that stopped stay gone', async () => {
  const state = join(tmpDir('bt-trk-'), 'tracker.db')
  let t = await startCli(state)
  for (let i = 1; i <= 5; i++) await httpAnnounce(t.http, { ...base, infoHash: IH, peerId: peer(i), port: 7000 + i, left: 5, event: 'started' })
  await httpAnnounce(t.http, { ...base, infoHash: IH, peerId: peer(1), port: 7001, left: 0, event: 'completed' })
  await httpAnnounce(t.http, { ...base, infoHash: IH, peerId: peer(5), port: 7005, left: 5, event: 'stopped' })
  await new Promise((r) => setTimeout(r, 2500)) // the state is flushed every second
  t.child.kill('SIGKILL')
  await t.exit
  t = await startCli(state)
  assert.is(t.restored.peers, 4)
  assert.equal((await udpScrape(t.udp, [IH])).get(IH.toString('hex')), { complete: 1, incomplete: 3, downloaded: 1 })
})

test('usage errors and a busy port: one line, exit codes 2 and 3', async () => {
  const dir = tmpDir('bt-trk-')
  let r = await bt(['tracker', '--interval', '0', '--memory'])
  assert.is(r.code, 2)
  assert.match(r.stderr, /--interval must be an integer/)
  r = await bt(['tracker', '--http-port', '-1', '--udp-port', '-1', '--memory'])
  assert.is(r.code, 2)
  const t = await startCli(join(dir, 'a.db'))
  const port = new URL(t.http).port
  r = await bt(['tracker', '--http-port', port, '--udp-port', '-1', '--state', join(dir, 'b.db')], { timeoutMs: 15_000 })
  assert.is(r.code, 3, r.stderr)
  assert.match(r.stderr, /cannot listen for HTTP on 127\.0\.0\.1:\d+: address in use/)
  assert.is(r.stderr.trim().split('\n').length, 1)
  r = await bt(['tracker', '--whitelist', join(dir, 'missing'), '--memory'])
  assert.is(r.code, 2)
  assert.match(r.stderr, /no such file or directory/)
  r = await bt(['tracker', '--help'])
  assert.is(r.code, 0)
  assert.match(r.stdout, /--peer-timeout/)
})

test.run()
