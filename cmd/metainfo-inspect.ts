// What `bt metainfo` does once its arguments are known: read the torrent (a file, stdin, or a magnet's metadata via
// the fetch given) and print the verb. Shared by the yargs command (cmd/metainfo.ts) and the launcher's fast path
// for a file (cmd/metainfo-fast.ts), so the two cannot print differently. Engine modules load here, lazily.

import { BtError, ExitCode } from '../src/errors.js'
import type { Metainfo } from '../src/metainfo/metainfo.js'
import type { BValue } from '../src/metainfo/bdecode.js'
import { formatBytes } from '../src/format.js'
import { out, writeOutput } from './cli.js'

export const VERBS = ['magnet', 'info', 'files', 'pieces', 'json', 'save'] as const
export type Verb = (typeof VERBS)[number]

/** The arguments inspectTorrent reads (the command's own carry more: the discovery options of a magnet). */
export interface InspectArgs {
  torrent: string
  verb: Verb
  json: boolean
  output?: string
}

/** A magnet link, infohash:HEX or a bare 40-hex info hash: metadata comes from the swarm, not a file. */
export function isRemote(torrent: string): boolean {
  return torrent.startsWith('magnet:') || /^infohash:/i.test(torrent) || /^[0-9a-fA-F]{40}$/.test(torrent)
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += chunk.length
    if (size > 64 * 1024 * 1024) throw new BtError('stdin: not a valid torrent: larger than 64 MiB', ExitCode.usage)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** JSON view of a bencoded value: byte strings as text when they are UTF-8 (and not `pieces`), else hex. */
function toJSON(v: BValue, key = ''): unknown {
  if (Buffer.isBuffer(v)) {
    if (key !== 'pieces') {
      const s = v.toString('utf8')
      // Valid UTF-8 round-trips; control characters other than whitespace suggest binary.
      if (Buffer.from(s, 'utf8').equals(v) && !/[\u0000-\u0008\u000e-\u001f]/.test(s)) return s
    }
    return v.toString('hex')
  }
  if (Array.isArray(v)) return v.map((x) => toJSON(x))
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = toJSON(x, k)
    return o
  }
  return v
}

function printInfo(m: Metainfo): void {
  const rows: [string, string][] = [
    ['name', m.name],
    ['info hash', m.infoHash],
    ['size', `${formatBytes(m.length)} (${m.length} bytes)`],
    ['piece length', `${formatBytes(m.pieceLength)} (${m.pieceLength})`],
    ['pieces', String(m.pieceCount)],
    ['files', String(m.files.filter((f) => !f.padding).length)],
    ['private', m.private ? 'yes' : 'no'],
  ]
  m.announce.forEach((tier, i) => tier.forEach((url) => rows.push([`tracker (tier ${i})`, url])))
  for (const ws of m.urlList) rows.push(['web seed', ws])
  if (m.creationDate) rows.push(['created', m.creationDate.toISOString()])
  if (m.comment) rows.push(['comment', m.comment])
  if (m.createdBy) rows.push(['created by', m.createdBy])
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) out(`${(k + ':').padEnd(width + 1)} ${v}`)
}

const noFetch = (): never => {
  throw new BtError('a magnet needs the metainfo command\'s discovery options', ExitCode.internal)
}

/** Read the torrent `args` names and print `args.verb` of it on stdout. `fetchTorrent` is needed for a remote one. */
export async function inspectTorrent<A extends InspectArgs>(args: A, fetchTorrent?: (args: A) => Promise<Buffer>): Promise<void> {
  // yargs-parser turns a lone "-" positional into an empty string.
  const stdin = args.torrent === '-' || args.torrent === ''
  const source = stdin ? 'stdin' : args.torrent
  const remote = !stdin && isRemote(args.torrent)
  // Loaded side by side: one module graph each, in sequence, costs a file-system round trip apiece.
  const [{ parseTorrent, pieceHash }, { magnetOf }, load] = await Promise.all([
    import('../src/metainfo/metainfo.js'),
    import('../src/metainfo/magnet-link.js'),
    stdin || remote ? undefined : import('../src/metainfo/load.js'),
  ])
  const bytes = stdin ? await readStdin() : remote ? await (fetchTorrent ?? noFetch)(args) : await load!.readTorrentBytes(args.torrent)
  const m = parseTorrent(bytes, source)
  switch (args.verb) {
    case 'magnet':
      out(magnetOf(m))
      break
    case 'info':
      if (args.json) {
        out(JSON.stringify({
          name: m.name, infoHash: m.infoHash, length: m.length, pieceLength: m.pieceLength, pieceCount: m.pieceCount,
          fileCount: m.files.filter((f) => !f.padding).length, private: m.private, announce: m.announce,
          urlList: m.urlList, creationDate: m.creationDate?.toISOString(), comment: m.comment, createdBy: m.createdBy,
          magnet: magnetOf(m),
        }))
      } else printInfo(m)
      break
    case 'files': {
      const files = m.files.filter((f) => !f.padding)
      if (args.json) out(JSON.stringify(files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset }))))
      else for (const f of files) out(`${f.path.join('/')}\t${f.length}`)
      break
    }
    case 'pieces':
      if (args.json) out(JSON.stringify(Array.from({ length: m.pieceCount }, (_, i) => pieceHash(m, i).toString('hex'))))
      else for (let i = 0; i < m.pieceCount; i++) out(pieceHash(m, i).toString('hex'))
      break
    case 'json':
      out(JSON.stringify(toJSON(m.raw), null, 2))
      break
    case 'save': {
      await writeOutput(args.output ?? `${m.name}.torrent`, bytes)
      break
    }
  }}
