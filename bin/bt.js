#!/usr/bin/env -S node --openssl-legacy-provider
// The bt launcher: runs the built command line (dist/), or says in one line how to build it.
// Two fast paths skip yargs and the command modules (issue 15: start-up within 0.1 s): help, printed from the texts
// the build rendered with yargs (scripts/bundle-help.js), and `bt metainfo …`, which cmd/metainfo-fast.ts runs
// without yargs when its arguments are plainly a file and a verb. BT_NO_FASTPATH=1 turns both off (the tests compare
// the two ways).
import { createRequire } from 'node:module'

const args = process.argv.slice(2)
const fast = !process.env.BT_NO_FASTPATH
if (!(fast && printHelp(args))) {
  const entry = fast && args[0] === 'metainfo' ? '../dist/cmd/metainfo-fast.js' : '../dist/cmd/bt.js'
  import(entry).catch((err) => {
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cmd/')) {
      const dir = new URL('..', import.meta.url).pathname
      console.error(`bt: not built: run \`npm install\` (it builds dist/) in ${dir}`)
      process.exit(1)
    }
    throw err
  })
}

/**
 * `bt --help` or `bt COMMAND --help` (or -h) from dist/cmd/help.json, when it holds that text for this help width and
 * was rendered from the dist/cmd/bt.js in place, and yargs would speak English; false to go the yargs way.
 */
function printHelp(args) {
  if (args.length < 1 || args.length > 2) return false
  const flag = args[args.length - 1]
  if (flag !== '--help' && flag !== '-h') return false
  const env = process.env
  // yargs' own choice of locale; C and POSIX have no translation file, so yargs speaks English there too.
  const locale = (env.LC_ALL || env.LC_MESSAGES || env.LANG || env.LANGUAGE || 'en_US').replace(/[.:].*/, '')
  if (!/^(en([_-].*)?|C|POSIX)$/.test(locale)) return false
  // node:fs by require: an ESM import of it loads fs/promises and the streams stack (see scripts/bundle-cli.js).
  const require = createRequire(import.meta.url)
  const fs = require('node:fs')
  let help
  try {
    const st = fs.statSync(new URL('../dist/cmd/bt.js', import.meta.url))
    help = JSON.parse(fs.readFileSync(new URL('../dist/cmd/help.json', import.meta.url), 'utf8'))
    if (help.key !== `${st.size} ${st.mtimeMs}`) return false
  } catch {
    return false
  }
  // As cmd/cli.ts helpWidth(): the terminal's width, at most 100; 80 into a pipe.
  const text = help.texts[Math.min(100, process.stdout.columns || 80)]?.[args.length === 2 ? args[0] : '']
  if (typeof text !== 'string') return false
  process.stdout.on('error', () => process.exit(0)) // `bt --help | head`
  process.stdout.write(text)
  return true
}
