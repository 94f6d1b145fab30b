// What every command shares: one-line errors with exit codes, yargs failures in one line, TTY and colour decisions,
// help width. Kept light (no engine imports): `bt --help` loads this and yargs, nothing more.

import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { BtError, ExitCode, errorMessage, fromSystemError, isSystemError } from '../src/errors.js'

// node:fs by require, not import: an ESM import of node:fs builds its facade, which reads every export and so loads
// fs/promises, readline and the streams stack at every start (~10 ms, issue 15); require reads what is used.
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs')

export let verbose = false
export function setVerbose(v: boolean): void {
  verbose = v
}

/** A terminal we may draw on (progress bars, redraws): a TTY that is not `TERM=dumb`. */
export function isTerminal(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.TERM !== 'dumb'
}

/** Progress bars only when stderr is a terminal. (NO_COLOR turns off colour, not progress: see colorLevel.) */
export function stderrIsTTY(): boolean {
  return isTerminal(process.stderr)
}

/**
 * Colour depth for a stream: NO_COLOR (any non-empty value, no-color.org) turns colour off; FORCE_COLOR turns it on
 * even into a pipe (0/false: off; 2, 3: that depth; anything else, empty included, as Node reads it: on);
 * otherwise colour only on a terminal. chalk 5 reads
 * FORCE_COLOR but not NO_COLOR, so the decision is ours.
 */
export function colorLevel(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR) return 0
  const force = env.FORCE_COLOR
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0
    if (force === '2' || force === '3') return Number(force) as 2 | 3
    return 1
  }
  if (!isTerminal(stream, env)) return 0
  return /-256(color)?$/.test(env.TERM ?? '') || env.COLORTERM ? 2 : 1
}

export interface Paint {
  red(s: string): string
  yellow(s: string): string
  bold(s: string): string
}

let stderrPaint: Paint | undefined
/**
 * Colours for stderr, honouring NO_COLOR and FORCE_COLOR. Three SGR codes are all we use: written here rather than
 * loading chalk at every start.
 */
export function paint(): Paint {
  if (stderrPaint) return stderrPaint
  const on = colorLevel(process.stderr) > 0
  const sgr = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s)
  stderrPaint = { red: sgr(31, 39), yellow: sgr(33, 39), bold: sgr(1, 22) }
  return stderrPaint
}

/**
 * yargs' failure messages span lines (`Invalid values:\n  Argument: verb, Given: "x", Choices: "a", "b"`): one line,
 * in our words where we know the shape.
 */
export function usageMessage(msg: string): string {
  const invalid = /Argument: ([^,]+), Given: ("(?:[^"\\]|\\.)*"|[^,]+), Choices: (.*)$/m.exec(msg)
  if (invalid) {
    const choices = invalid[3].split(/,\s*/).map((c) => c.replace(/^"|"$/g, '')).join(', ')
    return `${invalid[1]}: ${invalid[2]} is not one of ${choices}`
  }
  // yargs lists an unknown --some-flag twice, also as someFlag.
  const unknown = /^Unknown arguments?: (.+)$/m.exec(msg)
  if (unknown) {
    const names = unknown[1].split(', ')
    const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    const kept = names.filter((n) => !names.some((o) => o !== n && o.includes('-') && camel(o) === n))
    return `${kept.length === 1 ? 'Unknown argument' : 'Unknown arguments'}: ${kept.join(', ')}`
  }
  const following = /^Not enough arguments following: (.+)$/m.exec(msg)
  if (following) return `${following[1].length === 1 ? '-' : '--'}${following[1]} needs a value`
  return msg.split('\n').map((l) => l.trim()).filter(Boolean).join(' ').replace(/:\s*$/, '')
}

/**
 * Every option of `cmd` that takes a value refuses to be given none (`bt serve --port` alone is "--port needs a
 * value", not the default port). yargs asks this per option (`requiresArg`); one place does it for all, so an option
 * added later cannot forget. Booleans, counts and positionals are left alone.
 */
export function valuesRequired<T, U>(cmd: import('yargs').CommandModule<T, U>): import('yargs').CommandModule<T, U> {
  const builder = cmd.builder
  if (typeof builder !== 'function') return cmd
  const positionals = new Set([...String(cmd.command ?? '').matchAll(/[<[]([\w-]+)/g)].map((m) => m[1]))
  return { ...cmd, builder: (y) => requireValues(builder(y) as import('yargs').Argv<U>, positionals) }
}

/** `valuesRequired` for a parser's options declared so far (torrentfs, which has no commands). */
export function requireValues<T>(y: import('yargs').Argv<T>, positionals: Set<string> = new Set()): import('yargs').Argv<T> {
  const o = (y as unknown as { getOptions(): YargsOptions }).getOptions()
  const flags = new Set(['help', 'version', ...positionals])
  for (const k of [...o.boolean, ...o.count, ...positionals]) for (const a of [k, ...(o.alias[k] ?? [])]) flags.add(a)
  const keys = Object.keys(o.key).filter((k) => !flags.has(k))
  return keys.length ? y.requiresArg(keys) : y
}

/**
 * Stop yargs rendering the whole help text before every command's handler. yargs caches the help of the running
 * command so a handler could call showHelp(); none of ours does, and rendering it (wrapping, width measurement) is
 * ~20 ms of `bt metainfo X magnet`'s start-up (issue 15). `--help` itself is unaffected: it renders on demand.
 */
export function skipHelpCache<T>(y: import('yargs').Argv<T>): import('yargs').Argv<T> {
  const usage = (y as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } }).getInternalMethods().getUsageInstance()
  usage.cacheHelpMessage = () => {}
  return y
}

interface YargsOptions {
  key: Record<string, boolean>
  boolean: string[]
  count: string[]
  alias: Record<string, string[]>
}

/** The yargs `.fail()` handler of our programs: a usage error in one line. */
export function yargsFail(msg: string | null, err: Error | undefined): never {
  // Our own errors (from a coerce or a handler) pass through; yargs' own (YError) are usage errors.
  if (err instanceof BtError) throw err
  if (err && err.name === 'YError') throw new BtError(usageMessage(err.message), ExitCode.usage)
  if (err) throw err
  throw new BtError(usageMessage(msg ?? 'bad usage'), ExitCode.usage)
}

/** Print `prog: message` in one line on stderr and exit with the error's code; stack only with --verbose. */
export function die(prog: string, err: unknown): never {
  // A Node system error that escaped (EISDIR, ENOENT from a mkdir …) still reads as one line of words.
  const e = isSystemError(err) ? fromSystemError(err) : err
  const code = e instanceof BtError ? e.exitCode : ExitCode.internal
  let msg = errorMessage(e)
  if (!(e instanceof BtError) && !verbose) msg = `internal error: ${msg} (run with --verbose for details)`
  process.stderr.write(paint().red(`${prog}: ${msg.split('\n')[0]}`) + '\n')
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n')
  process.exit(code)
}

/** A warning line on stderr: `prog: message`, yellow on a colour terminal. */
export function warnLine(prog: string, line: string): void {
  process.stderr.write(paint().yellow(`${prog}: ${line.split('\n')[0]}`) + '\n')
}

/** Log a line to stderr. */
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
      return (JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version
    } catch {}
  }
  return 'unknown'
}

/** Width of help text: the terminal's, at most 100 (80 when stdout is not a terminal). */
export function helpWidth(): number {
  return Math.min(100, process.stdout.columns || 80)
}

/**
 * Examples for a command's help, laid out so that none breaks in the middle of a command: a description goes only
 * when it fits beside the command, and an example that does not fit the width at all is left out.
 */
export function examples<T>(y: import('yargs').Argv<T>, list: Array<[string, string]>): import('yargs').Argv<T> {
  return y.example(fitExamples(list))
}

/** The examples of `list` that fit the help width, laid out as `examples` says: for `.example(fitExamples([…]))`. */
export function fitExamples(list: Array<[string, string]>, width = helpWidth()): Array<[string, string]> {
  const len = (cmd: string) => cmd.replace(/\$0/g, 'bt').length
  // Commands wider than the terminal (2 columns of indent each side) would break: leave them out.
  const fitting = list.filter(([cmd]) => len(cmd) + 4 <= width)
  // yargs gives the command column the widest example, capped at half the width, for every example at once: a
  // description goes beside the commands only when the widest of them fits that half (a long description wraps
  // within its own column, which reads fine; a command wider than its column would break in the middle).
  const withDescriptions = fitting.every(([cmd]) => len(cmd) <= Math.floor(width / 2))
  return fitting.map(([cmd, desc]) => [cmd, withDescriptions ? desc : ''])
}

/**
 * Write a .torrent (or any output file): `-` means stdout; otherwise the path written is printed on stdout.
 * With `exclusive`, an existing file is refused (as mktorrent does) rather than overwritten.
 */
export async function writeOutput(path: string, bytes: Buffer, opts: { announce?: boolean; exclusive?: boolean } = {}): Promise<void> {
  if (path === '-') {
    process.stdout.write(bytes)
    return
  }
  try {
    await fs.promises.writeFile(path, bytes, { flag: opts.exclusive ? 'wx' : 'w' })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new BtError(`${path}: already exists (--force to overwrite)`, ExitCode.usage)
    if (code === 'EISDIR') throw new BtError(`${path}: is a directory; give a file name to write`, ExitCode.usage)
    throw fromSystemError(err, path, ExitCode.io)
  }
  if (opts.announce !== false) out(path)
}

/**
 * Create `dir` and its missing parents, one level at a time, and fail with the real reason in one line. Node's
 * recursive mkdir reports ENOENT for a directory on a read-only file system and loops for ever under /proc.
 * `label` is how the user named it (e.g. the -o value).
 */
export async function makeDirectory(dir: string, label = dir): Promise<void> {
  const target = resolve(dir)
  const missing: string[] = []
  for (let p = target; ; p = dirname(p)) {
    const st = await fs.promises.stat(p).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(fromSystemError(err, label, ExitCode.io))))
    if (st) {
      if (!st.isDirectory()) throw new BtError(`${label}: ${p === target ? 'not a directory' : `${p} is not a directory`}`, ExitCode.io)
      break
    }
    missing.unshift(p)
    if (dirname(p) === p) break
  }
  for (const p of missing) {
    try {
      await fs.promises.mkdir(p)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue // made meanwhile by someone else
      const e = fromSystemError(err, undefined, ExitCode.io)
      throw new BtError(`${label}: cannot create ${p}: ${e.message.replace(/^.*?: /, '')}`, ExitCode.io)
    }
  }
}
