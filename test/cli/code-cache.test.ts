// The V8 code cache that `bt` loads its yargs bundle through (cmd/code-cache.ts): a second start compiles from the
// cache, and a changed file (even of the same size, which V8's own check would miss) never runs stale cached code.
// Each load runs in a child node, as the cache is written when a process exits.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'

const loader = pathToFileURL(join(ROOT, 'dist/cmd/code-cache.js')).href

/** Load `file` in a fresh node with this cache dir: its exported value and whether the cache was used. */
function load(file: string, cache: string): { value: unknown; fromCache: boolean } {
  const script = `import { loadCommonJs, fromCache } from ${JSON.stringify(loader)}
const m = loadCommonJs(new URL(${JSON.stringify(pathToFileURL(file).href)}))
console.log(JSON.stringify({ value: m.value(), fromCache }))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, XDG_CACHE_HOME: cache } })
  assert.is(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

// A function body worth caching, and a value that tells two versions of the file apart.
const source = (word: string) => `module.exports = { value: () => [${JSON.stringify(word)}, __filename.endsWith('m.cjs'), typeof require].join(' ') }\n`

test('the second load compiles from the cache; a changed file of the same size is compiled afresh', () => {
  const dir = tmpDir('bt-code-cache-')
  const cache = join(dir, 'cache')
  const file = join(dir, 'm.cjs')
  writeFileSync(file, source('one'))
  utimesSync(file, 1_000_000, 1_000_000)
  assert.equal(load(file, cache), { value: 'one true function', fromCache: false })
  assert.equal(readdirSync(join(cache, 'bt')).filter((f) => f.endsWith('.v8')).length, 1, 'one cache file written at exit')
  assert.equal(load(file, cache), { value: 'one true function', fromCache: true })

  writeFileSync(file, source('two'))
  utimesSync(file, 2_000_000, 2_000_000)
  assert.equal(load(file, cache), { value: 'two true function', fromCache: false })
  assert.equal(load(file, cache), { value: 'two true function', fromCache: true })
})

test('a corrupt cache file or a cache dir that cannot be made costs only the compile', () => {
  const dir = tmpDir('bt-code-cache-')
  const file = join(dir, 'm.cjs')
  writeFileSync(file, source('three'))
  const cache = join(dir, 'cache')
  assert.equal(load(file, cache).fromCache, false)
  const [name] = readdirSync(join(cache, 'bt'))
  const head = `${process.version} ${process.arch}`
  // The right key, then garbage where V8's data should be: V8 rejects it.
  const key = `${head} ${Buffer.byteLength(source('three'))} `
  const keyLine = readFileSync(join(cache, 'bt', name!), 'latin1').split('\n', 1)[0]
  assert.ok(keyLine.startsWith(key), keyLine)
  writeFileSync(join(cache, 'bt', name!), `${keyLine}\n${'x'.repeat(500)}`)
  assert.equal(load(file, cache), { value: 'three true function', fromCache: false })
  // XDG_CACHE_HOME under a regular file: nothing can be read or written, and the module still runs.
  assert.equal(load(file, join(file, 'sub')), { value: 'three true function', fromCache: false })
})

test.run()
