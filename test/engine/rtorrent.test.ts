// bt and rtorrent (Debian) on 127.0.0.1, through the CLI as a user runs it: bt fetches a magnet whose info dict
// (> 20 KiB, two ut_metadata pieces) only rtorrent has — rtorrent drops a metadata request that arrives while its
// reply is pending, which once left bt waiting forever — and rtorrent leeches a multi-file torrent from `bt seed`.
// Loopback pitfalls of rtorrent are in test/helpers/rtorrent.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { METADATA_PIECE_SIZE } from '../../src/wire/metadata.js'
import { bt, killSpawned, spawnBt } from '../helpers/cli.js'
import { md5Dir } from '../helpers/clients.js'
import { DEAD_TRACKER, startRtorrent, type RtorrentHandle } from '../helpers/rtorrent.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

let rt: RtorrentHandle | undefined
test.after.each(async () => {
  killSpawned()
  await rt?.stop()
  rt = undefined
})

test('bt downloads a magnet (x.pe only) whose 25 KiB info dict comes from rtorrent alone', async () => {
  const root = tmpDir('bt-rt-')
  const album = join(root, 'seed', 'album')
  mkdirSync(album, { recursive: true })
  // Many files with long names make a large info dict from little data.
  for (let i = 0; i < 300; i++) writeRandomFile(join(album, `track ${String(i).padStart(3, '0')} - a rather long title for a file in an album.flac`), 200 + i, i + 1)
  const bytes = await createTorrent(album, { pieceLength: 16384, trackers: [[DEAD_TRACKER]] })
  const torrentPath = join(root, 'album.torrent')
  writeFileSync(torrentPath, bytes)
  const m = parseTorrent(bytes)
  assert.ok(m.infoBuffer.length > 20 * 1024, `info dict is ${m.infoBuffer.length} bytes`)
  assert.is(Math.ceil(m.infoBuffer.length / METADATA_PIECE_SIZE), 2)

  rt = await startRtorrent({ torrentPath, dir: join(root, 'seed') })
  const out = tmpDir('bt-rt-out-')
  const started = Date.now()
  const r = await bt(['download', `magnet:?xt=urn:btih:${m.infoHash}&x.pe=${rt.addr}`, '-o', out, '--port', '0', '--no-dht', '--json'], {
    env: { XDG_DATA_HOME: tmpDir('bt-xdg-') },
    timeoutMs: 30_000,
  })
  const ms = Date.now() - started
  assert.is(r.code, 0, `${r.stderr}\n${r.stdout.slice(-2000)}\nrtorrent: ${rt.output().slice(-500)}`)
  console.error(`  bt <- rtorrent magnet: ${ms} ms`)
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.ok(events.some((e) => e.event === 'metadata'), 'metadata event')
  assert.ok(events.some((e) => e.event === 'done'), 'done event')
  assert.is(events.filter((e) => e.event === 'warning' && /metadata/.test(e.message)).length, 0, 'no metadata request was lost')
  assert.is(await md5Dir(join(out, 'album')), await md5Dir(album))
  // libtorrent fetches the same metadata from rtorrent in about 0.6 s; no request may have to time out (5 s).
  assert.ok(ms < 5000, `${ms} ms`)
})

test('rtorrent leeches a multi-file torrent from bt seed (bt dials it)', async () => {
  const tt = await makeTestTorrent([700_000, 1024 * 1024 + 3, 5, 300_000], { pieceLength: 65536, seed: 61, trackers: [[DEAD_TRACKER]] })
  const out = tmpDir('rt-out-')
  rt = await startRtorrent({ torrentPath: tt.torrentPath, dir: out })
  const want = await md5Dir(join(tt.seedDir, tt.metainfo.name))
  const started = Date.now()
  const seed = spawnBt(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--peer', rt.addr, '--json'], { XDG_DATA_HOME: tmpDir('bt-xdg-') })
  const h = rt
  await waitFor('rtorrent to hold every file with the right md5', async () => {
    try {
      return (await md5Dir(join(out, tt.metainfo.name))) === want
    } catch {
      return false // not created yet
    }
  }, 30_000).catch((err) => {
    throw new Error(`${err.message}\nbt: ${seed.stderr()}\n${seed.lines.slice(-5).join('\n')}\nrtorrent: ${h.output().slice(-800)}`)
  })
  console.error(`  rtorrent <- bt seed: ${Date.now() - started} ms`)
  assert.ok(seed.events.some((e) => e.event === 'seeding'), 'bt seed said it was seeding')
})

test.run()
