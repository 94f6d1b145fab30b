// Protocol encryption (MSE/PE) against python3-libtorrent on 127.0.0.1: an encryption-only libtorrent seeder and
// leecher exchange data with bt (default --encryption prefer); --encryption require refuses a plain-only peer and says
// so in the connection-end counters; prefer falls back to plain text with a plain-only peer; off talks plain.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bt, btUntil as btUntilIn } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { startLibtorrent } from '../helpers/libtorrent.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { within } from '../helpers/wait.js'

const MiB = 1024 * 1024
const stoppers: Array<{ stop(): Promise<void> }> = []
test.after.each(async () => {
  await Promise.allSettled(stoppers.splice(0).reverse().map((s) => s.stop()))
})

const env = () => ({ XDG_DATA_HOME: tmpDir('bt-xdg-'), BT_DHT_BOOTSTRAP: 'none', NO_COLOR: '1' })
const btUntil = (args: string[], match: (e: Record<string, any>) => boolean, ms: number) => btUntilIn(args, match, ms, env())

async function download(torrentPath: string, peer: string, extra: string[] = []): Promise<{ out: string; ms: number }> {
  const out = tmpDir('bt-out-')
  const started = Date.now()
  const r = await bt(['download', torrentPath, '-o', out, '--port', '0', '--no-dht', '--json', '--peer', peer, ...extra], { env: env(), timeoutMs: 30_000 })
  assert.is(r.code, 0, r.stderr + r.stdout)
  return { out, ms: Date.now() - started }
}

test('bt download (prefer) from a libtorrent seeder that forces RC4 encryption', async () => {
  const tt = await makeTestTorrent([3 * MiB + 11], { pieceLength: 256 * 1024, seed: 131 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, encryption: 'forced' })
  stoppers.push(lt)
  const { out, ms } = await download(tt.torrentPath, `127.0.0.1:${lt.port}`)
  await assertSameMd5(tt, out)
  console.error(`  bt <- libtorrent (pe_forced, rc4): ${ms} ms wall`)
})

test('bt download --encryption require from a libtorrent seeder that forces encryption', async () => {
  const tt = await makeTestTorrent([1 * MiB + 5, 700_000], { pieceLength: 256 * 1024, seed: 132 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, encryption: 'forced' })
  stoppers.push(lt)
  const { out } = await download(tt.torrentPath, `127.0.0.1:${lt.port}`, ['--encryption', 'require'])
  await assertSameMd5(tt, out)
})

/** A libtorrent leecher that forces encryption fetches a fresh torrent from `bt seed` (with `extra` options); md5 checked. */
async function forcedLeecherFromBtSeed(size: number, seed: number, extra: string[]): Promise<void> {
  const tt = await makeTestTorrent([size], { pieceLength: 256 * 1024, seed })
  const seeder = btUntil(['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht', '--json', ...extra], (e) => e.event === 'seeding', 15_000)
  stoppers.push(seeder)
  const { port } = await seeder.result
  const out = tmpDir('lt-out-')
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: out, encryption: 'forced', peers: [`127.0.0.1:${port}`] })
  stoppers.push(lt)
  await within(lt.done, 20_000, () => lt.log().slice(-2000) + seeder.output().slice(-1000))
  await assertSameMd5(tt, out)
}

test('a libtorrent leecher that forces encryption downloads from bt seed', () => forcedLeecherFromBtSeed(2 * MiB + 3, 133, []))

test('a libtorrent leecher that forces encryption downloads from bt seed --encryption require', () =>
  forcedLeecherFromBtSeed(1 * MiB + 3, 134, ['--encryption', 'require']))

test('bt download --encryption require refuses a plain-only libtorrent seeder, counted as "encryption"', async () => {
  const tt = await makeTestTorrent([512 * 1024], { pieceLength: 256 * 1024, seed: 135 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, encryption: 'disabled' })
  stoppers.push(lt)
  const d = btUntil(['download', tt.torrentPath, '-o', tmpDir('bt-out-'), '--port', '0', '--no-dht', '--json', '--encryption', 'require', '--peer', `127.0.0.1:${lt.port}`],
    (e) => e.event === 'done' || (e.event === 'progress' && e.ends?.encryption >= 1), 20_000)
  stoppers.push(d)
  const e = await d.result
  assert.is(e.event, 'progress', 'no download from a plain-only peer under --encryption require')
  assert.is(e.have, 0)
  assert.is(e.ends.handshake, 0, JSON.stringify(e.ends))
  assert.is(lt.stats().uploaded, 0)
})

test('bt download (prefer) falls back to plain text with a plain-only libtorrent seeder', async () => {
  const tt = await makeTestTorrent([2 * MiB], { pieceLength: 256 * 1024, seed: 136 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true, encryption: 'disabled' })
  stoppers.push(lt)
  const prefer = await download(tt.torrentPath, `127.0.0.1:${lt.port}`)
  await assertSameMd5(tt, prefer.out)
  const off = await download(tt.torrentPath, `127.0.0.1:${lt.port}`, ['--encryption', 'off'])
  await assertSameMd5(tt, off.out)
  // The fallback redials at once: it costs a round trip or two, not a back-off.
  console.error(`  plain-only peer: prefer (encrypted try, then plain) ${prefer.ms} ms wall, off ${off.ms} ms wall`)
  assert.ok(prefer.ms < off.ms + 1500, `fallback took ${prefer.ms - off.ms} ms longer than plain`)
})

test('bt download --encryption off talks plain text to a default libtorrent seeder', async () => {
  const tt = await makeTestTorrent([1 * MiB], { pieceLength: 256 * 1024, seed: 137 })
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true })
  stoppers.push(lt)
  const { out } = await download(tt.torrentPath, `127.0.0.1:${lt.port}`, ['--encryption', 'off'])
  await assertSameMd5(tt, out)
})

test('bt download --encryption with a bad value is a usage error', async () => {
  const r = await bt(['download', 'x.torrent', '--encryption', 'maybe'], { env: env(), timeoutMs: 10_000 })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /encryption/)
})

test.run()
