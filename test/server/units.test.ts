// Pure units of bt serve: Range parsing, content types and dispositions, the Host rule and credential checks.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseRange, contentType, contentDisposition } from '../../src/server/range.js'
import { authenticate, hostAllowed, hostName } from '../../src/server/auth.js'

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

test.run()
