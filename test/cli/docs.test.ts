// The man page and the bash, zsh and fish completions agree with the parser, for every command and in both
// directions: every option a command accepts is offered and documented, and nothing is offered that it refuses.
// The parser's side comes from the command modules themselves (the options yargs builds), so a new option that the
// docs forget fails here.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import yargs from 'yargs'
import type { CommandModule } from 'yargs'
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
import { ROOT, run } from '../helpers/cli.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const COMMANDS: Record<string, CommandModule<any, any>> = {
  metainfo: metainfoCommand, create: createCommand, download: downloadCommand, seed: seedCommand, import: importCommand,
  search: searchCommand, serve: serveCommand, tracker: trackerCommand, classify: classifyCommand, crawl: crawlCommand,
}
// Shown by every command; the completions offer them everywhere and the man page in OPTIONS.
const GLOBAL = new Set(['help', 'version', 'verbose'])

/** `--no-dht` and `--dht` are one option. */
const base = (name: string) => name.replace(/^--/, '').replace(/^no-/, '')

/** The long options a command accepts, as yargs builds them from the command module. */
function parserOptions(name: string): Set<string> {
  const cmd = COMMANDS[name]
  const y = (cmd.builder as unknown as (y: unknown) => { getOptions(): { key: Record<string, boolean> } })(yargs([]))
  const positionals = new Set([...String(cmd.command).matchAll(/[<[]([\w-]+)/g)].map((m) => m[1]))
  return new Set(Object.keys(y.getOptions().key).filter((k) => /^[a-z][a-z0-9-]+$/.test(k) && !positionals.has(k) && !GLOBAL.has(k)).map(base))
}

const longs = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]+)/g)].map((m) => base(m[1])).filter((n) => !GLOBAL.has(n)))

function diff(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort()
}

async function bashOffers(cmd: string): Promise<Set<string>> {
  const script = `source completions/bt.bash; COMP_WORDS=(bt ${cmd} --); COMP_CWORD=2; _bt; printf '%s\\n' "\${COMPREPLY[@]}"`
  const r = await run('bash', ['-c', script], { cwd: ROOT })
  assert.is(r.code, 0, r.stderr)
  return longs(r.stdout)
}

/** zsh: the `_arguments` of the command's case branch, with the shared arrays ($net, $run) it names expanded. */
function zshOffers(text: string, cmd: string): Set<string> {
  const arrays = new Map<string, string>()
  for (const m of text.matchAll(/^\s+(\w+)=\(([\s\S]*?)\)\n/gm)) arrays.set(m[1], m[2])
  const branch = new RegExp(`^\\s+${cmd}\\)\\n([\\s\\S]*?);;`, 'm').exec(text)
  assert.ok(branch, `_bt has no branch for ${cmd}`)
  let body = branch![1]
  for (const [name, value] of arrays) body = body.replaceAll(`$${name}`, value)
  return longs(body)
}

/** fish: the `complete` lines whose condition names the command (or a variable listing it). */
function fishOffers(text: string, cmd: string): Set<string> {
  const vars = new Map<string, string[]>()
  for (const m of text.matchAll(/^set -l (\w+) (.+)$/gm)) vars.set(m[1], m[2].split(/\s+/))
  const out = new Set<string>()
  for (const m of text.matchAll(/^complete -c bt -n (["'])__fish_seen_subcommand_from ([^"']+)\1(.*)$/gm)) {
    const names = m[2].split(/\s+/).flatMap((w) => (w.startsWith('$') ? vars.get(w.slice(1)) ?? [] : [w]))
    if (!names.includes(cmd)) continue
    const l = / -l ([a-z][a-z0-9-]+)/.exec(m[3])
    if (l && !GLOBAL.has(base(l[1]))) out.add(base(l[1]))
  }
  return out
}

test('bash, zsh and fish offer exactly the options each command accepts', async () => {
  const zsh = readFileSync(join(ROOT, 'completions/_bt'), 'utf8')
  const fish = readFileSync(join(ROOT, 'completions/bt.fish'), 'utf8')
  const problems: string[] = []
  for (const cmd of Object.keys(COMMANDS)) {
    const accepted = parserOptions(cmd)
    assert.ok(accepted.size > 0 || cmd === 'classify', cmd)
    for (const [shell, offered] of [['bash', await bashOffers(cmd)], ['zsh', zshOffers(zsh, cmd)], ['fish', fishOffers(fish, cmd)]] as const) {
      assert.ok(offered.size >= Math.min(2, accepted.size), `${shell} offers ${offered.size} options for bt ${cmd}`)
      for (const o of diff(accepted, offered)) problems.push(`${shell}: bt ${cmd} accepts --${o}, not offered`)
      for (const o of diff(offered, accepted)) problems.push(`${shell}: bt ${cmd} offers --${o}, which it refuses`)
    }
  }
  assert.equal(problems, [], problems.join('\n'))
})

test('the man page documents every option of every command, and no option that no command takes', () => {
  const man = readFileSync(join(ROOT, 'man/bt.1'), 'utf8').replace(/\\-/g, '-')
  const documented = longs(man)
  const all = new Set<string>()
  const problems: string[] = []
  for (const cmd of Object.keys(COMMANDS)) {
    for (const o of parserOptions(cmd)) {
      all.add(o)
      if (!documented.has(o)) problems.push(`bt ${cmd} --${o}: not in man/bt.1`)
    }
  }
  // Options of other programs the page names (node's, transmission-remote's) are not ours.
  const others = new Set(['openssl-legacy-provider', 'exit', 'move', 'find'])
  for (const o of documented) if (!all.has(o) && !others.has(o)) problems.push(`man/bt.1 documents --${o}, which no command takes`)
  assert.equal(problems, [], problems.join('\n'))
})

test.run()
