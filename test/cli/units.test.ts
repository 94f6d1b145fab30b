// Pure logic behind the command line: status lines fitted to a width, the rate estimate, yargs messages in one line,
// colour decisions, torrentfs' single-dash flags, tracker URL checks, errno messages.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fitFields, textWidth, type StatusField } from '../../src/format.js'
import { RateMeter } from '../../src/session/rate.js'
import { TORRENT_RATE_WINDOW_MS } from '../../src/session/torrent.js'
import { progressLine, statusFields } from '../../cmd/progress.js'
import { colorLevel, usageMessage } from '../../cmd/cli.js'
import { longFlags } from '../../cmd/torrentfs-args.js'
import { trackerUrlProblem } from '../../src/discovery/tracker-url.js'
import { BtError, ExitCode, fromSystemError, systemText } from '../../src/errors.js'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TorrentStats } from '../../src/session/torrent.js'

const MiB = 1024 * 1024

function stats(over: Partial<TorrentStats>): TorrentStats {
  return {
    state: 'downloading', name: 'x', infoHash: '0'.repeat(40), have: 12 * MiB, wanted: 40 * MiB, downloaded: 12 * MiB,
    uploaded: 3 * MiB, downloadRate: 2.5 * MiB, uploadRate: 100 * 1024, peers: 7, seeds: 3, knownPeers: 50, ends: { refused: 0, timeout: 0, handshake: 0, closed: 0, banned: 0, encryption: 0 }, ...over,
  }
}

test('fitFields: everything when it fits, then shortened and dropped by priority, never wider than asked', () => {
  const fields: StatusField[] = [
    { text: '45.1%', priority: 0 },
    { text: '12.0 MiB/40.0 MiB', short: '12.0 MiB', priority: 5 },
    { text: 'down 2.50 MiB/s', short: '↓2.5M/s', priority: 1 },
    { text: 'up 100 KiB/s', priority: 4 },
    { text: '7 peers', short: '7p', priority: 2 },
    { text: 'ETA 11s', short: '11s', priority: 1 },
  ]
  const full = fitFields(fields, Infinity)
  assert.is(full, '45.1% 12.0 MiB/40.0 MiB down 2.50 MiB/s up 100 KiB/s 7 peers ETA 11s')
  assert.is(fitFields(fields, full.length), full)
  // One column less: the least important field (the size, priority 5) is shortened first.
  assert.is(fitFields(fields, full.length - 1), '45.1% 12.0 MiB down 2.50 MiB/s up 100 KiB/s 7 peers ETA 11s')
  const narrow = fitFields(fields, 30)
  assert.ok(narrow.length <= 30, narrow)
  assert.match(narrow, /^45\.1% /)
  assert.match(narrow, /2\.5/) // the rate and the ETA outlive the size and the upload rate
  assert.match(narrow, /11s/)
  assert.not.match(narrow, /up 100/)
  for (let w = 0; w <= 80; w++) assert.ok(textWidth(fitFields(fields, w)) <= w, `width ${w}: ${fitFields(fields, w)}`)
  assert.is(fitFields(fields, 3), '45…')
})

test('progressLine fits every width from 10 to 200 columns and keeps the percentage and rate as long as it can', () => {
  const name = 'ubuntu-24.04-desktop-amd64.iso'
  const dht = { nodes: 12, answering: 5, candidates: 40, lookups: 1, inflight: 3, sent: 0, answers: 0, timeouts: 0, stored: 0 }
  for (const s of [stats({}), stats({ state: 'metadata', have: 0, wanted: 0, dht }), stats({ state: 'seeding' }), stats({ state: 'checking' })]) {
    for (let w = 10; w <= 200; w++) {
      const line = progressLine(name, 0.3, statusFields(s, { verbose: true, checking: [3, 10] }), w)
      assert.ok(textWidth(line) <= w, `${s.state} at ${w}: ${line} (${textWidth(line)})`)
    }
  }
  const at80 = progressLine(name, 0.3, statusFields(stats({})), 79)
  assert.match(at80, /30\.0%/)
  assert.match(at80, /2\.5/)
  assert.match(at80, /ETA|11s/)
  assert.match(at80, /\[#+-+\]/) // a bar still fits
  const at40 = progressLine(name, 0.3, statusFields(stats({})), 39)
  assert.match(at40, /30(\.0)?%/)
  assert.match(at40, /2\.5/)
  const wide = progressLine(name, 0.3, statusFields(stats({})), 200)
  assert.ok(wide.startsWith(name), wide)
  assert.match(wide, /down 2\.50 MiB\/s up 100 KiB\/s 7 peers ETA 11s$/)
})

test('the metadata status line shows the DHT node count (-v: what it is doing); a field added to the list shows up', () => {
  const dht = { nodes: 12, answering: 5, candidates: 40, lookups: 1, inflight: 3, sent: 0, answers: 0, timeouts: 0, stored: 0 }
  const s = stats({ state: 'metadata', peers: 0, knownPeers: 0, dht })
  assert.is(fitFields(statusFields(s), Infinity), 'fetching metadata: 0 peers, 0 known, DHT 12 nodes')
  assert.is(fitFields(statusFields(s, { verbose: true }), Infinity), 'fetching metadata: 0 peers, 0 known, DHT 12 nodes, 5 answering, 40 saved to try, 1 lookups, 3 queries in flight')
  // Narrow: the details go before the node count does.
  assert.is(fitFields(statusFields(s, { verbose: true }), 50), 'fetching metadata: 0 peers, 0 known, DHT 12 nodes')
  assert.is(fitFields(statusFields(s, { verbose: true }), 30), 'fetching metadata: 0 peers')
  assert.is(fitFields(statusFields(stats({ state: 'metadata', peers: 0, knownPeers: 0 })), Infinity), 'fetching metadata: 0 peers, 0 known')
  const more = [...statusFields(s), { text: '2 refused', priority: 3, sep: ', ' }]
  assert.match(fitFields(more, Infinity), /DHT 12 nodes, 2 refused$/)
  // A torrent added with its metainfo (bt seed X.torrent) is 'metadata' until it starts: it is not fetching any.
  assert.is(fitFields(statusFields(s, { hasMetadata: true }), Infinity), 'starting')
})

test("RateMeter: a torrent's shown rate follows a change of speed within two seconds", () => {
  const t0 = 1_000_000
  const m = new RateMeter(TORRENT_RATE_WINDOW_MS, 250, t0)
  const block = 16 * 1024
  let t = t0
  const feed = (seconds: number, blocksPerSecond: number) => {
    for (let i = 0; i < blocksPerSecond * seconds; i++) {
      t += 1000 / blocksPerSecond
      m.add(block, t)
    }
  }
  feed(10, 64) // 1 MiB/s
  assert.ok(Math.abs(m.rate(t) - MiB) / MiB < 0.1)
  feed(2, 256) // then 4 MiB/s
  assert.ok(Math.abs(m.rate(t) - 4 * MiB) / (4 * MiB) < 0.1, `2 s after speeding up: ${(m.rate(t) / MiB).toFixed(2)} MiB/s`)
  feed(2, 16) // then 256 KiB/s
  assert.ok(Math.abs(m.rate(t) - MiB / 4) / (MiB / 4) < 0.1, `2 s after slowing down: ${(m.rate(t) / 1024).toFixed(0)} KiB/s`)
})

test('RateMeter: at a steady 1 MiB/s the estimate is within 10% after one second, and after a pause', () => {
  const t0 = 1_000_000
  const m = new RateMeter(5000, 250, t0)
  const block = 16 * 1024
  let t = t0
  // 64 blocks a second = 1 MiB/s.
  const feed = (seconds: number) => {
    for (let i = 0; i < 64 * seconds; i++) {
      t += 1000 / 64
      m.add(block, t)
    }
  }
  feed(1)
  const r1 = m.rate(t)
  assert.ok(Math.abs(r1 - MiB) / MiB < 0.1, `after 1 s: ${(r1 / 1024).toFixed(0)} KiB/s`)
  feed(1)
  assert.ok(Math.abs(m.rate(t) - MiB) / MiB < 0.1, `after 2 s: ${m.rate(t)}`)
  feed(5)
  assert.ok(Math.abs(m.rate(t) - MiB) / MiB < 0.1, `after 7 s: ${m.rate(t)}`)
  // Traffic stops: the estimate falls, and is 0 once the window has passed.
  assert.ok(m.rate(t + 2000) < 0.7 * MiB)
  assert.is(m.rate(t + 6000), 0)
  // It starts again after a long pause: right again within a second.
  t += 60_000
  feed(1)
  assert.ok(Math.abs(m.rate(t) - MiB) / MiB < 0.1, `after a pause: ${m.rate(t)}`)
  // A single first block does not read as a huge rate.
  const fresh = new RateMeter(5000, 250, t0)
  fresh.add(block, t0 + 1)
  assert.ok(fresh.rate(t0 + 2) <= block * 4 + 1)
})

test('yargs failures become one line in our words', () => {
  assert.is(
    usageMessage('Invalid values:\n  Argument: verb, Given: "bogus", Choices: "magnet", "info", "files", "pieces", "json", "save"'),
    'verb: "bogus" is not one of magnet, info, files, pieces, json, save',
  )
  assert.is(usageMessage('Not enough arguments following: o'), '-o needs a value')
  assert.is(usageMessage('Not enough arguments following: output'), '--output needs a value')
  assert.is(usageMessage('Unknown argument: frob'), 'Unknown argument: frob')
  assert.is(usageMessage('Unknown arguments: bogus-flag, bogusFlag'), 'Unknown argument: bogus-flag')
  assert.is(usageMessage('Unknown arguments: a-b, aB, c'), 'Unknown arguments: a-b, c')
  assert.is(usageMessage('Missing required argument: mountDir\nsomething else'), 'Missing required argument: mountDir something else')
})

test('colour: NO_COLOR wins, FORCE_COLOR forces, otherwise only on a terminal', () => {
  const tty = { isTTY: true } as NodeJS.WriteStream
  const pipe = { isTTY: false } as NodeJS.WriteStream
  assert.is(colorLevel(tty, { TERM: 'xterm' }), 1)
  assert.is(colorLevel(tty, { TERM: 'xterm-256color' }), 2)
  assert.is(colorLevel(tty, { TERM: 'xterm', NO_COLOR: '1' }), 0)
  assert.is(colorLevel(tty, { TERM: 'xterm', NO_COLOR: '1', FORCE_COLOR: '1' }), 0)
  assert.is(colorLevel(tty, { TERM: 'dumb' }), 0)
  assert.is(colorLevel(pipe, {}), 0)
  assert.is(colorLevel(pipe, { FORCE_COLOR: '1' }), 1)
  assert.is(colorLevel(pipe, { FORCE_COLOR: '3' }), 3)
  assert.is(colorLevel(tty, { TERM: 'xterm', FORCE_COLOR: '0' }), 0)
})

test('torrentfs: single-dash long flags become long options; one-letter flags and values stay', () => {
  assert.equal(
    longFlags(['-mountDir', '/m', '-no-dht', '-readahead', '16M', '-t', 'http://x/a', '-v', '-dht-port=7000', '--port', '0', '-peer', '-x']),
    ['--mountDir', '/m', '--no-dht', '--readahead', '16M', '-t', 'http://x/a', '-v', '--dht-port=7000', '--port', '0', '--peer', '-x'],
  )
  assert.equal(longFlags(['-metainfoDir', 'd', '--', '-weird']), ['--metainfoDir', 'd', '--', '-weird'])
})

test('tracker URLs: http, https and udp with a host (and a port for udp) are usable; the rest say why', () => {
  for (const u of ['http://t.example/announce', 'https://t.example:8443/a?passkey=x', 'udp://127.0.0.1:6969', 'udp://t.example:1337/announce']) {
    assert.is(trackerUrlProblem(u), undefined, u)
  }
  assert.is(trackerUrlProblem('garbage'), 'not a URL')
  assert.is(trackerUrlProblem(''), 'empty tracker URL')
  assert.match(trackerUrlProblem('wss://t.example')!, /WebTorrent/)
  assert.match(trackerUrlProblem('ftp://t.example/a')!, /unsupported protocol ftp/)
  assert.match(trackerUrlProblem('udp://t.example')!, /port/)
})

test('fromSystemError: the errno in words, the path once, exit 4 (3 for sockets); BtErrors pass through', () => {
  const e = Object.assign(new Error("EISDIR: illegal operation on a directory, open '/x'"), { code: 'EISDIR', path: '/x' })
  const b = fromSystemError(e)
  assert.is(b.message, '/x: is a directory')
  assert.is(b.exitCode, ExitCode.io)
  assert.is(fromSystemError(Object.assign(new Error('mkdir'), { code: 'ENOENT' }), '/a/b').message, '/a/b: no such file or directory')
  assert.is(fromSystemError(Object.assign(new Error('x'), { code: 'EROFS' }), '/ro').message, '/ro: read-only file system')
  assert.is(fromSystemError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).exitCode, ExitCode.network)
  assert.is(fromSystemError(Object.assign(new Error('odd: thing\nmore'), { code: 'EWHATEVER' }), '/p').message, '/p: odd: thing')
  const mine = new BtError('mine', 2)
  assert.is(fromSystemError(mine), mine)
})

test('systemText: an errno in words, else the first line of the message', () => {
  assert.is(systemText(Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:80'), { code: 'EADDRINUSE' })), 'address in use')
  assert.is(systemText(new Error('odd\nmore')), 'odd')
  assert.is(systemText('text'), 'text')
})

test('errno codes become words in src/errors.ts only: no other module maps a code to its own text', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const files: string[] = []
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n)
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.tsx?$/.test(n)) files.push(p)
    }
  }
  walk(join(root, 'src'))
  walk(join(root, 'cmd'))
  // A code compared and then answered with a phrase (`code === 'EADDRINUSE' ? 'address in use' : …`), or one of
  // the table's phrases written out as a message of its own.
  const mapping = /=== '(E[A-Z]+)' \? '[a-z]/
  const phrases = /['`:] ?(no such file or directory|address (already )?in use|permission denied|connection refused|host not found|read-only file system|no space left on device)['`]/
  const found: string[] = []
  for (const f of files) {
    const rel = relative(root, f)
    if (rel === join('src', 'errors.ts')) continue
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (mapping.test(line) || phrases.test(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`)
    })
  }
  assert.equal(found, [], found.join('\n'))
  assert.ok(files.length > 50, `${files.length} files scanned`)
})

test.run()
