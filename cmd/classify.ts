// `bt classify NAME… [--files LIST] [--json]`: what the content classifier makes of torrent names (and a file list).

import { readFileSync, statSync } from 'node:fs'
import type { Argv, CommandModule } from 'yargs'
import { fitExamples } from './cli.js'
import { BtError, ExitCode, fromSystemError } from '../src/errors.js'
import type { Classification, IndexedFile } from '../src/index/types.js'

interface Args {
  name: string[]
  files?: string
  json: boolean
}

/** The fields of `--json`, in this order, always present (null, [] or false when the name says nothing). */
const FIELDS = ['contentType', 'title', 'year', 'seasons', 'episodes', 'airDate', 'resolution', 'source', 'videoCodec', 'audioCodec', 'hdr', 'threeD', 'languages', 'releaseGroup', 'edition', 'container', 'complete'] as const
/** Names longer than this are not torrent names (BitTorrent clients cap names near 255 bytes). */
const MAX_NAME = 1000
const MAX_FILES = 1_000_000

function toJson(c: Classification): string {
  const o: Record<string, unknown> = {}
  for (const f of FIELDS) {
    const v = c[f]
    o[f] = v === undefined ? (f === 'threeD' || f === 'complete' ? false : null) : v
  }
  return JSON.stringify(o)
}

const LABELS: Array<[keyof Classification, string]> = [
  ['contentType', 'type'],
  ['title', 'title'],
  ['year', 'year'],
  ['seasons', 'seasons'],
  ['episodes', 'episodes'],
  ['airDate', 'air date'],
  ['resolution', 'resolution'],
  ['source', 'source'],
  ['videoCodec', 'video codec'],
  ['audioCodec', 'audio codec'],
  ['hdr', 'hdr'],
  ['threeD', '3d'],
  ['languages', 'languages'],
  ['releaseGroup', 'group'],
  ['edition', 'edition'],
  ['container', 'container'],
  ['complete', 'pack'],
  ['issue', 'issue'],
]

/** Numbers as ranges where they run on: 1-12, 15. */
function ranges(ns: number[]): string {
  const parts: string[] = []
  for (let i = 0; i < ns.length; ) {
    let j = i
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++
    parts.push(j > i + 1 ? `${ns[i]}-${ns[j]}` : j === i + 1 ? `${ns[i]}, ${ns[j]}` : `${ns[i]}`)
    i = j + 1
  }
  return parts.join(', ')
}

// Two SGR codes, written here: importing chalk at the top of a command module costs every `bt --help` its load.
const bold = (s: string) => `\x1b[1m${s}\x1b[22m`
const cyan = (s: string) => `\x1b[36m${s}\x1b[39m`

function toText(name: string, c: Classification, colour: boolean): string {
  const lines = [colour ? bold(name) : name]
  for (const [k, label] of LABELS) {
    const v = c[k]
    if (v === undefined || v === false || (Array.isArray(v) && v.length === 0)) continue
    const text = v === true ? 'yes' : Array.isArray(v) ? (typeof v[0] === 'number' ? ranges(v as number[]) : v.join(', ')) : String(v)
    lines.push(`  ${(label + ':').padEnd(13)}${colour && k === 'contentType' ? cyan(text) : text}`)
  }
  return lines.join('\n')
}

/** A file list line: `path`, or `path<TAB>size` as `bt metainfo X files` prints it. */
function fileOf(line: string): IndexedFile | undefined {
  const t = line.replace(/\r$/, '')
  if (!t.trim()) return undefined
  const tab = t.lastIndexOf('\t')
  if (tab > 0 && /^\d+$/.test(t.slice(tab + 1))) return { path: t.slice(0, tab), size: Number(t.slice(tab + 1)) }
  return { path: t.trim(), size: 0 }
}

async function readLines(onLine: (line: string, n: number) => void | Promise<void>): Promise<void> {
  const { createInterface } = await import('node:readline')
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  let n = 0
  for await (const line of rl) await onLine(line, ++n)
}

/** `--files`: `-` (stdin), a file with one path per line, or a comma-separated list of paths. */
async function loadFiles(spec: string): Promise<IndexedFile[]> {
  const files: IndexedFile[] = []
  const push = (f: IndexedFile | undefined) => {
    if (!f) return
    if (files.length >= MAX_FILES) throw new BtError(`--files: more than ${MAX_FILES} files`, ExitCode.usage)
    files.push(f)
  }
  if (spec === '-' || spec === '') {
    await readLines((line) => push(fileOf(line)))
    return files
  }
  let isFile = false
  try {
    isFile = statSync(spec).isFile()
  } catch {}
  if (isFile) {
    let text: string
    try {
      text = readFileSync(spec, 'utf8')
    } catch (err) {
      throw fromSystemError(err, spec, ExitCode.io)
    }
    for (const line of text.split('\n')) push(fileOf(line))
    return files
  }
  for (const p of spec.split(',')) push(fileOf(p))
  return files
}

/**
 * yargs drops a lone `-` from an array positional; put it back where it stood among the names, from the raw
 * arguments, so that `bt classify a - b` keeps its order.
 */
function withStdinMarkers(names: string[], argv: string[]): string[] {
  const at = argv.indexOf('classify')
  if (at < 0 || !argv.slice(at + 1).includes('-')) return names
  const out: string[] = []
  const rest = argv.slice(at + 1)
  let k = 0
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]
    if (a === '--') continue
    if (a === '--files') {
      i++
      continue
    }
    if (a === '-') out.push('-')
    else if (a.startsWith('-')) continue
    else if (k < names.length) out.push(names[k++])
  }
  while (k < names.length) out.push(names[k++])
  return out
}

function write(chunk: string): Promise<void> | void {
  if (!process.stdout.write(chunk)) return new Promise((resolve) => process.stdout.once('drain', resolve))
}

export const classifyCommand: CommandModule<object, Args> = {
  command: 'classify <name..>',
  describe: 'Show what the content classifier makes of torrent names (- reads names from stdin, one a line)',
  builder: (y: Argv) =>
    y
      .positional('name', { type: 'string', array: true, describe: 'torrent name(s); - for one name a line from stdin', demandOption: true })
      .option('files', { type: 'string', describe: 'file list: comma-separated paths, a file with one path (or path<TAB>size) a line, or - for stdin' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object a name, in input order' })
      .example(fitExamples([
        ["$0 classify 'The.Bear.S02E07.1080p.WEB-NTb'", 'type, title, season/episode, quality, group'],
        ["$0 classify 'An Album' --files 01.flac,02.flac", 'the file list decides the type'],
        ['$0 classify NAME --files - < files.txt', 'files and sizes from bt metainfo X files'],
        ['$0 classify - --json < names.txt', 'many names'],
      ])) as unknown as Argv<Args>,
  handler: async (args) => {
    const { classify } = await import('../src/index/classify.js')
    const names = withStdinMarkers(args.name.map((n) => String(n)), process.argv.slice(2))
    const fromStdin = names.some((n) => n === '-' || n === '')
    const filesFromStdin = args.files === '-' || args.files === ''
    if (fromStdin && filesFromStdin) throw new BtError('names and --files cannot both come from stdin (-)', ExitCode.usage)
    const files = args.files !== undefined ? await loadFiles(args.files) : undefined
    const colour = !args.json && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
    let first = true
    let rejected = 0
    const emit = (name: string): Promise<void> | void => {
      const c = classify(name, files)
      const text = args.json ? toJson(c) + '\n' : (first ? '' : '\n') + toText(name, c, colour) + '\n'
      first = false
      return write(text)
    }
    for (const name of names) {
      if (name === '-' || name === '') {
        await readLines(async (line, n) => {
          const t = line.replace(/\r$/, '')
          if (!t.trim()) return
          if (t.length > MAX_NAME) {
            rejected++
            process.stderr.write(`bt: stdin line ${n}: longer than ${MAX_NAME} characters, skipped\n`)
            return
          }
          await emit(t)
        })
        continue
      }
      if (name.length > MAX_NAME) throw new BtError(`name longer than ${MAX_NAME} characters`, ExitCode.usage)
      await emit(name)
    }
    if (rejected > 0) process.exitCode = ExitCode.usage
  },
}
