// For the fast-path tests: a copy of the built launcher whose dist/cmd/bt.js (the yargs command line) cannot run, so
// whatever such a copy prints came from a fast path, never from yargs.
import { copyFileSync, cpSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, run, type RunResult } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'

/** A launcher tree in a temp dir: bin/bt.js and dist/cmd copied, dist/src and node_modules linked. */
export function launcherWithoutYargs(): { dir: string; bt: (args: string[], env?: NodeJS.ProcessEnv) => Promise<RunResult> } {
  const dir = tmpDir('bt-fast-')
  mkdirSync(join(dir, 'bin'))
  copyFileSync(join(ROOT, 'bin/bt.js'), join(dir, 'bin/bt.js'))
  // Copies, not links: Node resolves a module's imports from its real path, which would lead back to the real bt.js.
  cpSync(join(ROOT, 'dist/cmd'), join(dir, 'dist/cmd'), { recursive: true })
  symlinkSync(join(ROOT, 'dist/src'), join(dir, 'dist/src'))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
  const btJs = join(dir, 'dist/cmd/bt.js')
  writeFileSync(btJs, "process.stderr.write('the yargs command line ran\\n'); process.exit(99)\n")
  // The help texts stay valid for this bt.js: the key names it.
  const help = JSON.parse(readFileSync(join(dir, 'dist/cmd/help.json'), 'utf8'))
  const st = statSync(btJs)
  writeFileSync(join(dir, 'dist/cmd/help.json'), JSON.stringify({ ...help, key: `${st.size} ${st.mtimeMs}` }))
  return { dir, bt: (args, env = {}) => run(process.execPath, [join(dir, 'bin/bt.js'), ...args], { env }) }
}
