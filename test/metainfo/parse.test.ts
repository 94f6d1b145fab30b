import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { parseTorrent, metainfoFromInfo } from '../../src/metainfo/metainfo.js'
import { BtError } from '../../src/errors.js'
import { seededBytes } from '../helpers/tmp.js'

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex')

function torrent(info: Record<string, unknown>, top: Record<string, unknown> = {}): Buffer {
  return Buffer.from(bencode.encode({ ...top, info }))
}

function expectInvalid(buf: Buffer, re: RegExp) {
  try {
    parseTorrent(buf, 'bad.torrent')
  } catch (err) {
    assert.instance(err, BtError)
    assert.is((err as BtError).exitCode, 2)
    assert.match((err as Error).message, /^bad\.torrent: not a valid torrent: /)
    assert.match((err as Error).message, re)
    assert.not.match((err as Error).message, /\n/)
    return
  }
  assert.unreachable(`parsed, expected ${re}`)
}

const pieces2 = Buffer.alloc(40, 1)

test('single-file torrent', () => {
  const info = { name: 'a.bin', 'piece length': 16384, length: 20000, pieces: pieces2 }
  const m = parseTorrent(torrent(info, { announce: 'http://t/a', comment: 'hi', 'creation date': 1700000000 }))
  assert.is(m.name, 'a.bin')
  assert.is(m.length, 20000)
  assert.is(m.pieceCount, 2)
  assert.is(m.lastPieceLength, 20000 - 16384)
  assert.equal(m.files, [{ path: ['a.bin'], length: 20000, offset: 0, padding: false }])
  assert.equal(m.announce, [['http://t/a']])
  assert.is(m.comment, 'hi')
  assert.is(m.creationDate?.getTime(), 1700000000 * 1000)
  assert.is(m.infoHash, sha1(bencode.encode(info)))
  assert.not.ok(m.multiFile)
})

test('multi-file torrent with offsets, utf-8 names, pad files', () => {
  const info = {
    name: 'x', 'name.utf-8': 'dïr', 'piece length': 16384, pieces: pieces2,
    files: [
      { length: 10, path: ['a'], 'path.utf-8': ['ä'] },
      { length: 16374, path: ['.pad', '16374'], attr: 'p' },
      { length: 5, path: ['sub', 'b'] },
    ],
  }
  const m = parseTorrent(torrent(info))
  assert.is(m.name, 'dïr')
  assert.ok(m.multiFile)
  assert.equal(m.files.map((f) => [f.path.join('/'), f.offset, f.padding]), [['dïr/ä', 0, false], ['dïr/.pad/16374', 10, true], ['dïr/sub/b', 16384, false]])
  assert.is(m.length, 16389)
})

test('announce-list tiers win over announce, url-list as string or list', () => {
  const info = { name: 'a', 'piece length': 16384, length: 1, pieces: Buffer.alloc(20) }
  let m = parseTorrent(torrent(info, { announce: 'http://a', 'announce-list': [['http://a', 'http://b'], ['udp://c:1']], 'url-list': 'http://ws/' }))
  assert.equal(m.announce, [['http://a', 'http://b'], ['udp://c:1']])
  assert.equal(m.urlList, ['http://ws/'])
  m = parseTorrent(torrent(info, { announce: 'http://z', 'announce-list': [['http://a']], 'url-list': ['http://1/', 'http://2/'] }))
  assert.equal(m.announce, [['http://z'], ['http://a']])
  assert.equal(m.urlList, ['http://1/', 'http://2/'])
})

test('info hash comes from the raw bytes even when not canonical', () => {
  // keys out of order: a re-encode would sort them and change the hash
  const raw = Buffer.concat([
    Buffer.from('d4:infod'),
    Buffer.from('6:lengthi5e12:piece lengthi16384e4:name1:a6:pieces20:'), Buffer.alloc(20, 7),
    Buffer.from('ee'),
  ])
  const m = parseTorrent(raw)
  const infoBytes = raw.subarray(7, raw.length - 1)
  assert.is(m.infoHash, sha1(infoBytes))
  assert.is.not(m.infoHash, sha1(bencode.encode(bencode.decode(infoBytes))))
  assert.ok(m.infoBuffer.equals(infoBytes))
})

test('metainfoFromInfo accepts a bare info dict', () => {
  const info = bencode.encode({ name: 'a', 'piece length': 16384, length: 1, pieces: Buffer.alloc(20) })
  const m = metainfoFromInfo(Buffer.from(info), { announce: [['http://t']] })
  assert.is(m.infoHash, sha1(info))
  assert.equal(m.announce, [['http://t']])
})

test('hostile and corrupt torrents give one-line errors with exit code 2', () => {
  const ok = { name: 'a', 'piece length': 16384, length: 20000, pieces: pieces2 }
  expectInvalid(Buffer.from('d4:info'), /unexpected end|unterminated/)
  expectInvalid(Buffer.from('garbage'), /unexpected byte/)
  expectInvalid(Buffer.from('le'), /top level is not a dictionary/)
  expectInvalid(torrent({ ...ok, pieces: Buffer.alloc(39) }), /pieces length is not a multiple of 20/)
  expectInvalid(torrent({ ...ok, length: 50000 }), /has 2 piece hashes but its length needs 4/)
  expectInvalid(torrent({ ...ok, length: -1 }), /length is negative/)
  expectInvalid(torrent({ ...ok, length: 'x' }), /length is not an integer/)
  expectInvalid(torrent({ ...ok, 'piece length': 0 }), /piece length is zero/)
  expectInvalid(torrent({ ...ok, length: 2 ** 52 }), /larger than 1 PiB/)
  expectInvalid(torrent({ ...ok, name: '..' }), /".." path component/)
  expectInvalid(torrent({ ...ok, name: 'a/b' }), /slash/)
  expectInvalid(torrent({ ...ok, name: '' }), /empty path component/)
  const multi = (path: unknown[]) => torrent({ name: 'd', 'piece length': 16384, pieces: Buffer.alloc(20), files: [{ length: 1, path }] })
  expectInvalid(multi(['..', 'etc', 'passwd']), /".." path component/)
  expectInvalid(multi(['/etc/passwd']), /slash/)
  expectInvalid(multi(['a', '', 'b']), /empty path component/)
  expectInvalid(multi([]), /empty path/)
  expectInvalid(multi(['a\\..\\b']), /slash/)
  expectInvalid(Buffer.from('d4:infod4:name1:a12:piece lengthi01e6:lengthi1e6:pieces0:ee'), /leading zero/)
  expectInvalid(Buffer.from('d4:infoi1ee'), /info dictionary is missing/)
  expectInvalid(Buffer.from('d4:info' + 'l'.repeat(100000)), /nesting too deep/)
  expectInvalid(Buffer.from('d4:infod4:name99999999999:'), /string runs past the end/)
  expectInvalid(torrent({ name: 'a', 'piece length': 16384, 'meta version': 2, 'file tree': {} }), /v2-only/)
})

// Mutate valid torrents many times (seeded, bounded): parsing must succeed or fail with BtError, never anything else,
// and whatever parses must have confined paths and consistent sizes.
test('fuzz: mutated torrents parse or fail cleanly', () => {
  const base = [
    torrent({ name: 'a', 'piece length': 16384, length: 40000, pieces: Buffer.alloc(60, 3) }, { announce: 'http://t/a', 'url-list': ['http://w/'] }),
    torrent({ name: 'd', 'piece length': 16384, pieces: Buffer.alloc(20, 3), files: [{ length: 3, path: ['x', 'y'] }, { length: 7, path: ['z'] }] }, { 'announce-list': [['udp://a:1'], ['http://b']] }),
  ]
  const rnd = seededBytes(4 * 20000 * 4, 42)
  let r = 0
  const next = () => rnd.readUInt32LE((r++ % (rnd.length / 4)) * 4)
  let parsed = 0
  let rejected = 0
  for (let iter = 0; iter < 20000; iter++) {
    const buf = Buffer.from(base[iter % base.length])
    const edits = 1 + (next() % 4)
    let mutated: Buffer = buf
    for (let e = 0; e < edits; e++) {
      const kind = next() % 4
      const pos = next() % mutated.length
      if (kind === 0) mutated[pos] = next() & 0xff
      else if (kind === 1) mutated = mutated.subarray(0, pos)
      else if (kind === 2) mutated = Buffer.concat([mutated.subarray(0, pos), Buffer.from([next() & 0xff]), mutated.subarray(pos)])
      else mutated = Buffer.concat([mutated.subarray(0, pos), mutated.subarray(pos + 1 + (next() % 8))])
      if (mutated.length === 0) mutated = Buffer.from('d')
    }
    try {
      const m = parseTorrent(mutated, 'fuzz')
      parsed++
      for (const f of m.files) for (const c of f.path) assert.ok(c !== '..' && c !== '.' && c !== '' && !c.includes('/'))
      assert.is(m.files.reduce((s, f) => s + f.length, 0), m.length)
      assert.is(m.pieces.length, m.pieceCount * 20)
    } catch (err) {
      if (!(err instanceof BtError)) throw err
      assert.is(err.exitCode, 2)
      rejected++
    }
  }
  assert.ok(parsed > 0 && rejected > 0, `parsed ${parsed}, rejected ${rejected}`)
})

test.run()
