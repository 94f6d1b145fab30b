// A search index for the search tests: a few thousand generated bitmagnet-style NDJSON records (TV episodes and
// season packs, movies, music, books, software, daily shows) imported with the real `bt import`, plus records the
// caller adds (the torrents a local seeder really serves).
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'

export const SHOWS = ['Northern Lights', 'Harbor Police', 'Quantum Bakery', 'Silent Orchard', 'Copper Road', 'Glass Tower', 'Red Meadow', 'Iron Lake', 'Blue Canyon', 'Night Shift']
export const MOVIES = ['Paper Moon Rising', 'The Long Winter', 'Midnight Express Line', 'Crimson Tide Pool', 'Hollow Earth', 'Desert Bloom', 'Last Train Home', 'Star Harbor']
const RES = ['720p', '1080p', '2160p']
const SRC = ['WEB-DL', 'HDTV', 'BluRay', 'WEBRip']
const GROUPS = ['NTb', 'LOL', 'FLUX', 'SPARKS', 'RARBG', 'KOGi']

export interface FixtureRecord {
  infoHash: string
  name: string
  size: number
  publishedAt: string
  seeders?: number
  leechers?: number
  files?: { path: string; size: number }[]
}

const hash = (s: string) => createHash('sha1').update(s).digest('hex')
const BASE = Date.UTC(2024, 0, 1)

export function fixtureRecords(): FixtureRecord[] {
  const out: FixtureRecord[] = []
  let n = 0
  const add = (name: string, size: number, files?: FixtureRecord['files']) => {
    n++
    out.push({ infoHash: hash(`fixture ${n} ${name}`), name, size, publishedAt: new Date(BASE + n * 60_000).toISOString(), seeders: n % 17, leechers: n % 5, files })
  }
  SHOWS.forEach((show, si) => {
    for (let season = 1; season <= 3; season++) {
      for (let ep = 1; ep <= 12; ep++) {
        for (const res of RES.slice(0, 2 + (ep % 2))) {
          const name = `${show.replace(/ /g, '.')}.S${String(season).padStart(2, '0')}E${String(ep).padStart(2, '0')}.${res}.${SRC[(ep + si) % 4]}.x264-${GROUPS[(si + ep) % 6]}`
          add(name, 500e6 + ep * 1e6, [{ path: `${name}.mkv`, size: 500e6 + ep * 1e6 }])
        }
      }
      add(`${show} S${String(season).padStart(2, '0')} 1080p BluRay x264-${GROUPS[si % 6]}`, 12e9)
    }
  })
  MOVIES.forEach((movie, mi) => {
    for (let y = 0; y < 12; y++) {
      for (const res of RES) add(`${movie.replace(/ /g, '.')}.${1990 + y + mi}.${res}.${SRC[(y + mi) % 4]}.x265-${GROUPS[(y + mi) % 6]}`, 2e9 + y * 1e8)
    }
  })
  for (let i = 0; i < 300; i++) add(`Artist ${i % 40} - Album ${i} (${2000 + (i % 20)}) [FLAC]`, 300e6, [{ path: `Artist ${i % 40} - Album ${i}/01 Track.flac`, size: 30e6 }])
  for (let i = 0; i < 200; i++) add(`Author ${i % 30} - Book Title ${i} (${2010 + (i % 10)}) epub`, 2e6, [{ path: `Book Title ${i}.epub`, size: 2e6 }])
  for (let i = 0; i < 150; i++) add(`Ubuntu ${18 + (i % 8)}.04 Desktop amd64 iso build ${i}`, 3e9, [{ path: `ubuntu-${i}.iso`, size: 3e9 }])
  for (let i = 0; i < 100; i++) add(`The Daily Talk ${2024}.${String(1 + (i % 12)).padStart(2, '0')}.${String(1 + (i % 28)).padStart(2, '0')} 720p WEB h264-${GROUPS[i % 6]}`, 800e6)
  for (let i = 0; out.length < 3200; i++) add(`misc archive ${i} collection`, 1e6)
  return out
}

/** Import the fixture plus `extra` into a new SQLite index; returns its path. */
export async function buildIndex(extra: FixtureRecord[] = []): Promise<{ db: string; records: FixtureRecord[] }> {
  const dir = tmpDir('bt-search-index-')
  const records = [...fixtureRecords(), ...extra]
  const file = join(dir, 'fixture.ndjson')
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n')
  const db = join(dir, 'index.db')
  const r = await bt(['import', '--db', db, '--quiet', file], { timeoutMs: 60_000 })
  if (r.code !== 0) throw new Error(`bt import failed (${r.code}): ${r.stderr}`)
  return { db, records }
}
