#!/usr/bin/env node
// After bundle-cli: render `bt --help` and `bt <command> --help` with the built command line (yargs itself, live) at
// the help widths most users get — 80 (a pipe, or an 80-column terminal) and 100 (any terminal that wide or wider:
// helpWidth() caps there) — into dist/cmd/help.json. The launcher (bin/bt.js) prints from it instead of loading
// yargs and every command module (issue 15: `bt --help` within 0.1 s). Any other width, a non-English locale or a
// help.json older than dist/cmd/bt.js goes the yargs way; test/cli/fast-help.test.ts checks the two agree.
import { spawnSync } from 'node:child_process'
import { statSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const bt = `${root}bin/bt.js`
const out = `${root}dist/cmd/help.json`
export const WIDTHS = [80, 100]

// English, whatever the builder's locale (the launcher serves these texts only to English and C locales).
const env = { ...process.env, LANG: 'C.UTF-8', NO_COLOR: '1', BT_NO_FASTPATH: '1' }
for (const k of ['LC_ALL', 'LC_MESSAGES', 'LANGUAGE', 'FORCE_COLOR']) delete env[k]

/** yargs' help for `args` as a terminal `width` columns wide would get it (stdout.columns is all helpWidth reads). */
function render(args, width) {
  const preload = `data:text/javascript,process.stdout.columns=${width}`
  const r = spawnSync(process.execPath, ['--import', preload, bt, ...args], { env, encoding: 'utf8', timeout: 60_000 })
  if (r.status !== 0) throw new Error(`bundle-help: bt ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

// The commands, from the root help's command list (`  bt metainfo <torrent> [verb]  Inspect …`).
const rootHelp = render(['--help'], 100)
const commands = [...rootHelp.split('\nCommands:\n')[1].split('\n\n')[0].matchAll(/^ {2}bt ([a-z][\w-]*)/gm)].map((m) => m[1])
if (commands.length < 5) throw new Error(`bundle-help: found only ${commands.length} commands in bt --help`)

const texts = {}
for (const width of WIDTHS) {
  texts[width] = { '': width === 100 ? rootHelp : render(['--help'], width) }
  for (const c of commands) texts[width][c] = render([c, '--help'], width)
}
// The texts hold only for the command line they were rendered from: the launcher compares this key with bt.js's.
const st = statSync(`${root}dist/cmd/bt.js`)
writeFileSync(out, JSON.stringify({ key: `${st.size} ${st.mtimeMs}`, texts }))
