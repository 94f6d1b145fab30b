// What Readers get from a torrent besides storage: waits for a piece that end when it arrives, on abort or when the
// torrent goes; recent pieces served from memory only when every byte asked for is there, oldest evicted first.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PieceWaiters, RecentPieces } from '../../src/session/piece-waiters.js'

const settle = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `rejected: ${e.message}`)

test('a wait ends when its piece arrives, not when another does', async () => {
  const w = new PieceWaiters()
  const a = settle(w.wait(3))
  const b = settle(w.wait(4))
  w.arrived(3)
  assert.is(await a, 'resolved')
  w.failAll(new Error('torrent was removed'))
  assert.is(await b, 'rejected: torrent was removed')
})

test('an aborted wait rejects with the reason and leaves the others waiting', async () => {
  const w = new PieceWaiters()
  const ac = new AbortController()
  const a = settle(w.wait(1, ac.signal))
  const b = settle(w.wait(1))
  ac.abort(new Error('reader closed'))
  assert.is(await a, 'rejected: reader closed')
  w.arrived(1)
  assert.is(await b, 'resolved')
  const pre = new AbortController()
  pre.abort(new Error('already'))
  assert.is(await settle(w.wait(2, pre.signal)), 'rejected: already')
})

test('recent pieces: reads spanning kept pieces are served, a read touching a missing piece is not', () => {
  const r = new RecentPieces(2, 4, 10) // pieces of 4 bytes, 10 bytes in all: pieces 0, 1, 2 (2 bytes)
  r.add(1, Buffer.from('efgh'))
  r.add(2, Buffer.from('ij'))
  const buf = Buffer.alloc(6)
  assert.is(r.read(buf, 5), 5, 'short at the end of the torrent')
  assert.is(buf.subarray(0, 5).toString(), 'fghij')
  assert.is(r.read(Buffer.alloc(4), 2), -1, 'piece 0 is not in memory')
  assert.is(r.read(Buffer.alloc(1), 10), -1, 'past the end')
})

test('recent pieces: past the limit the oldest is evicted and handed back for reuse', () => {
  const r = new RecentPieces(2, 4, 16)
  const p0 = Buffer.from('abcd')
  assert.is(r.add(0, p0), undefined)
  assert.is(r.add(1, Buffer.from('efgh')), undefined)
  assert.is(r.add(2, Buffer.from('ijkl')), p0)
  assert.is(r.read(Buffer.alloc(2), 0), -1)
  r.clear()
  assert.is(r.read(Buffer.alloc(2), 4), -1)
})

test.run()
