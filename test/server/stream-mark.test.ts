// The first piece a stream request reads is marked `now` in the torrent's 'ready' event (markFirstPiece in
// src/server/stream.ts): a real Client and Torrent with no peers and no data, so nothing else moves the priorities.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Entry } from '../../src/server/entry.js'
import { markFirstPiece } from '../../src/server/stream.js'
import { Priority } from '../../src/session/priority.js'
import type { TorrentRecord } from '../../src/server/state.js'
import { makeTestTorrent, startClient, stopAll, whenReady } from '../helpers/swarm.js'
import { tmpDir } from '../helpers/tmp.js'

const PL = 32 * 1024

test.after(stopAll)

function entryOf(tt: Awaited<ReturnType<typeof makeTestTorrent>>): Entry {
  const e = new Entry({ id: 1, infoHash: tt.metainfo.infoHash, name: tt.metainfo.name, labels: [] } as unknown as TorrentRecord)
  e.metainfo = tt.metainfo
  return e
}

test('marked in the ready event, before any other code runs; released by the returned function', async () => {
  // Two files: the second starts inside piece 3 (100 KiB + 40 KiB into it is piece 4).
  const tt = await makeTestTorrent([100 * 1024, 300 * 1024], { pieceLength: PL })
  const client = await startClient({ dht: false })
  const dir = tmpDir('bt-mark-')
  mkdirSync(dir, { recursive: true })
  const t = client.add(tt.metainfo, { dir: join(dir, 'dl'), seed: true })
  assert.ok(!t.picker, 'the check has not run yet')
  const e = entryOf(tt)
  const second = tt.metainfo.files[1].path.slice(1).join('/')
  const release = markFirstPiece(e, t, second, 'bytes=40960-')
  let atReady: number[] | undefined
  // A listener added after the mark runs after it in the same emit: it sees what the picker has at that moment.
  t.once('ready', () => (atReady = Array.from(t.picker!.priority)))
  await whenReady(t, 20_000)
  const piece = Math.floor((tt.metainfo.files[1].offset + 40960) / PL)
  assert.is(piece, 4)
  assert.ok(atReady, 'ready fired')
  assert.is(atReady![piece], Priority.now, 'the range start piece is now at ready')
  assert.equal(atReady!.map((p, i) => (p === Priority.now ? i : -1)).filter((i) => i >= 0), [piece], 'only that piece')
  release()
  assert.is(t.picker!.priority[piece], Priority.normal, 'released')
  release() // idempotent
})

test('already ready: marked at once; nothing for a bad path or an unsatisfiable range; a release before ready unhooks', async () => {
  const tt = await makeTestTorrent([200 * 1024], { pieceLength: PL, seed: 7 })
  const client = await startClient({ dht: false })
  const dir = tmpDir('bt-mark-')
  const t = client.add(tt.metainfo, { dir, seed: true })
  const e = entryOf(tt)
  // Released before ready: the ready event must not mark anything afterwards.
  const early = markFirstPiece(e, t, '0', undefined)
  early()
  await whenReady(t, 20_000)
  assert.ok(!t.picker!.priority.includes(Priority.now), 'a released mark leaves nothing')
  const r1 = markFirstPiece(e, t, '0', 'bytes=-1')
  assert.is(t.picker!.priority[6], Priority.now, 'suffix range: the last piece')
  r1()
  for (const [ref, range] of [['nope.bin', undefined], ['0', 'bytes=999999999-'], ['../x', undefined]] as const) {
    const r = markFirstPiece(e, t, ref, range)
    assert.ok(!t.picker!.priority.includes(Priority.now), `${ref} ${range}: nothing marked`)
    r()
  }
})

test.run()
