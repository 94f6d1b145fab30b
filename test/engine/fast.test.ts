// The fast extension (BEP 6) with python3-libtorrent on 127.0.0.1: a libtorrent leecher that bt chokes fetches the
// allowed-fast pieces bt offers it (BEP 6's set for 127.0.0.0/24), and nothing else.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'
import { delay } from '../helpers/wait.js'
import { startLibtorrent } from '../helpers/libtorrent.js'

const stoppers: Array<{ stop(): Promise<void> }> = []
test.after.each(async () => {
  await Promise.allSettled(stoppers.splice(0).reverse().map((s) => s.stop()))
})

test('a libtorrent leecher choked by bt gets exactly its allowed-fast set (10 pieces) before any unchoke', async () => {
  const pieceLength = 16 * 1024
  const tt = await makeTestTorrent([40 * pieceLength], { pieceLength, seed: 162 })
  const out = tmpDir('lt-out-')
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: out })
  stoppers.push(lt)
  // No unchoke slots: bt unchokes nobody until its first rechoke, 10 s after the torrent starts.
  const started = Date.now()
  const { torrent } = await seedWith(tt, { peers: [{ host: '127.0.0.1', port: lt.port }] }, { unchokeSlots: 0 })
  stoppers.push({ stop: stopAll })
  let done = 0
  // libtorrent may close our first dials while it adds the torrent; the redial comes 2–3 s later.
  for (let i = 0; i < 85 && done < 10 * pieceLength; i++) {
    await delay(100)
    done = lt.stats().done
  }
  const peers = [...torrent.peers.values()]
  assert.is(peers.length, 1, lt.log().slice(-1500))
  assert.ok(Date.now() - started < 9_000, 'measured before the first rechoke')
  assert.ok(peers[0].wire.amChoking, 'bt still chokes the leecher')
  assert.ok(peers[0].wire.hasFast, 'fast extension negotiated')
  assert.is(done, 10 * pieceLength, lt.log().slice(-1500))
  await delay(500)
  assert.is(lt.stats().done, 10 * pieceLength, 'nothing beyond the allowed-fast set while choked')
})

test.run()
