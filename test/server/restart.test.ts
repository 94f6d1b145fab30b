// bt serve keeps its torrents across restarts, kill -9 included: a complete one, a paused one, one half downloaded
// and a magnet still without metadata all come back with their ids, settings and verified pieces (nothing fetched
// again: the restarted daemon has no peers at first), then the half one completes with the right md5.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { delay } from '../helpers/wait.js'
import { startServe, http, pollJson, rpc, KiB, MiB, type Serve } from './helpers.js'

let done: TestTorrent
let paused: TestTorrent
let half: TestTorrent
let peers: string[]
const ghost = '12'.repeat(20)

const timer = setTimeout(() => {
  console.error('restart.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
timer.unref()

test.before(async () => {
  done = await makeTestTorrent([500 * KiB + 1], { pieceLength: 32 * KiB, seed: 71, name: 'done.bin' })
  paused = await makeTestTorrent([300 * KiB], { pieceLength: 32 * KiB, seed: 72, name: 'paused.bin' })
  half = await makeTestTorrent([6 * MiB], { pieceLength: 64 * KiB, seed: 73, name: 'half.bin' })
  peers = (await Promise.all([seedWith(done), seedWith(paused), seedWith(half)])).map((p) => p.addr)
})

test.after(async () => {
  await stopAll()
})

test('kill -9 with torrents in every state, restart, everything resumes without re-fetching', async () => {
  const withPeers = peers.flatMap((p) => ['--peer', p])
  let s: Serve = await startServe({ args: withPeers })
  const api = (p: string) => `${s.url}/api/v1${p}`
  try {
    const add = async (body: object) => {
      const r = await http(api('/torrents'), { body })
      assert.is(r.status, 201, r.text)
      return r.json
    }
    const a = await add({ uri: `magnet:?xt=urn:btih:${done.metainfo.infoHash}`, labels: ['keep'] })
    const b = await add({ uri: `magnet:?xt=urn:btih:${paused.metainfo.infoHash}`, paused: true })
    // 512 KiB/s: half.bin takes 12 s, so it is caught part way.
    const c = await add({ uri: `magnet:?xt=urn:btih:${half.metainfo.infoHash}`, downloadLimit: 512 * KiB })
    const d = await add({ uri: `magnet:?xt=urn:btih:${ghost}&dn=ghost` })
    await http(api('/settings'), { method: 'PATCH', body: { uploadLimit: 3 * MiB } })
    await pollJson(api(`/torrents/${done.metainfo.infoHash}`), (j) => j.state === 'seeding', 15_000)
    await pollJson(api(`/torrents/${half.metainfo.infoHash}`), (j) => j.progress > 0.25, 15_000)
    // The engine saves resume state every 5 s: wait for one save past the first quarter.
    await delay(5500)
    const before = (await http(api(`/torrents/${half.metainfo.infoHash}`))).json
    assert.ok(before.progress < 1, 'half.bin finished before the kill: too fast to test')
    await s.kill9()

    // Restart without peers: whatever is there came from disk.
    s = await startServe({ dataDir: s.dataDir, downloadDir: s.downloadDir })
    const list = (await http(api('/torrents'))).json
    const by = (h: string) => list.find((t: any) => t.infoHash === h)
    assert.is(list.length, 4)
    assert.is(by(done.metainfo.infoHash).id, a.id)
    assert.equal(by(done.metainfo.infoHash).labels, ['keep'])
    assert.is(by(paused.metainfo.infoHash).id, b.id)
    assert.is(by(paused.metainfo.infoHash).state, 'stopped')
    assert.is(by(half.metainfo.infoHash).id, c.id)
    assert.is(by(half.metainfo.infoHash).downloadLimit, 512 * KiB)
    assert.is(by(ghost).id, d.id)
    assert.is(by(ghost).name, 'ghost')
    assert.is((await http(api('/settings'))).json.uploadLimit, 3 * MiB)
    const seeding = await pollJson(api(`/torrents/${done.metainfo.infoHash}`), (j) => j.state === 'seeding', 10_000)
    assert.is(seeding.progress, 1)
    assert.is(seeding.name, 'done.bin', 'metainfo of a magnet kept across the restart')
    const resumed = await pollJson(api(`/torrents/${half.metainfo.infoHash}`), (j) => j.state === 'downloading', 10_000)
    assert.ok(resumed.have >= 1 * MiB, `only ${resumed.have} bytes of half.bin came back from disk`)
    assert.is((await http(api(`/torrents/${ghost}`))).json.state, 'metadata')
    // A graceful stop (SIGTERM): exit 0, state saved.
    const exit = await s.stop()
    assert.is(exit.code, 0, s.stderr())

    // Third start, with the peers: half.bin completes, and only the missing part was downloaded.
    s = await startServe({ dataDir: s.dataDir, downloadDir: s.downloadDir, args: withPeers })
    await http(api(`/torrents/${half.metainfo.infoHash}`), { method: 'PATCH', body: { downloadLimit: 0 } })
    await pollJson(api(`/torrents/${half.metainfo.infoHash}`), (j) => j.state === 'seeding', 20_000)
    await assertSameMd5(half, s.downloadDir)
    const sid = await rpc(s.url, 'torrent-get', { ids: [half.metainfo.infoHash], fields: ['downloadedEver', 'totalSize'] })
    const t = sid.arguments.torrents[0]
    assert.ok(t.downloadedEver < t.totalSize + 512 * KiB, `downloaded ${t.downloadedEver} of ${t.totalSize}: verified pieces fetched again`)
    // the paused one is still paused, and starts on request
    assert.is((await http(api(`/torrents/${paused.metainfo.infoHash}`))).json.state, 'stopped')
    await http(api(`/torrents/${paused.metainfo.infoHash}/start`), { method: 'POST' })
    await pollJson(api(`/torrents/${paused.metainfo.infoHash}`), (j) => j.state === 'seeding', 15_000)
    await assertSameMd5(paused, s.downloadDir)
  } finally {
    await s.stop()
  }
})

test.run()
