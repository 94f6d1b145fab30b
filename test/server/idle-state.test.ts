// An idle bt serve daemon with many seeding torrents writes nothing to its state files: the seconds counters run from
// a start time instead of changing every record every second, and the periodic save writes only what moved. The
// counters still add up across a graceful restart, and a seed limit set on an idle torrent still applies.
// In process (Daemon + Client), real files, 300 tiny torrents.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import bencode from 'bencode'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { Client } from '../../src/session/client.js'
import { Daemon } from '../../src/server/daemon.js'
import { tmpDir, seededBytes } from '../helpers/tmp.js'
import { delay, waitFor } from '../helpers/wait.js'

const N = 300
const SAVE_MS = 500

const timer = setTimeout(() => {
  console.error('idle-state.test.ts: watchdog fired')
  process.exit(1)
}, 55_000)
timer.unref()

/** N single-file torrents of 4 KiB each (one piece), their data in `dir`. */
function makeTorrents(dir: string, n: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const data = seededBytes(4096, 1000 + i)
    writeFileSync(join(dir, `t${i}.bin`), data)
    const info = { name: `t${i}.bin`, length: data.length, 'piece length': 16384, pieces: createHash('sha1').update(data).digest() }
    out.push(Buffer.from(bencode.encode({ info })))
  }
  return out
}

let client: Client | undefined
let daemon: Daemon | undefined
async function open(stateDir: string, downloadDir: string): Promise<Daemon> {
  client = new Client({ port: 0, host: '127.0.0.1', resumeDir: join(stateDir, 'resume') })
  await client.listen()
  daemon = await Daemon.open({ client, stateDir, downloadDir, saveEveryMs: SAVE_MS })
  return daemon
}
async function close(): Promise<void> {
  const d = daemon
  daemon = undefined
  if (d) await d.close()
  else await client?.destroy()
  client = undefined
}

test.after.each(async () => {
  await close()
})

const stamp = (f: string) => {
  const s = statSync(f)
  return `${s.size}/${s.mtimeMs}`
}

test(`${N} seeding torrents: idle seconds write nothing to state.json or state.log; seconds counters survive a restart`, async () => {
  const data = tmpDir('bt-idle-data-')
  const stateDir = join(tmpDir('bt-idle-state-'), 'serve')
  mkdirSync(stateDir, { recursive: true })
  const files = makeTorrents(data, N)
  let d = await open(stateDir, data)
  for (const bytes of files) await d.add({ kind: 'torrent', metainfo: parseTorrent(bytes), bytes })
  await waitFor('all seeding', () => d.list().every((e) => e.status === 'seeding'), 30_000)
  // Let the last state changes (checking → seeding) reach the files: several save periods.
  await delay(3 * SAVE_MS + 1100)
  const before = { json: stamp(d.store.file), log: stamp(d.store.log) }
  const secs0 = d.list().map((e) => e.seconds('secondsSeeding'))
  // Idle: several ticks and save periods with nothing happening.
  await delay(3500)
  assert.equal({ json: stamp(d.store.file), log: stamp(d.store.log) }, before, 'an idle daemon wrote to its state files')
  // Yet the counters ran: derived when read.
  const secs1 = d.list().map((e) => e.seconds('secondsSeeding'))
  assert.ok(secs1.every((s, i) => s - secs0[i] >= 3 && s - secs0[i] <= 5), `seconds seeding moved by ${secs1[0] - secs0[0]} over 3.5 s`)
  assert.ok(d.list().every((e) => e.seconds('secondsDownloading') === 0))

  // A change is one line for that torrent, not a rewrite of every record.
  const logSize = statSync(d.store.log).size
  d.setLabels(d.list()[7], ['changed'])
  await waitFor('the change saved', () => statSync(d.store.log).size > logSize, 5000)
  await delay(2 * SAVE_MS)
  const grew = statSync(d.store.log).size - logSize
  assert.ok(grew < 1000, `one label change appended ${grew} bytes`)

  // Graceful restart: the counters are folded into the records and carry on from there.
  const atClose = d.list()[0].seconds('secondsSeeding')
  await close()
  d = await open(stateDir, data)
  assert.is(d.list().length, N)
  const reopened = d.list()[0]
  assert.ok(reopened.record.secondsSeeding >= atClose, `secondsSeeding ${reopened.record.secondsSeeding} after restart, ${atClose} before`)
  assert.ok(reopened.record.secondsSeeding <= atClose + 1, `secondsSeeding ${reopened.record.secondsSeeding} after restart, ${atClose} before`)
  assert.equal(reopened.record.labels, [], 'only torrent 7 was labelled')
  assert.equal(d.list()[7].record.labels, ['changed'])
  await waitFor('seeding again', () => d.list().every((e) => e.status === 'seeding'), 30_000)
  await delay(1200)
  assert.ok(d.list()[0].seconds('secondsSeeding') > reopened.record.secondsSeeding, 'the counter runs again after the restart')

  // An idle torrent is still looked at when its limits change: a ratio of 0 is reached at once and stops it.
  const limited = d.list()[3]
  d.setSeedLimits(limited, { ratioMode: 1, ratioLimit: 0 })
  await waitFor('the seed ratio limit applied to an idle torrent', () => limited.record.finished && limited.status === 'stopped', 5000)
  assert.ok(d.list().filter((e) => e.status === 'seeding').length === N - 1, 'only the limited torrent stopped')
})

test.run()
