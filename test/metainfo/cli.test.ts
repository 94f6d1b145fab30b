// bt metainfo as a user runs it: every verb, stdin, and one-line errors with exit code 2.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'
import { ROOT, bt, run } from '../helpers/cli.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'

const dir = tmpDir()
const data = join(dir, 'dir')
let torrentPath = ''

test.before(async () => {
  const { mkdirSync } = await import('node:fs')
  mkdirSync(join(data, 's'), { recursive: true })
  writeRandomFile(join(data, 'one.bin'), 40000, 1)
  writeRandomFile(join(data, 's', 'two.bin'), 30000, 2)
  torrentPath = join(dir, 'dir.torrent')
  const r = await run('mktorrent', ['-l', '15', '-a', 'http://127.0.0.1:6969/announce', '-a', 'udp://127.0.0.1:6969', '-w', 'http://127.0.0.1/ws', '-c', 'hello', '-o', torrentPath, data])
  assert.is(r.code, 0, r.stderr)
})

test('magnet of a mktorrent torrent', async () => {
  const m = parseTorrent(readFileSync(torrentPath))
  const r = await bt(['metainfo', torrentPath, 'magnet'])
  assert.is(r.code, 0)
  assert.is(r.stdout, `magnet:?xt=urn:btih:${m.infoHash}&dn=dir&tr=http://127.0.0.1:6969/announce&tr=udp://127.0.0.1:6969&ws=http://127.0.0.1/ws\n`)
  assert.is(r.stderr, '')
})

test('info, files, pieces, json; stdin', async () => {
  const m = parseTorrent(readFileSync(torrentPath))
  const info = await bt(['metainfo', torrentPath])
  assert.match(info.stdout, new RegExp(`info hash: +${m.infoHash}`))
  assert.match(info.stdout, /comment: +hello/)
  assert.match(info.stdout, /pieces: +3\n/)
  const files = await bt(['metainfo', torrentPath, 'files'])
  assert.is(files.stdout, 'dir/one.bin\t40000\ndir/s/two.bin\t30000\n')
  const fj = JSON.parse((await bt(['metainfo', torrentPath, 'files', '--json'])).stdout)
  assert.equal(fj, [{ path: 'dir/one.bin', length: 40000, offset: 0 }, { path: 'dir/s/two.bin', length: 30000, offset: 40000 }])
  const pieces = (await bt(['metainfo', torrentPath, 'pieces'])).stdout.trim().split('\n')
  assert.is(pieces.length, 3)
  assert.is(pieces[0], m.pieces.subarray(0, 20).toString('hex'))
  const json = JSON.parse((await bt(['metainfo', torrentPath, 'json'])).stdout)
  assert.is(json.comment, 'hello')
  assert.is(json.info.pieces, m.pieces.toString('hex'))
  const viaStdin = await bt(['metainfo', '-', 'magnet'], { input: readFileSync(torrentPath) })
  assert.is(viaStdin.code, 0, viaStdin.stderr)
  assert.match(viaStdin.stdout, new RegExp(m.infoHash))
})

test('bad input: one line on stderr, exit 2, no stack', async () => {
  const bad = join(dir, 'bad.torrent')
  writeFileSync(bad, readFileSync(torrentPath).subarray(0, 50))
  for (const args of [['metainfo', bad, 'magnet'], ['metainfo', join(dir, 'nope.torrent')], ['metainfo', torrentPath, 'frob'], ['frobnicate'], ['metainfo', '-']]) {
    const r = await bt(args, { input: Buffer.from('xx') })
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.is(r.stdout, '')
    assert.match(r.stderr, /^bt: [^\n]+\n$/)
    assert.not.match(r.stderr, /at .*\.js/)
  }
})

test('--help and --version', async () => {
  const h = await bt(['--help'])
  assert.is(h.code, 0)
  assert.match(h.stdout, /metainfo/)
  assert.match(h.stdout, /create/)
  const v = await bt(['--version'])
  assert.match(v.stdout, /^\d+\.\d+\.\d+/)
  for (const c of ['metainfo', 'create']) {
    const r = await bt([c, '--help'])
    assert.is(r.code, 0)
    assert.match(r.stdout, new RegExp(`bt ${c}`))
  }
})

test('the bash completion offers exactly the options each command accepts (metainfo: no -D, -U, --max-peers)', async () => {
  for (const cmd of ['metainfo', 'create', 'download', 'seed']) {
    const script = `source completions/bt.bash; COMP_WORDS=(bt ${cmd} -); COMP_CWORD=2; _bt; printf '%s\\n' "\${COMPREPLY[@]}"`
    const comp = await run('bash', ['-c', script], { cwd: ROOT })
    assert.is(comp.code, 0, comp.stderr)
    const offered = comp.stdout.split('\n').filter(Boolean)
    assert.ok(offered.length > 5, `${cmd}: ${offered}`)
    const help = (await bt([cmd, '--help'])).stdout
    for (const opt of offered) {
      // --dht is the positive form of --no-dht; yargs shows boolean options as --[no-]x or --x.
      const name = opt.replace(/^--no-/, '--')
      assert.ok(new RegExp(`(^|[\\s,])${name.replace(/[-]/g, '\\-')}([\\s,]|$)`, 'm').test(help), `bt ${cmd}: completion offers ${opt}, help does not list it`)
    }
  }
  for (const flag of [['-D', '1M'], ['-U', '1M'], ['--max-peers', '5']]) {
    const r = await bt(['metainfo', `magnet:?xt=urn:btih:${'a'.repeat(40)}`, ...flag, '--no-dht'])
    assert.is(r.code, 2, r.stderr)
    assert.match(r.stderr, /^bt: Unknown argument/)
  }
  const offered = (await run('bash', ['-c', 'source completions/bt.bash; COMP_WORDS=(bt metainfo -); COMP_CWORD=2; _bt; echo "${COMPREPLY[@]}"'], { cwd: ROOT })).stdout
  for (const flag of ['-D', '-U', '--max-peers', '--download-limit']) assert.not.ok(offered.split(/\s+/).includes(flag), flag)
})

test.run()
