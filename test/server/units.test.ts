// Pure units of bt serve: Range parsing, content types and dispositions, the Host rule and credential checks, and
// the rename plan and priority ranges behind Transmission's torrent-rename-path and file priorities.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseRange, contentType, contentDisposition } from '../../src/server/range.js'
import { authenticate, hostAllowed, hostName } from '../../src/server/auth.js'
import { highPriorityRanges, renamePlan, withPaths } from '../../src/server/relocate.js'
import type { Metainfo } from '../../src/metainfo/metainfo.js'

test('parseRange: single ranges, suffixes, open ends, unsatisfiable, ignored forms', () => {
  assert.equal(parseRange(undefined, 100), { kind: 'full' })
  assert.equal(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 })
  assert.equal(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 })
  assert.equal(parseRange('bytes=90-500', 100), { kind: 'partial', start: 90, end: 99 })
  assert.equal(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 })
  assert.equal(parseRange('bytes=-500', 100), { kind: 'partial', start: 0, end: 99 })
  assert.equal(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' })
  assert.equal(parseRange('bytes=100-50', 100), { kind: 'unsatisfiable' })
  assert.equal(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' })
  assert.equal(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' })
  assert.equal(parseRange('bytes=5-2', 100), { kind: 'full' })
  assert.equal(parseRange('bytes=0-1,5-6', 100), { kind: 'full' })
  assert.equal(parseRange('items=0-1', 100), { kind: 'full' })
  assert.equal(parseRange('bytes=abc', 100), { kind: 'full' })
  assert.equal(parseRange('bytes=99999999999999999999-', 100), { kind: 'full' })
})

test('content types and dispositions', () => {
  assert.is(contentType('a/b/Movie.MKV'), 'video/x-matroska')
  assert.is(contentType('x.mp4'), 'video/mp4')
  assert.is(contentType('index.html'), 'text/plain; charset=utf-8')
  assert.is(contentType('noext'), 'application/octet-stream')
  assert.is(contentDisposition('a b.mp4'), `inline; filename="a b.mp4"; filename*=UTF-8''a%20b.mp4`)
  assert.is(contentDisposition('é"\\.mkv'), `inline; filename="___.mkv"; filename*=UTF-8''%C3%A9%22%5C.mkv`)
})

test('Host rule: IPs and localhost always, listed names only', () => {
  assert.is(hostName('Example.COM:9091'), 'example.com')
  assert.is(hostName('[::1]:9091'), '::1')
  assert.ok(hostAllowed('127.0.0.1:9091', []))
  assert.ok(hostAllowed('192.168.1.5', []))
  assert.ok(hostAllowed('[::1]:80', []))
  assert.ok(hostAllowed('localhost:1', []))
  assert.ok(hostAllowed('localhost.', []))
  assert.ok(hostAllowed(undefined, []))
  assert.not.ok(hostAllowed('evil.example', []))
  assert.not.ok(hostAllowed('127.0.0.1.evil.example', []))
  assert.ok(hostAllowed('nas.local:9091', ['nas.local']))
  assert.ok(hostAllowed('nas.local.', ['nas.local']))
  assert.not.ok(hostAllowed('[nas.local', ['nas.local']))
})

test('credentials: none configured, key, Basic with key or user/password', () => {
  const b = (u: string, p: string) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64')
  assert.equal(authenticate({ allowedHosts: [] }, {}, undefined), { ok: true, via: 'none' })
  const o = { apiKey: 'k1', user: 'u', password: 'p', allowedHosts: [] }
  assert.equal(authenticate(o, {}, undefined), { ok: false, why: 'missing' })
  assert.equal(authenticate(o, { 'x-api-key': 'k1' }, undefined), { ok: true, via: 'key' })
  assert.equal(authenticate(o, {}, 'k1'), { ok: true, via: 'key' })
  assert.equal(authenticate(o, {}, 'k2'), { ok: false, why: 'wrong' })
  assert.equal(authenticate(o, { authorization: b('anyone', 'k1') }, undefined), { ok: true, via: 'basic' })
  assert.equal(authenticate(o, { authorization: b('u', 'p') }, undefined), { ok: true, via: 'basic' })
  assert.equal(authenticate(o, { authorization: b('v', 'p') }, undefined), { ok: false, why: 'wrong' })
  assert.equal(authenticate(o, { authorization: 'Bearer x' }, undefined), { ok: false, why: 'missing' })
  assert.equal(authenticate({ apiKey: 'k', allowedHosts: [] }, { authorization: b('k', '') }, undefined), { ok: false, why: 'wrong' })
})

test('renamePlan: a file, a folder, the top folder; clashes, escapes and unknown paths refused', () => {
  const paths = [['Show', 'a.mkv'], ['Show', 'sub', 'b.srt'], ['Show', 'sub', 'c.srt']]
  assert.equal(renamePlan(paths, 'Show/a.mkv', 'A.mkv'), { paths: [['Show', 'A.mkv'], ['Show', 'sub', 'b.srt'], ['Show', 'sub', 'c.srt']], from: ['Show', 'a.mkv'], to: ['Show', 'A.mkv'] })
  assert.equal(renamePlan(paths, 'Show/sub', 'Subs').paths, [['Show', 'a.mkv'], ['Show', 'Subs', 'b.srt'], ['Show', 'Subs', 'c.srt']])
  assert.equal(renamePlan(paths, 'Show', 'New Show').paths.map((p) => p[0]), ['New Show', 'New Show', 'New Show'])
  const refused = (path: string, name: string) => assert.throws(() => renamePlan(paths, path, name), undefined, `${path} -> ${name}`)
  refused('Show/a.mkv', 'sub') // a file where a folder is
  refused('Show/sub/b.srt', 'c.srt') // two files on one path
  refused('Show/a.mkv', '../x')
  refused('Show/a.mkv', '..')
  refused('Show/a.mkv', '')
  refused('Show/a.mkv', 'a\0b')
  refused('Show/su', 'x') // a path is whole components
  refused('Other', 'x')
})

test('withPaths and highPriorityRanges: renamed metainfo keeps its pieces; high files map to their pieces', () => {
  const m = {
    name: 'T', multiFile: true, pieceLength: 10, pieceCount: 4,
    files: [{ path: ['T', 'a'], length: 15, offset: 0, padding: false }, { path: ['T', 'b'], length: 0, offset: 15, padding: false }, { path: ['T', 'c'], length: 25, offset: 15, padding: false }],
  } as unknown as Metainfo
  const r = withPaths(m, [['U', 'a'], ['U', 'b'], ['U', 'c']])
  assert.is(r.name, 'U')
  assert.equal(r.files.map((f) => f.offset), [0, 15, 15])
  assert.is(m.files[0].path[0], 'T', 'the original is untouched')
  assert.equal(highPriorityRanges(m, [1, 1, 1], () => true), [{ first: 0, last: 1 }, { first: 1, last: 3 }])
  assert.equal(highPriorityRanges(m, [0, 0, 1], () => true), [{ first: 1, last: 3 }])
  assert.equal(highPriorityRanges(m, [1, 0, 1], (i) => i !== 2), [{ first: 0, last: 1 }], 'an unselected file is not fetched')
  assert.equal(highPriorityRanges(m, undefined, () => true), [])
})

test.run()
