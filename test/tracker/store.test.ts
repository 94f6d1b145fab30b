// The persistence unit on its own: changes reach the SQLite file through the writer thread, a new tracker restores
// peers (not the expired ones), completed counts and API registrations, and removals are written too.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { Tracker, EVENT_COMPLETED, EVENT_STOPPED, type AnnounceParams } from '../../src/tracker/swarm.js'
import { TrackerStore } from '../../src/tracker/store.js'
import { openDb } from '../../src/tracker/store-db.js'
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

  const db = openDb(path)
  assert.is((db.prepare('SELECT count(*) AS n FROM peers').get() as { n: number }).n, 6, 'peer 3 left; 1,2,4,5,6,7 stored')
  db.close()

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

test.run()
