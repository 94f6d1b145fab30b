// `bt --help` and `bt COMMAND --help` come from texts yargs rendered at build time (scripts/bundle-help.js) and the
// launcher prints (bin/bt.js): they must equal yargs' live output for every command, at both widths stored (80 into
// a pipe; 100 on a terminal 100 or more columns wide), and the launcher must fall back to yargs whenever the stored
// texts may not hold (another width, another language, a rebuilt command line).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BT, ROOT, bt, run } from '../helpers/cli.js'
import { launcherWithoutYargs } from './fast-launcher.js'

const ON_TERMINAL = fileURLToPath(new URL('./on-terminal.py', import.meta.url))
const help = JSON.parse(readFileSync(join(ROOT, 'dist/cmd/help.json'), 'utf8')) as { key: string; texts: Record<string, Record<string, string>> }
const commands = Object.keys(help.texts['80']!)
const argsOf = (c: string) => (c === '' ? ['--help'] : [c, '--help'])

/** bt on a pseudo-terminal `cols` wide: what it printed (newlines as written, not the terminal's \r\n) and its code. */
async function onTerminal(cols: number, args: string[], env: NodeJS.ProcessEnv = {}, launcher = BT): Promise<{ code: number | null; out: string }> {
  const r = await run('/usr/bin/python3', [ON_TERMINAL, String(cols), process.execPath, launcher, ...args], { env, timeoutMs: 30_000 })
  return { code: r.code, out: r.stdout.replace(/\r\n/g, '\n') }
}

/** `check` for every command, four at a time (each runs several bt processes: in parallel they finish sooner). */
async function eachCommand(check: (c: string) => Promise<void>): Promise<void> {
  const queue = [...commands]
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) await check(c)
  }))
}

test('the stored texts cover the root help and every command at widths 80 and 100', () => {
  assert.equal(Object.keys(help.texts).sort(), ['100', '80'])
  for (const c of ['', 'metainfo', 'create', 'download', 'seed', 'search', 'serve', 'crawl']) assert.ok(commands.includes(c), c)
  assert.equal(Object.keys(help.texts['100']!).sort(), [...commands].sort())
  const st = statSync(join(ROOT, 'dist/cmd/bt.js'))
  assert.is(help.key, `${st.size} ${st.mtimeMs}`, 'help.json was rendered from the bt.js in place (npm run build)')
})

test('into a pipe (width 80), in the C and English locales: the fast help equals yargs live, for every command and -h', async () => {
  // Every command in C; the root help in English too (its locale file is yargs' en.json rather than built-in words).
  await eachCommand(async (c) => {
    for (const LANG of c === '' ? ['C.UTF-8', 'en_GB.UTF-8'] : ['C.UTF-8']) {
      const fast = await bt(argsOf(c), { env: { LANG, LC_ALL: undefined } })
      const live = await bt(argsOf(c), { env: { LANG, LC_ALL: undefined, BT_NO_FASTPATH: '1' } })
      assert.is(fast.code, 0, fast.stderr)
      assert.is(live.code, 0, live.stderr)
      assert.is(fast.stdout, live.stdout, `bt ${argsOf(c).join(' ')} (${LANG})`)
      assert.is(fast.stdout, help.texts['80']![c])
    }
  })
  const short = await bt(['metainfo', '-h'])
  assert.is(short.stdout, help.texts['80']!.metainfo)
})

test('on terminals 100 and 130 columns wide (help width 100): the fast help equals yargs live, for every command', async () => {
  await eachCommand(async (c) => {
    const live = await onTerminal(100, argsOf(c), { BT_NO_FASTPATH: '1' })
    assert.is(live.code, 0)
    for (const cols of c === '' ? [100, 130] : [130]) {
      const fast = await onTerminal(cols, argsOf(c))
      assert.is(fast.code, 0)
      assert.is(fast.out, live.out, `bt ${argsOf(c).join(' ')} on ${cols} columns`)
    }
    assert.is(live.out, help.texts['100']![c])
  })
})

test('the launcher prints the stored text without loading yargs, and goes to yargs when the text may not hold', async () => {
  const copy = launcherWithoutYargs()
  // Stored: printed, with yargs unable to run.
  const fast = await copy.bt(['download', '--help'])
  assert.is(fast.code, 0, fast.stderr)
  assert.is(fast.stdout, help.texts['80']!.download)
  assert.is((await onTerminal(120, ['--help'], {}, join(copy.dir, 'bin/bt.js'))).out, help.texts['100']![''])
  // Not stored, or not to be trusted: each of these reaches the yargs command line (which exits 99 in the copy).
  for (const [what, args, env] of [
    ['a German locale', ['--help'], { LANG: 'de_DE.UTF-8' }],
    ['LC_ALL before LANG', ['--help'], { LANG: 'C', LC_ALL: 'fr_FR.UTF-8' }],
    ['BT_NO_FASTPATH', ['--help'], { BT_NO_FASTPATH: '1' }],
    ['an unknown command', ['frobnicate', '--help'], {}],
    ['another flag', ['-v', '--help'], {}],
  ] as const) {
    const r = await copy.bt([...args], { ...env })
    assert.is(r.code, 99, `${what}: ${r.stdout}`)
  }
  assert.is((await onTerminal(90, ['--help'], {}, join(copy.dir, 'bin/bt.js'))).code, 99, 'a 90-column terminal')
  // A rebuilt bt.js (tsc alone, say) makes the stored texts stale: yargs again.
  writeFileSync(join(copy.dir, 'dist/cmd/bt.js'), "process.exit(99) // rebuilt\n")
  assert.is((await copy.bt(['--help'])).code, 99)
})

test.run()
