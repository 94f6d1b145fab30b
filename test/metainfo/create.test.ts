// bt create must give the same info hash as mktorrent for the same files and piece length.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent, pieceHash } from '../../src/metainfo/metainfo.js'
import { createHash } from 'node:crypto'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { bt, run } from '../helpers/cli.js'

async function mktorrentHash(dir: string, target: string, exp: number, extra: string[] = []): Promise<string> {
  const out = join(dir, `mk-${exp}-${extra.join('')}.torrent`)
  const r = await run('mktorrent', ['-l', String(exp), '-a', 'http://127.0.0.1:1/announce', ...extra, '-o', out, target], { cwd: dir })
  assert.is(r.code, 0, r.stderr)
  return parseTorrent(readFileSync(out)).infoHash
}

test('single file: same info hash as mktorrent at several piece lengths', async () => {
  const dir = tmpDir()
  const file = join(dir, 'data.bin')
  const data = writeRandomFile(file, 3 * 1024 * 1024 + 12345, 7)
  for (const exp of [15, 18, 20]) {
    const t = parseTorrent(await createTorrent(file, { pieceLength: 2 ** exp, trackers: [['http://127.0.0.1:1/announce']] }))
    assert.is(t.infoHash, await mktorrentHash(dir, file, exp), `piece length 2^${exp}`)
    const first = createHash('sha1').update(data.subarray(0, 2 ** exp)).digest()
    assert.ok(pieceHash(t, 0).equals(first))
  }
})

test('directory with nested, empty, hidden and symlinked files: same as mktorrent', async () => {
  const dir = tmpDir()
  const root = join(dir, 'album')
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true })
  mkdirSync(join(root, '.hidden'))
  writeRandomFile(join(root, 'B.flac'), 100000, 1)
  writeRandomFile(join(root, 'a.flac'), 250000, 2)
  writeRandomFile(join(root, 'sub', 'deeper', 'z.txt'), 17, 3)
  writeRandomFile(join(root, 'sub', 'c'), 65536, 4)
  writeFileSync(join(root, 'empty'), '')
  writeRandomFile(join(root, '.hidden', 'x'), 5, 5)
  symlinkSync(join(root, 'a.flac'), join(root, 'link.flac'))
  for (const [exp, priv] of [[15, false], [16, true]] as const) {
    const t = parseTorrent(await createTorrent(root, { pieceLength: 2 ** exp, private: priv, trackers: [['http://127.0.0.1:1/announce']] }))
    assert.is(t.infoHash, await mktorrentHash(dir, root, exp, priv ? ['-p'] : []))
    assert.is(t.private, priv)
  }
})

test('inputs over 64 MiB hash on the worker pool: same info hash as mktorrent, across file boundaries', async () => {
  const dir = tmpDir()
  const root = join(dir, 'big')
  mkdirSync(root)
  writeRandomFile(join(root, 'a.bin'), 40 * 1024 * 1024 + 12345, 21)
  writeFileSync(join(root, 'b-empty'), '')
  writeRandomFile(join(root, 'c.bin'), 30 * 1024 * 1024 + 777, 22)
  const t = parseTorrent(await createTorrent(root, { pieceLength: 2 ** 18, trackers: [['http://127.0.0.1:1/announce']] }))
  assert.is(t.infoHash, await mktorrentHash(dir, root, 18))
})

test('bt create CLI: output file, trackers, web seeds, magnet round trip', async () => {
  const dir = tmpDir()
  const file = join(dir, 'f.bin')
  writeRandomFile(file, 500000, 9)
  const r = await bt(['create', file, '-o', join(dir, 'f.torrent'), '-t', 'http://127.0.0.1:1/a,http://127.0.0.1:2/a', '-t', 'udp://127.0.0.1:3', '-w', 'http://127.0.0.1:4/f.bin', '-l', '64k', '--comment', 'c'])
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout.trim(), join(dir, 'f.torrent'))
  const m = parseTorrent(readFileSync(join(dir, 'f.torrent')))
  assert.equal(m.announce, [['http://127.0.0.1:1/a', 'http://127.0.0.1:2/a'], ['udp://127.0.0.1:3']])
  assert.equal(m.urlList, ['http://127.0.0.1:4/f.bin'])
  assert.is(m.pieceLength, 65536)
  assert.is(m.comment, 'c')
  const mg = await bt(['metainfo', join(dir, 'f.torrent'), 'magnet'])
  assert.is(mg.code, 0)
  assert.is(mg.stdout, `magnet:?xt=urn:btih:${m.infoHash}&dn=f.bin&tr=http://127.0.0.1:1/a&tr=http://127.0.0.1:2/a&tr=udp://127.0.0.1:3&ws=http://127.0.0.1:4/f.bin\n`)
  const bad = await bt(['create', join(dir, 'missing')])
  assert.is(bad.code, 2)
  assert.match(bad.stderr, /^bt: .*missing: no such file or directory\n$/)
  const badLen = await bt(['create', file, '-l', '1000'])
  assert.is(badLen.code, 2)
})

test('--no-date gives reproducible bytes', async () => {
  const dir = tmpDir()
  const file = join(dir, 'f.bin')
  writeRandomFile(file, 70000, 3)
  const a = await createTorrent(file, { creationDate: null })
  const b = await createTorrent(file, { creationDate: null })
  assert.ok(a.equals(b))
})

test.run()
