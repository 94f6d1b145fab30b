// The persistence unit on its own: changes reach the SQLite file through the writer thread, a new tracker restores
// peers (not the expired ones), completed counts and API registrations, and removals are written too.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { Tracker, EVENT_COMPLETED, EVENT_STOPPED, peerAddr, type AnnounceParams } from '../../src/tracker/swarm.js'
import { TrackerStore } from '../../src/tracker/store.js'
import { openDb } from '../../src/tracker/store-db.js'
import { MAGIC, readLog } from '../../src/tracker/store-log.js'
import { tmpDir } from '../helpers/tmp.js'

const IH = 'S'.repeat(20)
const open: Array<{ store: TrackerStore; tracker: Tracker }> = []
/** A store that after.each closes even when the test failed (its writer thread would keep the process alive). */
function storeFor(tracker: Tracker, path: string, flushMs?: number): TrackerStore {
  const store = new TrackerStore(tracker, path, { flushMs })
  open.push({ store, tracker })
  return store
}
test.after.each(async () => {
  for (const { store, tracker } of open.splice(0)) {
    await store.close().catch(() => {})
    tracker.stop()
  }
})
const id = (n: number) => `-ST0001-${String(n).padStart(12, '0')}`
/** The peers a replay of the file leaves (ih+id -> address), read independently of the store. */
function replay(path: string): Map<string, string> {
  const peers = new Map<string, string>()
  readLog(path, {
    peer: (ih, pid, addr) => { peers.set(ih + pid, addr) },
    removed: (ih, pid) => { peers.delete(ih + pid) },
    completed: () => {},
    registration: () => {},
  })
  return peers
}
const ann = (t: Tracker, n: number, o: Partial<AnnounceParams> = {}) =>
  t.announce({ infoHash: IH, peerId: id(n), ip: n % 2 ? '127.0.0.1' : '::1', port: 9000 + n, left: 10, event: 0, numwant: -1, ...o })

test('state round trip: peers, completed, registrations, removals; expired peers are not restored', async () => {
  const path = join(tmpDir('bt-store-'), 'state.db')
  let clock = Date.now()
  const t1 = new Tracker({ rateLimit: 0, peerTimeout: 100, clock: () => clock })
  const s1 = storeFor(t1, path, 50)
  assert.equal(s1.open(), { peers: 0, swarms: 0, registrations: 0 })
  for (let n = 1; n <= 6; n++) ann(t1, n)
  ann(t1, 2, { left: 0, event: EVENT_COMPLETED })
  ann(t1, 3, { event: EVENT_STOPPED })
  t1.register('R'.repeat(20), { name: 'registered by api', source: 'api' })
  t1.register('W'.repeat(20), { name: 'from a whitelist file', source: 'whitelist' })
  await s1.flush()
  clock += 150_000 // peers 1..6 are now expired for a tracker with this clock…
  ann(t1, 7) // …but 7 is fresh
  await s1.close()
  t1.stop()

  const saved = replay(path)
  assert.equal([...saved.keys()].map((k) => k.slice(20)).sort(), [1, 2, 4, 5, 6, 7].map(id), 'peer 3 left; 1,2,4,5,6,7 stored')
  // Each record's address is its own peer's (records read addresses from the slot array, where peer 3's removal
  // moved the last peer into its slot): 4-byte IPv4 or 16-byte IPv6, then the port.
  for (const n of [1, 2, 4, 5, 6, 7]) {
    const ip = n % 2 ? Buffer.from([127, 0, 0, 1]) : Buffer.concat([Buffer.alloc(15), Buffer.from([1])])
    assert.is(Buffer.from(saved.get(IH + id(n))!, 'latin1').toString('hex'), Buffer.concat([ip, Buffer.from([(9000 + n) >> 8, (9000 + n) & 255])]).toString('hex'), `peer ${n}`)
  }

  const t2 = new Tracker({ rateLimit: 0, peerTimeout: 100, clock: () => clock })
  const s2 = storeFor(t2, path)
  const r = s2.open()
  assert.equal(r.peers, 1, 'only rows of unexpired peers are read')
  const sw = t2.swarms.get(IH)!
  assert.equal([...sw.peers.keys()], [id(7)], 'only the unexpired peer is back')
  assert.is(sw.completed, 1)
  assert.equal(t2.registered.get('R'.repeat(20)), { name: 'registered by api', source: 'api' })
  assert.not.ok(t2.registered.has('W'.repeat(20)), 'whitelist entries come from the file, not the state')
  t2.unregister('R'.repeat(20))
  await s2.close()
  t2.stop()
  const t3 = new Tracker({ rateLimit: 0 })
  const s3 = storeFor(t3, path)
  s3.open()
  assert.not.ok(t3.registered.has('R'.repeat(20)), 'unregistering is saved too')
  await s3.close()
  t3.stop()
})

test('an unwritable state path is a clear error', () => {
  const t = new Tracker({ rateLimit: 0 })
  try {
    assert.throws(() => new TrackerStore(t, '/proc/no/such/dir/state.db').open(), /cannot create its directory/)
    const file = join(tmpDir('bt-store-'), 'a-file')
    writeFileSync(file, 'x')
    assert.throws(() => new TrackerStore(t, join(file, 'sub', 'state.db')).open(), /cannot create its directory/)
    const notDb = join(tmpDir('bt-store-'), 'state.db')
    writeFileSync(notDb, 'this is not an SQLite database, just text long enough to have a header'.repeat(20))
    assert.throws(() => new TrackerStore(t, notDb).open(), /cannot open the tracker state/)
  } finally {
    t.stop()
  }
})

test('a record cut short by kill -9 is dropped, and what is appended after it still reads back', async () => {
  const path = join(tmpDir('bt-store-'), 'state.db')
  const t1 = new Tracker({ rateLimit: 0 })
  const s1 = storeFor(t1, path, 60_000)
  s1.open()
  for (let n = 1; n <= 3; n++) ann(t1, n)
  await s1.close()
  t1.stop()
  const whole = statSync(path).size
  // Half a peer record, as a write interrupted by kill -9 leaves it.
  appendFileSync(path, Buffer.from([0x50, ...Buffer.from('S'.repeat(20), 'latin1'), 1, 2, 3]))
  const t2 = new Tracker({ rateLimit: 0 })
  const s2 = storeFor(t2, path, 60_000)
  assert.is(s2.open().peers, 3)
  ann(t2, 4)
  await s2.close()
  t2.stop()
  assert.ok(statSync(path).size > whole && statSync(path).size < whole + 200, 'the torn record was cut off before appending')
  assert.is(replay(path).size, 4)
  const t3 = new Tracker({ rateLimit: 0 })
  const s3 = storeFor(t3, path)
  assert.is(s3.open().peers, 4)
})

test('the log is rewritten as a snapshot once it grows: same state, smaller file, announces go on meanwhile', async () => {
  const path = join(tmpDir('bt-store-'), 'state.db')
  const t1 = new Tracker({ rateLimit: 0 })
  const s1 = new TrackerStore(t1, path, { flushMs: 60_000, compactBytes: 4096 })
  open.push({ store: s1, tracker: t1 })
  s1.open()
  for (let round = 0; round < 20; round++) {
    for (let n = 1; n <= 40; n++) ann(t1, n, { infoHash: String.fromCharCode(65 + (n % 5)).repeat(20), port: 9000 + round })
    await s1.flush()
  }
  // A snapshot started by the last flush runs over several ticks; give it time to land.
  for (let i = 0; i < 50 && statSync(path).size > 20 * 40 * 53 / 2; i++) await new Promise((r) => setTimeout(r, 20))
  ann(t1, 41, { infoHash: 'A'.repeat(20) })
  ann(t1, 1, { infoHash: 'B'.repeat(20), event: EVENT_STOPPED })
  await s1.close()
  t1.stop()
  const size = statSync(path).size
  assert.ok(size < 20 * 40 * 53 / 2, `the file was compacted (${size} bytes for 800 announces of 40 peers)`)
  assert.is(readFileSync(path).subarray(0, MAGIC.length).toString('latin1'), MAGIC.toString('latin1'))
  const t2 = new Tracker({ rateLimit: 0 })
  const s2 = storeFor(t2, path)
  assert.is(s2.open().peers, 40, '40 peers, one stopped, one new')
  assert.is(peerAddr(t2.swarms.get('A'.repeat(20))!.peers.get(id(5))!).charCodeAt(5), (9000 + 19) & 0xff, 'the latest port of each peer')
  assert.ok(t2.swarms.get('A'.repeat(20))!.peers.has(id(41)))
  assert.not.ok(t2.swarms.get('B'.repeat(20))!.peers.has(id(1)))
})

test('a state file from an older bt (SQLite) is read once and rewritten in the new form', async () => {
  const path = join(tmpDir('bt-store-'), 'state.db')
  const db = openDb(path)
  const L = (s: string) => Buffer.from(s, 'latin1')
  const now = Math.floor(Date.now() / 1000)
  db.prepare('INSERT INTO peers VALUES (?, ?, ?, ?, ?)').run(L(IH), L(id(1)), L('\x7f\x00\x00\x01\x1f\x90'), 1, now - 10)
  db.prepare('INSERT INTO peers VALUES (?, ?, ?, ?, ?)').run(L(IH), L(id(2)), L('\x7f\x00\x00\x01\x1f\x91'), 0, now - 5)
  db.prepare('INSERT INTO swarms VALUES (?, ?)').run(L(IH), 7)
  db.prepare('INSERT INTO registrations VALUES (?, ?, ?, ?)').run(L('R'.repeat(20)), 'old', 'api', now)
  db.close()
  const t = new Tracker({ rateLimit: 0 })
  const s = storeFor(t, path)
  assert.equal(s.open(), { peers: 2, swarms: 1, registrations: 1 })
  assert.equal(t.scrape([IH]).get(IH), { complete: 1, incomplete: 1, downloaded: 7 })
  assert.is(readFileSync(path).subarray(0, MAGIC.length).toString('latin1'), MAGIC.toString('latin1'), 'rewritten as a log')
  await s.close()
  t.stop()
  const t2 = new Tracker({ rateLimit: 0 })
  assert.equal(storeFor(t2, path).open(), { peers: 2, swarms: 1, registrations: 1 })
})

test.run()
