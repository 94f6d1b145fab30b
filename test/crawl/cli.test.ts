// `bt crawl` as a user runs it, on a local DHT (6 bt DHT nodes, 8 python3-libtorrent nodes seeding 24 torrents):
// into an SQLite index that `bt search` then finds the torrents in; Ctrl-C writes the pending batch and exits 130;
// --json prints stats objects; --workers runs the identities on worker threads; two crawlers share one PostgreSQL index without duplicates or lost rows; bad
// arguments give one-line errors with exit code 2.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import pg from 'pg'
import { bt, killSpawned, spawnBt } from '../helpers/cli.js'
import { startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { postgresAvailable, startPostgres, type PgServer } from '../helpers/postgres.js'
import { tmpDir } from '../helpers/tmp.js'
import { delay, within } from '../helpers/wait.js'
import { makeTorrents, startLtDhtSwarm, type LtDhtSwarm, type MadeTorrent } from './helpers.js'

let swarm: DhtSwarm
let lt: LtDhtSwarm
let torrents: MadeTorrent[]
let pgServer: PgServer | undefined

test.before(async () => {
  swarm = await startDhtSwarm(6)
  torrents = await makeTorrents(tmpDir('bt-crawl-cli-'), 24, 7)
  lt = await startLtDhtSwarm({ bootstrap: swarm.bootstrap, sessions: 8, sampleInterval: 0, seeds: torrents })
})

test.after(async () => {
  killSpawned()
  pgServer?.stop()
  await lt?.stop()
  await swarm?.stop()
})

async function searchAll(db: string): Promise<Array<Record<string, any>>> {
  const r = await bt(['search', '--db', db, '--json', '--limit', '1000'])
  if (r.code === 4 && /no index yet/.test(r.stderr)) return [] // the crawler has not created it yet
  assert.is(r.code, 0, r.stderr)
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
}

async function waitIndexed(db: string, want: number, ms: number): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + ms
  let rows: Array<Record<string, any>> = []
  while (Date.now() < deadline) {
    rows = await searchAll(db)
    if (torrents.filter((t) => rows.some((r) => r.infoHash === t.infoHash)).length >= want) break
    await delay(1000)
  }
  return rows
}

const crawlArgs = (db: string, state: string) =>
  ['crawl', '--db', db, '--dht-bootstrap', swarm.bootstrap[0], '--state-dir', state, '--json', '--rate', '300']

test('bad arguments: one line on stderr, exit 2', async () => {
  for (const args of [['--nodes', '0'], ['--duration', 'soon'], ['--rate', '-5'], ['--metadata-concurrency', '1.5'], ['--dht-bootstrap', 'nohost']]) {
    const r = await bt(['crawl', '--db', join(tmpDir(), 'x.db'), ...args])
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    assert.match(r.stderr, /^bt: /)
  }
})

test('bt crawl fills an SQLite index that bt search reads; Ctrl-C writes the batch and exits 130', async () => {
  const dir = tmpDir()
  const db = join(dir, 'index.db')
  const p = spawnBt(crawlArgs(db, join(dir, 'state')))
  const rows = await waitIndexed(db, Math.ceil(torrents.length * 0.95), 40_000)
  const found = torrents.filter((t) => rows.some((r) => r.infoHash === t.infoHash))
  assert.ok(found.length >= Math.ceil(torrents.length * 0.95), `bt search found ${found.length}/${torrents.length}; crawler stderr: ${p.stderr()}`)
  p.child.kill('SIGINT')
  const exit = await within(p.exit, 15_000, 'bt crawl to exit after SIGINT')
  assert.is(exit.code, 130)
  const last = p.events.at(-1)!
  assert.is(last.event, 'stopped')
  assert.ok(last.metadata.fetched >= found.length, JSON.stringify(last))
  assert.type(last.routingTable, 'number')
  // By name, as a user searches: a TV episode and an album with their files.
  const tv = torrents.find((t) => t.name.startsWith('The.Expanse') && found.includes(t))
  if (tv) {
    const r = await bt(['search', '--db', db, '--json', 'expanse'])
    assert.ok(r.stdout.includes(tv.infoHash), r.stdout)
  }
  const album = found.find((t) => t.files > 1)!
  const hit = rows.find((r) => r.infoHash === album.infoHash)!
  assert.is(hit.name, album.name)
  assert.is(hit.fileCount, album.files)
  // Classified on the way in: the TV episodes come back under type:tv_show with their season and episode.
  const episodes = found.filter((t) => /\.S\d\dE\d\d\./.test(t.name))
  const tvRows = rows.filter((r) => r.classification?.contentType === 'tv_show')
  assert.ok(episodes.length > 0)
  for (const t of episodes) assert.ok(tvRows.some((r) => r.infoHash === t.infoHash), `${t.name} classified as a TV show`)
  const ep = tvRows.find((r) => r.infoHash === episodes[0].infoHash)!
  assert.is(ep.classification.seasons.length, 1)
  assert.is(ep.classification.episodes.length, 1)
})

test('--nodes 2 --workers: the worker threads fill the index; Ctrl-C stops them all with the summed stats', async () => {
  const dir = tmpDir()
  const db = join(dir, 'index.db')
  const p = spawnBt([...crawlArgs(db, join(dir, 'state')), '--nodes', '2', '--workers'])
  const rows = await waitIndexed(db, Math.ceil(torrents.length * 0.8), 30_000)
  const found = torrents.filter((t) => rows.some((r) => r.infoHash === t.infoHash))
  assert.ok(found.length >= Math.ceil(torrents.length * 0.8), `bt search found ${found.length}/${torrents.length}; crawler stderr: ${p.stderr()}`)
  p.child.kill('SIGINT')
  const exit = await within(p.exit, 15_000, 'bt crawl --workers to exit after SIGINT')
  assert.is(exit.code, 130)
  const last = p.events.at(-1)!
  assert.is(last.event, 'stopped')
  assert.is(last.identities, 2)
  assert.ok(last.metadata.fetched >= found.length, JSON.stringify(last))
})

test('two crawlers on one PostgreSQL index: every torrent once, none lost', async () => {
  if (!postgresAvailable()) {
    console.log('PostgreSQL not installed: skipped')
    return
  }
  pgServer = await startPostgres()
  const url = await pgServer.createDatabase()
  const a = spawnBt(crawlArgs(url, join(tmpDir(), 'a')))
  const b = spawnBt(crawlArgs(url, join(tmpDir(), 'b')))
  const rows = await waitIndexed(url, torrents.length, 40_000)
  a.child.kill('SIGINT')
  b.child.kill('SIGINT')
  const [ea, eb] = await within(Promise.all([a.exit, b.exit]), 15_000, 'both crawlers to exit')
  assert.is(ea.code, 130, a.stderr())
  assert.is(eb.code, 130, b.stderr())
  const found = torrents.filter((t) => rows.some((r) => r.infoHash === t.infoHash))
  assert.ok(found.length >= Math.ceil(torrents.length * 0.95), `found ${found.length}/${torrents.length}`)
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const dup = await c.query('SELECT count(*)::int AS n, count(DISTINCT info_hash)::int AS d FROM bt_torrents')
    assert.is(dup.rows[0].n, dup.rows[0].d, 'no duplicate rows')
  } finally {
    await c.end()
  }
  // Both wrote: each crawler's own stats count what it fetched, and together they cover the swarm.
  const fa = a.events.at(-1)?.metadata?.fetched ?? 0
  const fb = b.events.at(-1)?.metadata?.fetched ?? 0
  assert.ok(fa > 0 && fb > 0, `fetched ${fa} and ${fb}`)
})

test.run()
