// bt serve --tracker: /announce, /scrape and /stats on bt serve's own port, public for BitTorrent clients while the
// API stays behind the key; registration for private mode through the API; state kept across a restart.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bdecode } from '../../src/metainfo/bdecode.js'
import { http, startServe, type Serve } from './helpers.js'

const KEY = 'k3y-for-tests'
const HASH = 'ab'.repeat(20)
const running: Serve[] = []
test.after.each(async () => {
  for (const s of running.splice(0)) await s.stop()
})

function announceUrl(base: string, hash: string, peerId: string, port: number, extra = ''): string {
  const ih = escape(Buffer.from(hash, 'hex').toString('latin1')).replace(/\+/g, '%2B').replace(/\//g, '%2F')
  return `${base}/announce?info_hash=${ih}&peer_id=${encodeURIComponent(peerId)}&port=${port}&uploaded=0&downloaded=0&left=100&compact=1${extra}`
}

async function announce(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  assert.is(res.status, 200)
  const d = bdecode(new Uint8Array(await res.arrayBuffer())).value as unknown as Record<string, unknown>
  return d
}

test('announce, scrape and stats on the serve port without a key; the API still needs it', async () => {
  const s = await startServe({ args: ['--tracker', '--api-key', KEY] })
  running.push(s)
  const a = await announce(announceUrl(s.url, HASH, '-XX0001-aaaaaaaaaaaa', 7001))
  assert.ok(!('failure reason' in a), JSON.stringify(a))
  const b = await announce(announceUrl(s.url, HASH, '-XX0001-bbbbbbbbbbbb', 7002))
  const peers = Buffer.from(b.peers as Uint8Array)
  assert.is(peers.length, 6, 'the second peer is told about the first')
  assert.is(peers.readUInt16BE(4), 7001)
  const stats = await http(`${s.url}/stats`, { headers: { accept: 'application/json' } })
  assert.is(stats.status, 200)
  assert.is(stats.json.torrents, 1, stats.text)
  const denied = await http(`${s.url}/api/v1/torrents`)
  assert.is(denied.status, 401)
})

test('private tracker: unregistered hash refused, registered through the API, kept after a restart', async () => {
  const s = await startServe({ args: ['--tracker', '--tracker-private', '--api-key', KEY] })
  running.push(s)
  const refused = await announce(announceUrl(s.url, HASH, '-XX0001-aaaaaaaaaaaa', 7001))
  assert.type(refused['failure reason'], 'object', 'a failure reason for an unregistered torrent')
  const noKey = await http(`${s.url}/api/v1/tracker/torrents`, { body: { infoHash: HASH, name: 'x' } })
  assert.is(noKey.status, 401)
  const reg = await http(`${s.url}/api/v1/tracker/torrents`, { body: { infoHash: HASH, name: 'x' }, headers: { 'x-api-key': KEY } })
  assert.ok(reg.status >= 200 && reg.status < 300, reg.text)
  const ok = await announce(announceUrl(s.url, HASH, '-XX0001-aaaaaaaaaaaa', 7001))
  assert.ok(!('failure reason' in ok))
  await s.stop()
  running.length = 0
  const again = await startServe({ args: ['--tracker', '--tracker-private', '--api-key', KEY], dataDir: s.dataDir, downloadDir: s.downloadDir })
  running.push(again)
  const after = await announce(announceUrl(again.url, HASH, '-XX0001-cccccccccccc', 7003))
  assert.ok(!('failure reason' in after), 'registration survives a restart')
  assert.is(Buffer.from(after.peers as Uint8Array).length, 6, 'and so does the swarm')
})

test('--tracker-private without --tracker is a usage error', async () => {
  const r = await startServe({ args: ['--tracker-private'] }).then(
    () => 'started',
    (e: Error) => e.message,
  )
  assert.match(r, /go with --tracker/)
})

test.run()
