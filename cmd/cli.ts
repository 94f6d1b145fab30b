// What every command shares: running a yargs program, one-line errors with exit codes, TTY and colour decisions.

import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { chalkStderr } from 'chalk'
import { BtError, ExitCode, errorMessage } from '../src/errors.js'

export let verbose = false
export function setVerbose(v: boolean): void {
  verbose = v
}

/** Progress bars and colour only when stderr is a terminal and NO_COLOR is not set. */
export function stderrIsTTY(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
}

/** Print `prog: message` in one line on stderr and exit with the error's code; stack only with --verbose. */
export function die(prog: string, err: unknown): never {
  const code = err instanceof BtError ? err.exitCode : ExitCode.internal
  let msg = errorMessage(err)
  const sys = (err as NodeJS.ErrnoException)?.code
  if (!(err instanceof BtError)) {
    if (sys === 'ENOSPC') msg = `no space left on device (${msg})`
    else if (code === ExitCode.internal && !verbose) msg = `internal error: ${msg} (run with --verbose for details)`
  }
  process.stderr.write(chalkStderr.red(`${prog}: ${msg.split('\n')[0]}`) + '\n')
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n')
  process.exit(code)
}

/** Log a line to stderr unless quiet. */
export function info(line: string): void {
  process.stderr.write(line + '\n')
}

/** Write data to stdout, honouring back-pressure and EPIPE (`bt … | head` must not crash). */
export function out(line: string): void {
  process.stdout.write(line + '\n')
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
})

/** Our version, from package.json: found by walking up, as this runs from dist/cmd/ when built and from cmd/ under tsx. */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version
    } catch {}
  }
  return 'unknown'
}

/** Write a .torrent (or any output file): `-` means stdout; otherwise the path written is printed on stdout. */
export async function writeOutput(path: string, bytes: Buffer, opts: { announce?: boolean } = {}): Promise<void> {
  if (path === '-') {
    process.stdout.write(bytes)
    return
  }
  try {
    await writeFile(path, bytes)
  } catch (err) {
    throw new BtError(`${path}: ${errorMessage(err)}`, ExitCode.io)
  }
  if (opts.announce !== false) out(path)
}
