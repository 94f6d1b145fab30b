// The README's library example, run as it is printed: the first ```js block of the "Library" section is written to a
// file in a temp project whose node_modules/bt is this package, so `import { Client } from 'bt'` resolves through
// package.json's exports to the build, as for a user. It seeds and streams over 127.0.0.1; the test checks its output.
// A copy with one export renamed must fail: the harness can tell a broken example from a working one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, run } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'

/** The code of the first ```js block under the README heading that starts with `## Library`. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const at = readme.search(/^## Library\b/m)
  assert.ok(at >= 0, 'README has a "## Library" section')
  const section = readme.slice(at).split(/^## /m)[1]
  const block = /^```js\n([\s\S]*?)^```$/m.exec(section)
  assert.ok(block, 'the Library section has a ```js block')
  return block![1]
}

/** A project directory where `bt` is this package (as `npm install bt` would make it), with `code` as example.mjs. */
function project(code: string): string {
  const dir = tmpDir('bt-readme-')
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules', 'bt'), 'dir')
  writeFileSync(join(dir, 'example.mjs'), code)
  return dir
}

function runExample(dir: string) {
  // TMPDIR: the example's own temp files land in the test's temp dir, removed with it.
  const env = { TMPDIR: dir, XDG_DATA_HOME: join(dir, 'data'), BT_DHT_BOOTSTRAP: 'none' }
  return run(process.execPath, ['example.mjs'], { cwd: dir, env, timeoutMs: 40_000 })
}

test.before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'src', 'lib.js')), 'dist/ is built (npm run build)')
})

test('the README library example runs and streams the whole file from a local seeder', async () => {
  const code = readmeExample()
  assert.match(code, /import \{[^}]*\bClient\b[^}]*\} from 'bt'/, "the example imports Client from 'bt'")
  const r = await runExample(project(code))
  assert.is(r.code, 0, `exit ${r.code}\n${r.stderr}`)
  assert.is(r.stdout.trim(), 'hello.txt: 1300000 bytes, 100000 lines, 1 peer')
})

test('a broken copy of the example fails (an export that does not exist)', async () => {
  const broken = readmeExample().replace(/\bcreateReadStream\b/g, 'createReadStreem')
  const r = await runExample(project(broken))
  assert.is.not(r.code, 0)
  assert.match(r.stderr, /createReadStreem/)
})

test.run()
