// Proves the interop harness with real clients only (no bt engine): libtorrent, aria2c and transmission-cli swarms on
// 127.0.0.1, through opentracker or direct peer addresses, must deliver byte-identical files.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { magnetOf } from '../../src/metainfo/magnet.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { run } from '../helpers/cli.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { md5Dir, md5File, runAria2, startTransmission } from '../helpers/clients.js'
import { startOpentracker } from '../helpers/opentracker.js'
import { within } from '../helpers/wait.js'

const MiB = 1024 * 1024

/** A seed directory holding one random file and a torrent of it (256 KiB pieces), optionally announcing to `tracker`. */
async function makeSingle(size: number, seed: number, tracker?: string) {
  const root = tmpDir()
  const seedDir = join(root, 'seed')
  mkdirSync(seedDir)
  const file = join(seedDir, 'payload.bin')
  writeRandomFile(file, size, seed)
  const torrentPath = join(root, 'payload.torrent')
  const bytes = await createTorrent(file, { pieceLength: 256 * 1024, trackers: tracker ? [[tracker]] : [] })
  writeFileSync(torrentPath, bytes)
  return { root, seedDir, file, torrentPath, meta: parseTorrent(bytes) }
}

async function stopAll(...hs: Array<{ stop(): Promise<void> } | undefined>) {
  await Promise.all(hs.map((h) => h?.stop()))
}

test('libtorrent seeder -> libtorrent leecher through opentracker (HTTP)', async () => {
  const probe = await makeSingle(3 * MiB + 4321, 11)
  const tracker = await startOpentracker([probe.meta.infoHash])
  let seeder: LtHandle | undefined
  let leecher: LtHandle | undefined
  try {
    // The announce URL is outside the info dict, so the info hash whitelisted above stays the same.
    const torrentPath = join(probe.root, 'tracked.torrent')
    writeFileSync(torrentPath, await createTorrent(probe.file, { pieceLength: 256 * 1024, trackers: [[tracker.httpUrl]] }))
    seeder = await startLibtorrent({ torrentPath, saveDir: probe.seedDir, seed: true })
    assert.is(seeder.infoHash, probe.meta.infoHash)
    assert.ok(seeder.log().includes('tracker_reply'), 'seeder announced to opentracker')
    const out = join(probe.root, 'leech')
    leecher = await startLibtorrent({ torrentPath, saveDir: out })
    const l = leecher
    await within(l.done, 20_000, () => l.log())
    assert.ok(l.log().includes('"tracker_reply"'), 'leecher got its peer from the tracker')
    assert.is(await md5File(join(out, 'payload.bin')), await md5File(probe.file))
  } finally {
    await stopAll(leecher, seeder, tracker)
  }
})

test('libtorrent seeder -> aria2c leecher, tracker given with --bt-tracker', async () => {
  const p = await makeSingle(4 * MiB, 12)
  const tracker = await startOpentracker([p.meta.infoHash])
  let seeder: LtHandle | undefined
  try {
    seeder = await startLibtorrent({ torrentPath: p.torrentPath, saveDir: p.seedDir, seed: true, trackers: [tracker.httpUrl] })
    const out = join(p.root, 'aria2')
    const r = await runAria2({ torrentOrMagnet: p.torrentPath, dir: out, tracker: tracker.httpUrl, timeoutMs: 20_000 })
    assert.is(r.code, 0, r.output)
    assert.is(await md5File(join(out, 'payload.bin')), await md5File(p.file))
    assert.ok(seeder.stats().uploaded >= 4 * MiB || (await waitUploaded(seeder, 4 * MiB)), 'seeder uploaded the payload')
  } finally {
    await stopAll(seeder, tracker)
  }
})

test('libtorrent seeder -> aria2c leecher from a magnet link (metadata over ut_metadata)', async () => {
  const p = await makeSingle(2 * MiB + 1, 13)
  const tracker = await startOpentracker([p.meta.infoHash])
  let seeder: LtHandle | undefined
  try {
    seeder = await startLibtorrent({ torrentPath: p.torrentPath, saveDir: p.seedDir, seed: true, trackers: [tracker.httpUrl] })
    const out = join(p.root, 'aria2m')
    const magnet = magnetOf({ ...p.meta, announce: [], urlList: [] })
    const r = await runAria2({ torrentOrMagnet: magnet, dir: out, tracker: tracker.httpUrl, timeoutMs: 20_000 })
    assert.is(r.code, 0, r.output)
    assert.is(await md5File(join(out, 'payload.bin')), await md5File(p.file))
  } finally {
    await stopAll(seeder, tracker)
  }
})

test('libtorrent seeder -> libtorrent leecher, direct peer address, multi-file torrent by mktorrent', async () => {
  const root = tmpDir()
  const data = join(root, 'seed', 'album')
  mkdirSync(join(data, 'cd2'), { recursive: true })
  writeRandomFile(join(data, 'a.bin'), 1 * MiB + 17, 21)
  writeRandomFile(join(data, 'cd2', 'b.bin'), 2 * MiB - 5, 22)
  writeRandomFile(join(data, 'c.txt'), 999, 23)
  const torrentPath = join(root, 'album.torrent')
  const mk = await run('mktorrent', ['-l', '16', '-a', 'http://127.0.0.1:1/announce', '-o', torrentPath, data])
  assert.is(mk.code, 0, mk.stderr)
  let seeder: LtHandle | undefined
  let leecher: LtHandle | undefined
  try {
    seeder = await startLibtorrent({ torrentPath, saveDir: join(root, 'seed'), seed: true })
    assert.is(seeder.stats().progress, 1, seeder.log())
    const out = join(root, 'leech')
    leecher = await startLibtorrent({ torrentPath, saveDir: out, peers: [`127.0.0.1:${seeder.port}`] })
    const l = leecher
    await within(l.done, 20_000, () => l.log())
    assert.is(await md5Dir(join(out, 'album')), await md5Dir(data))
  } finally {
    await stopAll(leecher, seeder)
  }
})

test('libtorrent leecher from a magnet with a direct peer (add_peer command)', async () => {
  const p = await makeSingle(1 * MiB + 99, 14)
  let seeder: LtHandle | undefined
  let leecher: LtHandle | undefined
  try {
    seeder = await startLibtorrent({ torrentPath: p.torrentPath, saveDir: p.seedDir, seed: true })
    const out = join(p.root, 'leech')
    leecher = await startLibtorrent({ magnet: magnetOf({ ...p.meta, announce: [], urlList: [] }), saveDir: out })
    leecher.addPeer(`127.0.0.1:${seeder.port}`)
    const l = leecher
    await within(l.done, 20_000, () => l.log())
    assert.is(await md5File(join(out, 'payload.bin')), await md5File(p.file))
  } finally {
    await stopAll(leecher, seeder)
  }
})

test('libtorrent seeder connects to a transmission-cli leecher', async () => {
  const p = await makeSingle(2 * MiB, 15)
  let seeder: LtHandle | undefined
  const out = join(p.root, 'tr')
  const tr = await startTransmission({ torrentPath: p.torrentPath, dir: out, timeoutMs: 40_000 })
  try {
    seeder = await startLibtorrent({ torrentPath: p.torrentPath, saveDir: p.seedDir, seed: true, peers: [`127.0.0.1:${tr.port}`] })
    await within(tr.done, 35_000, () => tr.output().slice(-500))
    assert.is(await md5File(join(out, 'payload.bin')), await md5File(p.file))
  } finally {
    await stopAll(seeder, tr)
  }
})

async function waitUploaded(h: LtHandle, bytes: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (h.stats().uploaded >= bytes) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

test.run()
