// bt serve refuses what it must: an exposed address without credentials (exit 2), requests without or with the
// wrong key, a foreign Host header (DNS rebinding), and hostile bodies and paths — each a 4xx JSON error in one line,
// nothing changed, the daemon still up.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { bt, run } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { startServe, http, pollJson, KiB, MiB, type Serve } from './helpers.js'

let tt: TestTorrent
let s: Serve
const KEY = 'hostile-test-key'
const auth = { 'X-Api-Key': KEY }

const timer = setTimeout(() => {
  console.error('hostile.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
timer.unref()

test.before(async () => {
  tt = await makeTestTorrent([300 * KiB, 200 * KiB], { pieceLength: 32 * KiB, seed: 61, name: 'h' })
  const peer = await seedWith(tt)
  const pw = join(tmpDir(), 'pw')
  writeFileSync(pw, 'secret-pw\n')
  s = await startServe({ args: ['--api-key', KEY, '--user', 'admin', '--password-file', pw, '--allowed-host', 'bt.example', '--peer', peer.addr] })
  const r = await http(`${s.url}/api/v1/torrents`, { body: { uri: `magnet:?xt=urn:btih:${tt.metainfo.infoHash}` }, headers: auth })
  assert.is(r.status, 201)
  await pollJson(`${s.url}/api/v1/torrents/${tt.metainfo.infoHash}`, (j) => j.state === 'seeding', 20_000, auth)
})

test.after(async () => {
  await s?.stop()
  await stopAll()
})

/** A raw request, so Host and paths go out exactly as written. */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, method, headers, timeout: 10_000 }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

test('an exposed address needs credentials: one line, exit 2', async () => {
  const r = await bt(['serve', '--host', '0.0.0.0', '--port', '0', '--no-dht'], { env: { XDG_DATA_HOME: tmpDir() }, timeoutMs: 15_000 })
  assert.is(r.code, 2, r.stderr)
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  assert.match(r.stderr, /needs credentials/)
  // a state directory that cannot be written: exit 4, one line
  const file = join(tmpDir(), 'not-a-dir')
  writeFileSync(file, '')
  const io = await bt(['serve', '--port', '0', '--peer-port', '0', '--no-dht'], { env: { XDG_DATA_HOME: file }, timeoutMs: 15_000 })
  assert.is(io.code, 4, io.stderr)
  assert.is(io.stderr.trim().split('\n').length, 1, io.stderr)
  assert.match(io.stderr, /cannot open state/)
  const both = await bt(['serve', '--user', 'x', '--port', '0'], { env: { XDG_DATA_HOME: tmpDir() }, timeoutMs: 15_000 })
  assert.is(both.code, 2)
  assert.match(both.stderr, /--user and --password-file go together/)
})

test('auth: no key, wrong key, wrong password → 401; key by header, query or Basic; foreign Host → 403', async () => {
  const url = `/api/v1/torrents`
  assert.is((await raw(url)).status, 401)
  assert.is((await raw(url, { 'X-Api-Key': 'wrong' })).status, 401)
  assert.is((await raw(`${url}?apikey=wrong`)).status, 401)
  assert.is((await raw(url, { Authorization: 'Basic ' + Buffer.from('admin:nope').toString('base64') })).status, 401)
  assert.is((await raw(url, { Authorization: 'Basic ' + Buffer.from('root:secret-pw').toString('base64') })).status, 401)
  assert.is((await raw(url, { 'X-Api-Key': KEY })).status, 200)
  assert.is((await raw(`${url}?apikey=${KEY}`)).status, 200)
  assert.is((await raw(url, { Authorization: 'Basic ' + Buffer.from('admin:secret-pw').toString('base64') })).status, 200)
  assert.is((await raw(url, { Authorization: 'Basic ' + Buffer.from(`anyone:${KEY}`).toString('base64') })).status, 200)
  const evil = await raw(url, { 'X-Api-Key': KEY, Host: `evil.example:${s.port}` })
  assert.is(evil.status, 403)
  assert.match(JSON.parse(evil.body).error, /not allowed/)
  assert.is((await raw('/', { Host: 'rebind.attacker.example' })).status, 403, 'the UI too')
  assert.is((await raw(url, { 'X-Api-Key': KEY, Host: `localhost:${s.port}` })).status, 200)
  assert.is((await raw(url, { 'X-Api-Key': KEY, Host: `BT.example:${s.port}` })).status, 200)
  assert.is((await raw(url, { 'X-Api-Key': KEY, Host: `[::1]:${s.port}` })).status, 200)
  // the stream and the RPC are behind the same layer
  assert.is((await raw(`/stream/${tt.metainfo.infoHash}/0`)).status, 401)
  assert.is((await raw('/transmission/rpc', {}, 'POST')).status, 401)
  // CORS off: no Access-Control-* on a preflight or a request with Origin
  const pre = await raw(url, { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'GET', 'X-Api-Key': KEY }, 'OPTIONS')
  assert.not.ok(pre.headers['access-control-allow-origin'])
  const withOrigin = await raw(url, { Origin: 'http://evil.example', 'X-Api-Key': KEY })
  assert.not.ok(withOrigin.headers['access-control-allow-origin'])
})

test('hostile bodies and paths: 4xx with a JSON error, nothing changed, still serving', async () => {
  const api = `${s.url}/api/v1`
  const before = (await http(`${api}/torrents`, { headers: auth })).text
  const expect = async (p: Promise<{ status: number; json?: any; text?: string }>, status: number, what: string) => {
    const r = await p
    assert.is(r.status, status, `${what}: ${r.status} ${(r as any).text ?? ''}`)
    assert.type(r.json?.error ?? r.json?.result, 'string', `${what}: no JSON error`)
  }
  const post = (body: BodyInit, ct = 'application/json') => http(`${api}/torrents`, { method: 'POST', raw: body, headers: { ...auth, 'content-type': ct } })
  // Big bodies through curl: the server answers 413 and closes before reading them all, which fetch may report as
  // a reset instead of the response.
  const bigFile = join(tmpDir(), 'big')
  writeFileSync(bigFile, Buffer.alloc(30 * MiB, 0x20))
  const huge = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '-H', `X-Api-Key: ${KEY}`, '-H', 'content-type: application/json', '--data-binary', `@${bigFile}`, `${api}/torrents`])
  assert.match(huge.stdout, /"error":"request body too large"}\n413$/, huge.stdout + huge.stderr)
  const hugeUpload = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '-H', `X-Api-Key: ${KEY}`, '-F', `torrent=@${bigFile}`, `${api}/torrents`])
  assert.match(hugeUpload.stdout, /\n413$/, hugeUpload.stdout + hugeUpload.stderr)
  await expect(post('{"uri": '), 400, 'bad JSON')
  await expect(post('[1,2]'), 400, 'JSON array')
  await expect(post('{}'), 400, 'no uri')
  await expect(post('{"uri": 5}'), 400, 'uri not a string')
  await expect(post('{"uri": "ftp://x/y.torrent"}'), 400, 'ftp URL')
  await expect(post('{"uri": "not a thing"}'), 400, 'not a URI')
  await expect(post('{"uri": "magnet:?xt=urn:btih:zz"}'), 400, 'bad magnet')
  await expect(post('{"metainfo": "%%%not-base64%%%"}'), 400, 'bad base64')
  await expect(post(JSON.stringify({ metainfo: Buffer.from('d4:infod4:name1:xee').toString('base64') })), 400, 'corrupt metainfo')
  await expect(post(JSON.stringify({ uri: `magnet:?xt=urn:btih:${'cd'.repeat(20)}`, downloadDir: 'relative/dir' })), 400, 'relative downloadDir')
  await expect(post(JSON.stringify({ uri: `magnet:?xt=urn:btih:${'cd'.repeat(20)}`, files: 'x-y' })), 400, 'bad file list')
  const none = new FormData()
  none.set('paused', 'true')
  await expect(http(`${api}/torrents`, { method: 'POST', raw: none, headers: auth }), 400, 'multipart without a file')
  const junk = new FormData()
  junk.set('torrent', new Blob([Buffer.from('garbage')]), 'x.torrent')
  await expect(http(`${api}/torrents`, { method: 'POST', raw: junk, headers: auth }), 400, 'junk upload')
  await expect(http(`${api}/torrents/${'ef'.repeat(20)}`, { headers: auth }), 404, 'unknown hash')
  await expect(http(`${api}/torrents/xyz`, { headers: auth }), 400, 'malformed hash')
  await expect(http(`${api}/torrents/${'ef'.repeat(20)}/start`, { method: 'POST', headers: auth }), 404, 'start unknown')
  await expect(http(`${api}/torrents/${'ef'.repeat(20)}`, { method: 'DELETE', headers: auth }), 404, 'delete unknown')
  await expect(http(`${api}/settings`, { method: 'PATCH', body: { downloadLimit: 'fast' }, headers: auth }), 400, 'bad setting')
  await expect(http(`${s.url}/transmission/rpc`, { method: 'POST', raw: '{nope', headers: { ...auth, 'X-Transmission-Session-Id': (await raw('/transmission/rpc', auth, 'POST')).headers['x-transmission-session-id'] } }), 400, 'RPC bad JSON')
  // stream paths: `..` (sent as is), encoded, unknown file, unknown hash
  const h = tt.metainfo.infoHash
  for (const p of [`/stream/${h}/../../../etc/passwd`, `/stream/${h}/h/%2e%2e/%2e%2e/x`, `/stream/${h}/h/./f0.bin`]) {
    const r = await raw(p, auth)
    assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`)
  }
  const curl = await run('curl', ['-sS', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', '-H', `X-Api-Key: ${KEY}`, `${s.url}/stream/${h}/h/../h/f0.bin`])
  assert.is(curl.stdout, '400')
  await expect(http(`${s.url}/stream/${h}/nope.bin`, { headers: auth }), 404, 'unknown file')
  await expect(http(`${s.url}/stream/${h}/99`, { headers: auth }), 404, 'file index out of range')
  await expect(http(`${s.url}/stream/${'ef'.repeat(20)}/0`, { headers: auth }), 404, 'stream unknown hash')
  await expect(http(`${s.url}/stream/${h}/0`, { headers: { ...auth, Range: 'bytes=999999999-' } }), 416, 'range past the end')
  await expect(http(`${s.url}/no/such/thing`, { headers: auth }), 404, 'unknown endpoint')
  // nothing changed, still up
  const after = await http(`${api}/torrents`, { headers: auth })
  assert.is(after.status, 200)
  assert.equal(JSON.parse(after.text).map((t: any) => t.infoHash), JSON.parse(before).map((t: any) => t.infoHash))
  assert.not.match(s.stderr(), /internal error|at .*\.js:\d+/)
})

test.run()
