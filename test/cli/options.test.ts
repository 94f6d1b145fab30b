// Every option of every bt command that takes a value refuses to be given none (one line, exit 2), rather than
// quietly taking its default (`bt serve --port` used to serve on 9091); and the numbers of bt serve are checked as
// those of bt download are. The option lists come from the command modules themselves, so a new option is covered.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import yargs from 'yargs'
import type { CommandModule } from 'yargs'
import { BtError } from '../../src/errors.js'
import { valuesRequired, yargsFail } from '../../cmd/cli.js'
import { metainfoCommand } from '../../cmd/metainfo.js'
import { createCommand } from '../../cmd/create.js'
import { downloadCommand } from '../../cmd/download.js'
import { seedCommand } from '../../cmd/seed.js'
import { importCommand } from '../../cmd/import.js'
import { searchCommand } from '../../cmd/search.js'
import { serveCommand } from '../../cmd/serve.js'
import { trackerCommand } from '../../cmd/tracker.js'
import { classifyCommand } from '../../cmd/classify.js'
import { crawlCommand } from '../../cmd/crawl.js'
import { ROOT, bt, run } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const COMMANDS: Record<string, CommandModule<any, any>> = {
  metainfo: metainfoCommand, create: createCommand, download: downloadCommand, seed: seedCommand, import: importCommand,
  search: searchCommand, serve: serveCommand, tracker: trackerCommand, classify: classifyCommand, crawl: crawlCommand,
}

interface Built { parse(args: string[]): unknown; getOptions(): { key: Record<string, boolean>; boolean: string[]; count: string[]; alias: Record<string, string[]> } }

/** The command's options as bt builds them (through valuesRequired, as cmd/bt.ts registers it), parsed without its handler. */
function build(name: string): Built {
  const cmd = valuesRequired(COMMANDS[name])
  const y = (cmd.builder as (y: unknown) => unknown)(yargs([]).exitProcess(false).fail(yargsFail).strict(false)) as Built
  return y
}

/** The error that parsing `args` with a command's options throws, as the user would read it. */
function parseError(name: string, args: string[]): string | undefined {
  try {
    build(name).parse(args)
  } catch (err) {
    if (err instanceof BtError) return err.message
    throw err
  }
  return undefined
}

test('cmd/bt.ts registers every command through valuesRequired, and this test knows them all', () => {
  const src = readFileSync(join(ROOT, 'cmd/bt.ts'), 'utf8')
  const registered = [...src.matchAll(/\.command\((.*)\)\s*$/gm)].map((m) => m[1])
  assert.ok(registered.length >= 10, registered.join('\n'))
  for (const r of registered) assert.match(r, /^valuesRequired\(/, r)
  assert.is(registered.length, Object.keys(COMMANDS).length, 'a command of bt missing from COMMANDS here')
})

test('every option that takes a value, of every command, with none: "--name needs a value"', () => {
  let checked = 0
  for (const name of Object.keys(COMMANDS)) {
    const o = build(name).getOptions()
    const flags = new Set(['help', 'version'])
    for (const k of [...o.boolean, ...o.count]) for (const a of [k, ...(o.alias[k] ?? [])]) flags.add(a)
    const positionals = new Set([...String(COMMANDS[name].command).matchAll(/[<[]([\w-]+)/g)].map((m) => m[1]))
    // The long kebab-case spellings (yargs also keys an option by its one-letter alias and its camelCase form).
    const options = Object.keys(o.key).filter((k) => !flags.has(k) && !positionals.has(k) && /^[a-z][a-z0-9-]+$/.test(k))
    for (const opt of options) {
      const msg = parseError(name, ['x', `--${opt}`])
      assert.is(msg, `--${opt} needs a value`, `bt ${name} --${opt}: ${msg}`)
      checked++
    }
  }
  // download alone has more than 20; a filter that silently matched nothing would pass without this.
  assert.ok(checked > 80, `only ${checked} options checked`)
})

test('bt serve: ports, connection counts and seconds are checked up front with the value', () => {
  const cases: Array<[string[], string]> = [
    [['--port', 'abc'], '--port: "abc" is not a port number (0-65535)'],
    [['--port', '70000'], '--port: "70000" is not a port number (0-65535)'],
    [['--peer-port', '99999'], '--peer-port: "99999" is not a port number (0-65535)'],
    [['--dht-port', 'abc'], '--dht-port: "abc" is not a port number (1-65535)'],
    [['--max-peers', '0'], '--max-peers: "0" is not a number of connections from 1 to 10000'],
    [['--metadata-wait', '-1'], '--metadata-wait: "-1" is not a number of seconds (0: do not wait)'],
  ]
  for (const [args, msg] of cases) assert.is(parseError('serve', args), msg, args.join(' '))
  assert.is(parseError('serve', ['--port', '0', '--peer-port', '6881', '--max-peers', '5', '--dht-port', '7000', '--metadata-wait', '0']), undefined)
})

test('bt serve --port with no value, as a user runs it: one line, exit 2, nothing served', async () => {
  const r = await bt(['serve', '--port'], { env: { XDG_DATA_HOME: tmpDir('bt-xdg-') }, timeoutMs: 10_000 })
  assert.is(r.code, 2, r.stderr)
  assert.is(r.stderr, 'bt: --port needs a value\n')
  assert.is(r.stdout, '')
})

test('torrentfs: an option without its value is refused, in the single-dash form too (-metainfoDir alone is not ".")', async () => {
  const dir = tmpDir('bt-tfs-')
  // A mount point that is not empty: should a check regress, torrentfs stops there instead of mounting.
  const mnt = join(dir, 'mnt')
  mkdirSync(mnt)
  writeFileSync(join(mnt, 'keep'), 'x')
  mkdirSync(join(dir, 't'))
  const cases: Array<[string, string]> = [['-metainfoDir', '--metainfoDir'], ['-downloadDir', '--downloadDir'], ['-readahead', '--readahead'], ['-peer', '--peer'], ['-t', '-t'], ['--dht-bootstrap', '--dht-bootstrap']]
  await Promise.all(cases.map(async ([flag, name]) => {
    const args = flag === '-metainfoDir' ? ['-mountDir', mnt, flag] : ['-mountDir', mnt, '-metainfoDir', join(dir, 't'), flag]
    const r = await run(process.execPath, [join(ROOT, 'bin/torrentfs.js'), ...args], { env: { XDG_DATA_HOME: join(dir, 'xdg') }, timeoutMs: 15_000 })
    assert.is(r.code, 2, `${flag}: ${r.stderr}`)
    assert.is(r.stderr, `torrentfs: ${name} needs a value\n`)
  }))
})

test.run()
