// Real clients find each other through bt's tracker, over HTTP and over UDP: a python3-libtorrent seeder, then bt
// (`bt download`), aria2c (HTTP only: Debian's aria2c 1.36 says "udp is not supported yet") and a libtorrent
// leecher at once, each knowing only the tracker from the .torrent.
// Every download is checked by md5, and the tracker's scrape counts follow the swarm.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor, within } from '../helpers/wait.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { assertSameMd5, runAria2 } from '../helpers/clients.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { startTracker, type TrackerService } from '../../src/tracker/service.js'

const MiB = 1024 * 1024
let svc: TrackerService | undefined
const lts: LtHandle[] = []

test.after.each(async () => {
  await Promise.allSettled(lts.splice(0).map((l) => l.stop()))
  await svc?.close()
  svc = undefined
})

async function swarmThrough(kind: 'http' | 'udp', seed: number): Promise<void> {
  svc = await startTracker({ httpPort: kind === 'http' ? 0 : -1, udpPort: kind === 'udp' ? 0 : -1, interval: 5 })
  const url = kind === 'http' ? `http://127.0.0.1:${svc.http[0].address.port}/announce` : `udp://127.0.0.1:${svc.udp[0].address.port}/announce`
  const tt = await makeTestTorrent([2 * MiB + 12345], { pieceLength: 64 * 1024, seed, trackers: [[url]] })
  const ih = tt.metainfo.infoHashBuffer.toString('latin1')
  const seeder = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true })
  lts.push(seeder)
  assert.equal(svc.tracker.scrape([ih]).get(ih), { complete: 1, incomplete: 0, downloaded: 0 }, 'the seeder announced')

  const ltDir = tmpDir('lt-leech-')
  const lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: ltDir })
  lts.push(lt)
  const btDir = tmpDir('bt-leech-')
  const ariaDir = tmpDir('aria-leech-')
  const [btRun, ariaRun] = await Promise.all([
    bt(['download', tt.torrentPath, '-o', btDir, '--port', '0', '--no-dht'], { env: { XDG_DATA_HOME: tmpDir('bt-xdg-') }, timeoutMs: 40_000 }),
    kind === 'http' ? runAria2({ torrentOrMagnet: tt.torrentPath, dir: ariaDir, timeoutMs: 40_000 }) : undefined,
    within(lt.done, 40_000, () => lt.log().slice(-2000)),
  ])
  assert.is(btRun.code, 0, `bt download: ${btRun.stderr}`)
  await assertSameMd5(tt, btDir)
  if (ariaRun) {
    assert.is(ariaRun.code, 0, `aria2c: ${ariaRun.output.slice(-2000)}`)
    await assertSameMd5(tt, ariaDir)
  }
  await assertSameMd5(tt, ltDir)
  // Each leecher's download is counted; the libtorrent leecher is now a seeder too.
  const leechers = ariaRun ? 3 : 2
  const s = await waitFor('completed counts', () => {
    const e = svc!.tracker.scrape([ih]).get(ih)!
    return e.downloaded >= leechers && e.complete >= 2 ? e : undefined
  }, 10_000).catch(() => { throw new Error(`scrape: ${JSON.stringify(svc!.tracker.scrape([ih]).get(ih))}`) })
  assert.ok(s!.incomplete === 0, `no leecher left: ${JSON.stringify(s)}`)
  const st = svc.tracker.stats()
  assert.ok(st.announces >= 1 + 2 * leechers, `announces: ${st.announces}`)
}

test('HTTP: libtorrent seeds; bt, aria2c and libtorrent leech through the tracker', async () => {
  await swarmThrough('http', 61)
})

test('UDP: libtorrent seeds; bt and libtorrent leech through the tracker', async () => {
  await swarmThrough('udp', 62)
})

test.run()
