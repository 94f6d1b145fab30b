// The tracker clients against a real tracker: opentracker on 127.0.0.1, over HTTP and UDP.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { announce, scrape, TrackerClient, TrackerError, type AnnounceRequest } from '../../src/discovery/tracker.js'
import { peerKey, type PeerAddress } from '../../src/discovery/peer-address.js'
import { startOpentracker, type Opentracker } from '../helpers/opentracker.js'
import { within } from '../helpers/wait.js'

const httpHash = randomBytes(20)
const udpHash = randomBytes(20)
const clientHash = randomBytes(20)
let ot: Opentracker

test.before(async () => {
  ot = await startOpentracker([httpHash, udpHash, clientHash].map((h) => h.toString('hex')))
})
test.after(async () => {
  await ot?.stop()
})

function peer(infoHash: Buffer, port: number, left: number, event?: AnnounceRequest['event']): AnnounceRequest {
  const peerId = Buffer.from(`-BT0001-${String(port).padStart(12, '0')}`)
  return { infoHash, peerId, port, uploaded: 0, downloaded: 0, left, event, numwant: 50 }
}

const keys = (peers: PeerAddress[]) => peers.map(peerKey)

for (const proto of ['http', 'udp'] as const) {
  test(`${proto}: two peers find each other, scrape counts them, stopped removes them`, async () => {
    const url = proto === 'http' ? ot.httpUrl : ot.udpUrl
    const ih = proto === 'http' ? httpHash : udpHash
    const a1 = await announce(url, peer(ih, 7001, 1000, 'started'))
    assert.ok(a1.interval > 0)
    const b = await announce(url, peer(ih, 7002, 0, 'started'))
    assert.ok(keys(b.peers).includes('127.0.0.1:7001'), `B got ${keys(b.peers)}`)
    assert.is(b.complete, 1)
    assert.is(b.incomplete, 1)
    const a2 = await announce(url, peer(ih, 7001, 1000))
    assert.ok(keys(a2.peers).includes('127.0.0.1:7002'), `A got ${keys(a2.peers)}`)

    let counts = await scrape(url, [ih])
    assert.equal(counts.get(ih.toString('hex')), { complete: 1, incomplete: 1, downloaded: 0 })

    await announce(url, peer(ih, 7001, 0, 'completed'))
    counts = await scrape(url, [ih])
    assert.equal(counts.get(ih.toString('hex')), { complete: 2, incomplete: 0, downloaded: 1 })

    await announce(url, peer(ih, 7001, 0, 'stopped'))
    await announce(url, peer(ih, 7002, 0, 'stopped'))
    counts = await scrape(url, [ih])
    assert.is(counts.get(ih.toString('hex'))?.complete, 0)
    assert.is(counts.get(ih.toString('hex'))?.incomplete, 0)
  })

  test(`${proto}: a hash the tracker does not serve gives its message`, async () => {
    const url = proto === 'http' ? ot.httpUrl : ot.udpUrl
    try {
      await announce(url, peer(randomBytes(20), 7003, 5, 'started'), { timeoutMs: 3000 })
      assert.unreachable('announce of a non-whitelisted hash succeeded')
    } catch (err) {
      assert.instance(err, TrackerError)
      // Over UDP opentracker answers with a bare header instead of an error packet.
      const said = proto === 'http' ? 'tracker said "Requested download is not authorized' : 'tracker sent an empty reply'
      assert.match((err as Error).message, `${proto}://127.0.0.1:${ot.port}/announce: ${said}`)
      assert.ok((err as Error).message.startsWith(`${proto}://`))
    }
  })
}

test('TrackerClient: two clients on an HTTP tier and a UDP tier see each other, stop() leaves the swarm', async () => {
  const tiers = [[ot.httpUrl], [ot.udpUrl]]
  const mk = (port: number, left: number) => new TrackerClient({
    tiers, infoHash: clientHash, peerId: Buffer.from(`-BT0001-${String(port).padStart(12, '0')}`), port,
    stats: () => ({ uploaded: 0, downloaded: 0, left }), timeoutMs: 3000,
  })
  const a = mk(7101, 100)
  const b = mk(7102, 0)
  const seenByB = new Map<string, Set<string>>()
  const bDone = new Promise<void>((resolve) => {
    b.on('peers', (peers, url) => {
      const s = seenByB.get(url) ?? new Set()
      for (const p of peers) s.add(peerKey(p))
      seenByB.set(url, s)
      if ([...seenByB.values()].filter((x) => x.has('127.0.0.1:7101')).length === 2) resolve()
    })
  })
  const aAnnounced = new Promise<void>((resolve) => {
    let n = 0
    a.on('announce', () => { if (++n === 2) resolve() })
  })
  const warnings: string[] = []
  a.on('warning', (_u, m) => warnings.push(m))
  b.on('warning', (_u, m) => warnings.push(m))
  try {
    a.start()
    await aAnnounced
    b.start()
    await within(bDone, 5000, 'B did not get A from both tiers')
    assert.equal(warnings, [])
    const counts = await scrape(ot.httpUrl, [clientHash])
    assert.equal(counts.get(clientHash.toString('hex')), { complete: 1, incomplete: 1, downloaded: 0 })
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
  const after = await scrape(ot.udpUrl, [clientHash])
  assert.is(after.get(clientHash.toString('hex'))?.complete, 0)
  assert.is(after.get(clientHash.toString('hex'))?.incomplete, 0)
})

test.run()
