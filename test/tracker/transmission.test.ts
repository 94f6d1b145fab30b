// transmission-cli announces to bt's tracker over HTTP and over UDP and gets its download from a libtorrent seeder
// that learned transmission's address from the tracker. (transmission 3.00 drops the 127.x peers it learns itself,
// so the seeder has to do the dialling: it is started after transmission has announced.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor, within } from '../helpers/wait.js'
import { makeTestTorrent } from '../helpers/swarm.js'
import { peerAddr } from '../../src/tracker/swarm.js'
import { assertSameMd5, startTransmission, type TransmissionHandle } from '../helpers/clients.js'
import { startLibtorrent, type LtHandle } from '../helpers/libtorrent.js'
import { startTracker, type TrackerService } from '../../src/tracker/service.js'

const MiB = 1024 * 1024
let svc: TrackerService | undefined
let tr: TransmissionHandle | undefined
let lt: LtHandle | undefined

test.after.each(async () => {
  await tr?.stop()
  await lt?.stop()
  tr = lt = undefined
  await svc?.close()
  svc = undefined
})

async function viaTracker(kind: 'http' | 'udp', seed: number) {
  svc = await startTracker({ httpPort: kind === 'http' ? 0 : -1, udpPort: kind === 'udp' ? 0 : -1 })
  const url = kind === 'http' ? `http://127.0.0.1:${svc.http[0].address.port}/announce` : `udp://127.0.0.1:${svc.udp[0].address.port}/announce`
  const tt = await makeTestTorrent([1 * MiB + 777], { pieceLength: 64 * 1024, seed, trackers: [[url]] })
  const ih = tt.metainfo.infoHashBuffer.toString('latin1')
  const out = tmpDir('tr-out-')
  const t = (tr = await startTransmission({ torrentPath: tt.torrentPath, dir: out, timeoutMs: 55_000 }))
  await waitFor('transmission in the swarm', () => svc!.tracker.swarms.get(ih)?.leechers === 1, 15_000)
  const trAddr = peerAddr([...svc.tracker.swarms.get(ih)!.peers.values()][0])
  assert.is((trAddr.charCodeAt(4) << 8) | trAddr.charCodeAt(5), t.port, 'the tracker has transmission at its peer port')
  lt = await startLibtorrent({ torrentPath: tt.torrentPath, saveDir: tt.seedDir, seed: true })
  const { ms } = await within(t.done, 40_000, () => `${t.output().slice(-600)}\n${lt!.log().slice(-1000)}`)
  console.error(`  transmission via ${kind} tracker: ${ms} ms`)
  await assertSameMd5(tt, out)
  // transmission tells the tracker `completed` a few seconds after it starts seeding: the scrape follows.
  await waitFor('downloaded = 1', () => svc!.tracker.scrape([ih]).get(ih)!.downloaded === 1, 15_000)
  assert.equal(svc.tracker.scrape([ih]).get(ih), { complete: 2, incomplete: 0, downloaded: 1 })
}

test('transmission-cli over an HTTP tracker', async () => {
  await viaTracker('http', 71)
})

test('transmission-cli over a UDP tracker', async () => {
  await viaTracker('udp', 72)
})

test.run()
