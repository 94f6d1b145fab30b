// `bt metainfo FILE [verb]` skips yargs (cmd/metainfo-fast.ts): for every verb and for bad files it prints the same
// output on stdout and stderr, with the same exit code, as the yargs command (BT_NO_FASTPATH=1), and any other shape
// of arguments still reaches yargs.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { launcherWithoutYargs } from './fast-launcher.js'

const dir = tmpDir('bt-fast-metainfo-')
mkdirSync(join(dir, 'data'))
writeFileSync(join(dir, 'data/a.bin'), Buffer.alloc(40_000, 1))
writeFileSync(join(dir, 'data/b.txt'), 'hello\n')
writeFileSync(join(dir, 'corrupt.torrent'), 'd4:infod6:lengthi-5eee')
mkdirSync(join(dir, 'a-directory'))
const torrent = join(dir, 'multi.torrent')

test.before(async () => {
  const r = await bt(['create', join(dir, 'data'), '-q', '-o', torrent, '-t', 'http://127.0.0.1:1/announce', '-c', 'a comment'])
  assert.is(r.code, 0, r.stderr)
})

const cases: string[][] = [
  [torrent], [torrent, 'info'], [torrent, 'magnet'], [torrent, 'files'], [torrent, 'pieces'], [torrent, 'json'],
  [join(dir, 'missing.torrent'), 'magnet'], [join(dir, 'corrupt.torrent')], [join(dir, 'a-directory'), 'info'],
  [torrent, 'bogus'], [torrent, 'info', '--json'], [torrent, 'magnet', 'extra'],
]

test('each verb and each bad file: the same stdout, stderr and exit code with and without the fast path', async () => {
  for (const c of cases) {
    const fast = await bt(['metainfo', ...c])
    const live = await bt(['metainfo', ...c], { env: { BT_NO_FASTPATH: '1' } })
    const what = `bt metainfo ${c.join(' ')}`
    assert.is(fast.code, live.code, what)
    assert.is(fast.stdout, live.stdout, what)
    assert.is(fast.stderr, live.stderr, what)
  }
  // The cases above do cover both outcomes.
  assert.match((await bt(['metainfo', torrent, 'magnet'])).stdout, /^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=data&tr=/)
  assert.is((await bt(['metainfo', join(dir, 'missing.torrent')])).code, 2)
})

test('plain `metainfo FILE [verb]` runs without yargs; an option, a bad verb, stdin or a magnet go to yargs', async () => {
  const copy = launcherWithoutYargs()
  for (const verb of ['info', 'magnet', 'files']) {
    const r = await copy.bt(['metainfo', torrent, verb])
    assert.is(r.code, 0, r.stderr)
    assert.equal(r.stdout, (await bt(['metainfo', torrent, verb])).stdout)
  }
  const missing = await copy.bt(['metainfo', join(dir, 'missing.torrent')])
  assert.is(missing.code, 2)
  assert.match(missing.stderr, /^bt: .*missing\.torrent: no such file or directory\n$/)
  for (const args of [[torrent, 'info', '--json'], [torrent, 'bogus'], ['-'], ['-v', torrent], [torrent, '-v'], ['magnet:?xt=urn:btih:' + 'a'.repeat(40)], ['a'.repeat(40)], ['']]) {
    const r = await copy.bt(['metainfo', ...args])
    assert.is(r.code, 99, `bt metainfo ${args.join(' ')}: ${r.stderr}`)
  }
})

test.run()
