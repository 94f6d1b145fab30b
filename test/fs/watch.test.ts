// torrentfs watching a metainfo directory, with the real session Client behind it and a bt seeder on 127.0.0.1:
// torrents (.torrent and .magnet) appear and disappear with their files, bad files are reported, local data is served
// at once, and a corrupt local piece is fetched again from the seeder.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync, utimesSync, cpSync, openSync, writeSync, closeSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpDir } from '../helpers/tmp.js'
import { makeFixture, md5, type Fixture } from '../stream/scripted-torrent.js'
import { TorrentFS } from '../../src/fs/torrentfs.js'
import { MetainfoWatcher } from '../../src/fs/watcher.js'
import { ClientTorrentProvider } from '../../src/fs/client-provider.js'
import { Client } from '../../src/session/client.js'
import { cleanupMount, delay, preadChild, runChild, waitFor, watchdog, catMd5 } from './helpers.js'

watchdog()

const KiB = 1024
const dir = tmpDir('bt-torrentfs-watch-')
const mnt = join(dir, 'mnt')
const torrents = join(dir, 'torrents')
const data = join(dir, 'data')
const errors: Array<{ path: string; message: string }> = []
let fs: TorrentFS
let watcher: MetainfoWatcher
let provider: ClientTorrentProvider
let seeder: Client
const fx: Record<string, Fixture> = {}

const listing = async () => (await readdir(mnt)).sort()

test.before(async () => {
  for (const d of [mnt, torrents, data]) mkdirSync(d)
  // Fixtures write their data under dir/src/data-NAME/NAME: the seeder serves it from there; the mount's download
  // dir gets a copy of all but 'fourth' (which exists only at the seeder, for the magnet test).
  seeder = new Client({ port: 0, host: '127.0.0.1', resumeDir: join(dir, 'seed-resume') })
  await seeder.listen()
  const make = async (name: string, files: Record<string, number>, single = false, local = true) => {
    const f = await makeFixture(join(dir, 'src'), name, files, 32 * KiB, { single })
    if (local) cpSync(join(dir, 'src', `data-${name}`, name), join(data, name), { recursive: true })
    seeder.add(f.torrent.metainfo, { dir: join(dir, 'src', `data-${name}`), seed: true, stream: true })
    fx[name] = f
  }
  mkdirSync(join(dir, 'src'))
  await make('first', { 'a.bin': 300_000, 'b/c.bin': 70_000 })
  await make('second.iso', { 'second.iso': 500_000 }, true)
  await make('third', { 'x.bin': 200_000 })
  await make('broken', { 'y.bin': 320 * KiB })
  await make('fourth', { 'z.bin': 250_000 }, false, false)
  writeFileSync(join(torrents, 'first.torrent'), fx.first.torrentFile)
  const client = new Client({ port: 0, host: '127.0.0.1', resumeDir: join(dir, 'resume') })
  await client.listen()
  provider = new ClientTorrentProvider(client, { downloadDir: data, peers: [{ host: '127.0.0.1', port: seeder.port() }] })
  fs = new TorrentFS(mnt)
  cleanupMount(mnt)
  await fs.mount()
  watcher = new MetainfoWatcher(torrents, provider, fs, { onError: (path, err) => errors.push({ path, message: (err as Error).message }) })
  await watcher.start()
  await watcher.idle()
})

test.after(async () => {
  await fs.unmount().catch(() => {})
  await watcher.stop()
  await provider.close()
  await seeder.destroy()
})

test('a torrent present at start is shown and reads back verified', async () => {
  assert.equal(await listing(), ['first'])
  assert.is(await catMd5(join(mnt, 'first/a.bin')), md5(fx.first.files.get('a.bin')!))
  assert.is(await catMd5(join(mnt, 'first/b/c.bin')), md5(fx.first.files.get('b/c.bin')!))
})

test('a .torrent appearing shows its torrent within a second or two; removing it hides it', async () => {
  const t0 = Date.now()
  writeFileSync(join(torrents, 'second.torrent'), fx['second.iso'].torrentFile)
  await waitFor('second.iso to appear', async () => (await listing()).includes('second.iso'), 3000)
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`)
  assert.is(await catMd5(join(mnt, 'second.iso')), md5(fx['second.iso'].files.get('second.iso')!))
  await rm(join(torrents, 'second.torrent'))
  await waitFor('second.iso to go', async () => !(await listing()).includes('second.iso'), 3000)
  assert.equal(await listing(), ['first'])
})

test('a .torrent written slowly is picked up once complete; a bad one is reported, not shown', async () => {
  // Half a file now, the rest a moment later (as a slow copy would).
  const p = join(torrents, 'third.torrent')
  const bytes = fx.third.torrentFile
  const fd = openSync(p, 'w')
  writeSync(fd, bytes, 0, 40)
  await delay(300)
  writeSync(fd, bytes, 40, bytes.length - 40, 40)
  closeSync(fd)
  await waitFor('third to appear', async () => (await listing()).includes('third'), 4000)
  assert.is(await catMd5(join(mnt, 'third/x.bin')), md5(fx.third.files.get('x.bin')!))
  assert.equal(errors, [], 'the half-written file was not reported')

  const bad = join(torrents, 'bad.torrent')
  writeFileSync(bad, 'd4:infod4:name3:abcee')
  const old = new Date(Date.now() - 60_000)
  utimesSync(bad, old, old)
  writeFileSync(join(torrents, 'x.magnet'), 'magnet:?dn=no-hash')
  await waitFor('both errors', () => errors.length >= 2, 4000)
  assert.ok(errors.some((e) => e.path === bad && /not a valid torrent/.test(e.message)), JSON.stringify(errors))
  assert.ok(errors.some((e) => e.path.endsWith('x.magnet') && /not a valid magnet/.test(e.message)), JSON.stringify(errors))
  assert.equal(await listing(), ['first', 'third'])
  await rm(bad)
  await rm(join(torrents, 'x.magnet'))
})

test('a rewritten .torrent swaps the torrent shown', async () => {
  writeFileSync(join(torrents, 'third.torrent'), fx['second.iso'].torrentFile)
  await waitFor('the swap', async () => {
    const l = await listing()
    return l.includes('second.iso') && !l.includes('third')
  }, 4000)
  await rm(join(torrents, 'third.torrent'))
  await waitFor('it to go', async () => (await listing()).length === 1, 4000)
})

test('a .magnet appears once its metadata is fetched; its data streams from the seeder; removing it hides it', async () => {
  const f = fx.fourth
  writeFileSync(join(torrents, 'fourth.magnet'), `magnet:?xt=urn:btih:${f.torrent.metainfo.infoHash}&dn=fourth\n`)
  await waitFor('fourth to appear', async () => (await listing()).includes('fourth'), 5000)
  assert.is(await catMd5(join(mnt, 'fourth/z.bin')), md5(f.files.get('z.bin')!))
  await rm(join(torrents, 'fourth.magnet'))
  await waitFor('fourth to go', async () => !(await listing()).includes('fourth'), 4000)
})

test('a corrupt piece in the download directory is fetched again from the seeder; the rest reads from disk', async () => {
  const f = fx.broken
  const file = join(data, 'broken', 'y.bin')
  // Flip a byte in piece 4 (32 KiB pieces).
  const fd = openSync(file, 'r+')
  writeSync(fd, Buffer.from([f.files.get('y.bin')![4 * 32 * KiB + 7] ^ 0xff]), 0, 1, 4 * 32 * KiB + 7)
  closeSync(fd)
  writeFileSync(join(torrents, 'broken.torrent'), f.torrentFile)
  await waitFor('broken to appear', async () => (await listing()).includes('broken'), 3000)
  const c = preadChild(join(mnt, 'broken/y.bin'), [[0, 32 * KiB], [4 * 32 * KiB + 100, 1000], [6 * 32 * KiB, 1000]])
  assert.is(await c.exited, 0)
  const [a, b, d] = c.results()
  assert.is(a.md5, md5(f.files.get('y.bin')!.subarray(0, 32 * KiB)))
  assert.is(b.md5, md5(f.files.get('y.bin')!.subarray(4 * 32 * KiB + 100, 4 * 32 * KiB + 1100)))
  assert.is(d.md5, md5(f.files.get('y.bin')!.subarray(6 * 32 * KiB, 6 * 32 * KiB + 1000)))
})

test.run()
