// `bt metainfo FILE [magnet|info|files|pieces|json|save]`: inspect a torrent file, or fetch a magnet's metadata first.
// Engine modules are loaded in the handler, and the session only for a magnet, so reading a file stays fast.

import type { Argv, CommandModule } from 'yargs'
import { BtError, ExitCode } from '../src/errors.js'
import type { Metainfo } from '../src/metainfo/metainfo.js'
import type { BValue } from '../src/metainfo/bdecode.js'
import { formatBytes } from '../src/format.js'
import { examples, out, stderrIsTTY, writeOutput } from './cli.js'
import { discoveryOptions } from './options.js'

const VERBS = ['magnet', 'info', 'files', 'pieces', 'json', 'save'] as const
type Verb = (typeof VERBS)[number]

interface Args {
  torrent: string
  verb: Verb
  json: boolean
  output?: string
  port?: number
  peer: string[]
  tracker: string[]
  dht: boolean
  'dht-port'?: number
  'dht-bootstrap'?: string
  'metadata-timeout': number
  quiet: boolean
}

/** Fetch a magnet's metadata from the swarm (DHT, trackers, x.pe, --peer): the bytes of a .torrent file. */
async function fetchTorrent(args: Args): Promise<Buffer> {
  const { resolveTorrentSource } = await import('../src/metainfo/source.js')
  const { torrentFileFromInfo } = await import('../src/metainfo/metainfo.js')
  const { statusFields } = await import('./progress.js')
  const { LiveArea } = await import('./terminal.js')
  const { fitFields } = await import('../src/format.js')
  const session = await import('./session.js')
  const src = await resolveTorrentSource(args.torrent)
  if (src.kind !== 'magnet') throw new Error('unreachable')
  const magnet = src.magnet
  const warnings: string[] = []
  const warn = (l: string) => warnings.push(l)
  const trackers = session.usableTrackers([...args.tracker, ...magnet.trackers].map((u) => [u]), warn, new Set())
  const peers = [...session.peersOption(args.peer), ...session.usablePeers(magnet.peers, warn)]
  session.checkPeerSources({ dht: args.dht, trackers, peers })
  const client = session.makeClient(args, { port: 0 })
  await client.listen()
  const live = !args.quiet && stderrIsTTY()
    ? new LiveArea((width) => [fitFields(statusFields(t.stats()), width)])
    : undefined
  const say = (line: string) => {
    if (args.quiet) return
    if (live) live.log(`bt: ${line}`)
    else process.stderr.write(`bt: ${line}\n`)
  }
  session.exitOnSignal(client, { beforeStop: () => live?.stop({ clear: true }), quiet: args.quiet, saves: false })
  for (const w of warnings) say(w)
  session.watchDht(client, args.dht ? session.bootstrapOption(args['dht-bootstrap']) : undefined, say)
  const t = client.add({ ...magnet, trackers: [], peers: [] }, { dir: '.', metadataOnly: true, peers, trackers })
  const said = new Set<string>()
  t.on('warning', (msg: string) => {
    if (!said.has(msg)) say(msg)
    said.add(msg)
  })
  session.metadataTimeout(t, args['metadata-timeout'])
  const timer = live ? setInterval(() => live.draw(), 250) : undefined
  try {
    const m = await new Promise<Metainfo>((resolve, reject) => {
      t.once('metadata', resolve)
      t.once('error', reject)
    })
    return torrentFileFromInfo(m.infoBuffer, { announce: trackers.flat().filter((u) => magnet.trackers.includes(u)).map((u) => [u]), urlList: magnet.webSeeds })
  } finally {
    clearInterval(timer)
    live?.stop({ clear: true })
    await client.destroy()
  }
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

export const metainfoCommand: CommandModule<object, Args> = {
  command: 'metainfo <torrent> [verb]',
  describe: 'Inspect a torrent file (- for stdin) or a magnet link (fetches its metadata)',
  builder: (y: Argv) =>
    examples(
      discoveryOptions(
        y
          .positional('torrent', { type: 'string', describe: '.torrent file, - for stdin, magnet link, infohash:HEX or a 40-hex info hash', demandOption: true })
          .positional('verb', { choices: VERBS, default: 'info' as Verb, describe: 'what to print' })
          .option('json', { type: 'boolean', default: false, describe: 'print data as JSON (info, files, pieces)' })
          .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'save: write the .torrent here (default NAME.torrent; - for stdout)' }),
        'magnets: ',
      ),
      [
        ["$0 metainfo 'magnet:?xt=urn:btih:…' save", 'fetch a magnet\'s .torrent'],
        ['$0 metainfo ubuntu.torrent magnet', 'print the magnet link'],
        ['$0 metainfo ubuntu.torrent files --json', 'list files as JSON'],
      ],
    ) as unknown as Argv<Args>,
  handler: async (args) => {
    // yargs-parser turns a lone "-" positional into an empty string.
    const stdin = args.torrent === '-' || args.torrent === ''
    const source = stdin ? 'stdin' : args.torrent
    const remote = !stdin && (args.torrent.startsWith('magnet:') || /^infohash:/i.test(args.torrent) || /^[0-9a-fA-F]{40}$/.test(args.torrent))
    // Loaded side by side: one module graph each, in sequence, costs a file-system round trip apiece.
    const [{ parseTorrent, pieceHash }, { magnetOf }, load] = await Promise.all([
      import('../src/metainfo/metainfo.js'),
      import('../src/metainfo/magnet-link.js'),
      stdin || remote ? undefined : import('../src/metainfo/load.js'),
    ])
    const bytes = stdin ? await readStdin() : remote ? await fetchTorrent(args) : await load!.readTorrentBytes(args.torrent)
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
    }
  },
}
