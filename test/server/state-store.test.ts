// bt serve's state store: what is loaded is what was last saved, through the append-only log and its folds; a save
// after one more torrent appends about one record, not the whole list (the O(N²) of adding many torrents); a torn
// last log line and a log left from before a fold are ignored. Real files in a temp dir.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, statSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StateStore, type SavedState, type TorrentRecord } from '../../src/server/state.js'

const dirs: string[] = []
test.after.each(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'bt-state-'))
  dirs.push(d)
  return d
}

function rec(i: number): TorrentRecord {
  return {
    id: i, infoHash: i.toString(16).padStart(40, '0'), name: `torrent ${i}`, downloadDir: '/data', paused: false,
    downloadLimit: 0, uploadLimit: 0, labels: [], seedRatioMode: 0, seedRatioLimit: 2, seedIdleMode: 0, seedIdleLimit: 30,
    queuePosition: i, addedDate: 1_700_000_000 + i, doneDate: 0, downloadedEver: 0, uploadedEver: 0,
    secondsDownloading: 0, secondsSeeding: 0, finished: false,
  }
}
function state(torrents: TorrentRecord[], nextId = torrents.length + 1): SavedState {
  return {
    version: 1, nextId, torrents,
    settings: { downloadDir: '/data', downloadLimit: 0, uploadLimit: 0, seedRatioLimit: 2, seedRatioLimited: false, idleSeedingLimit: 30, idleSeedingLimitEnabled: false, startAddedTorrents: true, peerLimitPerTorrent: 80 },
    cumulative: { downloadedBytes: 0, uploadedBytes: 0, secondsActive: 0, sessionCount: 1, filesAdded: 0 },
  }
}
const size = (f: string) => statSync(f).size

test('adding torrents one save at a time appends one record each; loads give back the last state in order', async () => {
  const dir = tmp()
  const store = new StateStore(dir)
  const list: TorrentRecord[] = []
  await store.save(state(list))
  const recordBytes = JSON.stringify(rec(1)).length
  let maxGrowth = 0
  for (let i = 1; i <= 300; i++) {
    list.push(rec(i))
    const before = size(store.file) + size(store.log)
    await store.save(state(list))
    const after = size(store.file) + size(store.log)
    // A fold rewrites the snapshot: count only the appends.
    if (after > before) maxGrowth = Math.max(maxGrowth, after - before)
    if (i % 50 === 0) assert.equal(await new StateStore(dir).load(), state(list), `loaded after ${i} adds`)
  }
  // The new record, and the head (nextId moved): never the list.
  const headBytes = JSON.stringify({ ...state([]), torrents: undefined }).length
  assert.ok(maxGrowth < recordBytes + headBytes + 50, `an add appended ${maxGrowth} bytes; one record is ${recordBytes}, the head ${headBytes}`)
  const whole = JSON.stringify(state(list)).length
  assert.ok(size(store.file) + size(store.log) < 3 * whole, 'the log is folded: the files stay within a few times the state')
  // Changes and removals: positions kept for changes, removed ones gone, head changes kept.
  list[10] = { ...list[10], paused: true, labels: ['x'] }
  list.splice(20, 1)
  const s = state(list, 999)
  s.settings.uploadLimit = 12345
  await store.save(s)
  assert.equal(await new StateStore(dir).load(), s)
  // Nothing changed: nothing written.
  const before = size(store.log)
  await store.save(s)
  assert.is(size(store.log), before, 'an unchanged state appends nothing')
})

test('a torn last line is dropped; a log from before the last fold is ignored', async () => {
  const dir = tmp()
  const store = new StateStore(dir)
  await store.save(state([rec(1)]))
  await store.save(state([rec(1), rec(2)]))
  appendFileSync(store.log, '{"torrent":{"infoHash":"00')
  assert.equal(await new StateStore(dir).load(), state([rec(1), rec(2)]), 'the torn append is dropped')
  // A restarted daemon's first save is a new snapshot, then a new log; a crash between the two leaves the previous
  // process's log, which must not be applied over the newer snapshot.
  const oldLog = readFileSync(store.log, 'utf8')
  const restarted = new StateStore(dir)
  await restarted.save(state([rec(3)]))
  writeFileSync(store.log, oldLog)
  assert.equal(await new StateStore(dir).load(), state([rec(3)]), 'a log from before the snapshot is not applied')
  // And a snapshot whose generation is not the log's, whatever it is.
  const snap = JSON.parse(readFileSync(store.file, 'utf8'))
  snap.gen = 'other'
  writeFileSync(store.file, JSON.stringify(snap))
  await new StateStore(dir).save(state([rec(4)]))
  writeFileSync(store.file, JSON.stringify({ ...state([rec(5)]), gen: 'x' }))
  assert.equal((await new StateStore(dir).load())?.torrents, [rec(5)], 'a log naming another generation is not applied')
})

test.run()
