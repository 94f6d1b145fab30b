// bt on a real terminal (a pseudo-terminal from test/cli/on-terminal.py): colour follows NO_COLOR and FORCE_COLOR,
// the progress line fits the terminal and is redrawn narrower after a resize, the rate is right from the first
// seconds, and a signal stops bt with one line and saved resume state.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BT, bt } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { waitFor, within } from '../helpers/wait.js'
import { assertSameFiles, makeTestTorrent, seedWith, stopAll } from '../helpers/swarm.js'

const MiB = 1024 * 1024
const ON_TERMINAL = fileURLToPath(new URL('./on-terminal.py', import.meta.url))
const children = new Set<import('node:child_process').ChildProcess>()

test.after.each(async () => {
  for (const c of children) c.kill('SIGKILL')
  children.clear()
  await stopAll()
})

/** bt on a terminal `cols` wide; `pid` is bt's own process id once known. */
function onTerminal(cols: number, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn('/usr/bin/python3', [ON_TERMINAL, String(cols), process.execPath, BT, ...args], {
    // Undefined values are left out of a child's environment: the runner's NO_COLOR=1 FORCE_COLOR=0 go.
    env: { ...process.env, BT_DHT_BOOTSTRAP: 'none', TERM: 'xterm', NO_COLOR: undefined, FORCE_COLOR: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let output = ''
  let stderr = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => { children.delete(child); resolve(code) }))
  return { child, exit, output: () => output, pid: () => Number(/PID (\d+)/.exec(stderr)?.[1] ?? 0), stderr: () => stderr }
}

/** What a terminal shows, as the lines drawn: escape sequences removed, split at carriage returns and newlines. */
function drawn(output: string): string[] {
  // eslint-disable-next-line no-control-regex
  return output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\r').split(/\r\n|\r|\n/).filter((l) => l.trim() !== '')
}

const ESC = '\x1b['

test('NO_COLOR: no colour on a terminal; colour by default there; FORCE_COLOR into a pipe; FORCE_COLOR=0 on a terminal', async () => {
  const dir = tmpDir()
  const args = ['metainfo', join(dir, 'nope.torrent')]
  const plain = onTerminal(80, args, { NO_COLOR: '1' })
  assert.is(await within(plain.exit, 10_000, 'bt'), 2)
  assert.match(plain.output(), /bt: .*nope\.torrent: no such file or directory/)
  assert.not.ok(plain.output().includes(ESC), JSON.stringify(plain.output()))

  const coloured = onTerminal(80, args)
  assert.is(await within(coloured.exit, 10_000, 'bt'), 2)
  assert.ok(coloured.output().includes(`${ESC}31m`), JSON.stringify(coloured.output()))

  const forcedOff = onTerminal(80, args, { FORCE_COLOR: '0' })
  assert.is(await within(forcedOff.exit, 10_000, 'bt'), 2)
  assert.not.ok(forcedOff.output().includes(ESC))

  const piped = await bt(args, { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } })
  assert.is(piped.code, 2)
  assert.ok(piped.stderr.includes(`${ESC}31m`), JSON.stringify(piped.stderr))
  const pipedPlain = await bt(args, { env: { NO_COLOR: undefined, FORCE_COLOR: undefined } })
  assert.not.ok(pipedPlain.stderr.includes(ESC))
})

test('the progress line fits 80 columns, is redrawn within 40 after a resize, and the rate and ETA are right from the start', async () => {
  const tt = await makeTestTorrent([5 * MiB], { pieceLength: 65536, seed: 151, name: 'a-rather-long-torrent-name-for-the-line.bin' })
  const seed = await seedWith(tt)
  const out = tmpDir('bt-out-')
  const term = onTerminal(80, ['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '-D', '1M'], { XDG_DATA_HOME: tmpDir('bt-xdg-'), RESIZE_COLS: '40' })
  await waitFor('bt on the terminal', () => term.pid() > 0, 10_000)
  // Resize half-way through the 5 s download.
  await waitFor('progress past 40%', () => drawn(term.output()).some((l) => /\b([4-9]\d)\.\d%/.test(l)), 15_000)
  const beforeResize = drawn(term.output())
  term.child.kill('SIGUSR1')
  assert.is(await within(term.exit, 20_000, 'the download'), 0, term.output().slice(-2000))
  assertSameFiles(tt, out)
  const lines = drawn(term.output())
  const progress = lines.filter((l) => /\d%/.test(l) && !/done/.test(l))
  assert.ok(progress.length >= 4, `progress lines: ${progress.length}`)
  for (const l of beforeResize.filter((x) => /\d%/.test(x))) assert.ok(l.length <= 79, `wider than 79: ${JSON.stringify(l)}`)
  // At 80 columns the line keeps the bar, the rate, the peers and the ETA.
  const wide = beforeResize.filter((x) => /\d%/.test(x)).pop()!
  assert.match(wide, /\[[#-]+\]/)
  assert.match(wide, /down [\d.]+ (KiB|MiB)\/s/)
  assert.match(wide, /ETA \d+s/)
  // After the resize: redrawn narrower, still with the percentage and the rate.
  const after = lines.slice(beforeResize.length).filter((x) => /\d%/.test(x) && !/done/.test(x))
  assert.ok(after.length >= 1, 'redrawn after the resize')
  for (const l of after) assert.ok([...l].length <= 39, `wider than 39 after the resize: ${JSON.stringify(l)}`)
  assert.match(after[after.length - 1], /\d+(\.\d)?%.*(↓|down )[\d.]+/)
  // The rate shown while downloading at -D 1M: a sliding average over a 5 s window started empty would show
  // 200–800 KiB/s for most of the download.
  const rates = beforeResize.map((l) => /down ([\d.]+) (KiB|MiB)\/s/.exec(l)).filter(Boolean).map((m) => Number(m![1]) * (m![2] === 'MiB' ? 1024 : 1))
  const shown = rates.filter((r) => r > 0)
  assert.ok(shown.length >= 3, `rates shown: ${rates}`)
  const median = [...shown].sort((a, b) => a - b)[Math.floor(shown.length / 2)]
  // The limiter's quarter-second burst makes the first second a little faster than 1 MiB/s.
  assert.ok(median >= 850 && median <= 1800, `median rate shown ${median} KiB/s (all: ${shown.map((r) => r.toFixed(0))})`)
  // The ETA from the second second on: what is left at 1 MiB/s, within 2 s (it was 30 s for a 5 s download).
  const etas = beforeResize.map((l) => /(\d+\.\d)%.* ETA (\d+)s/.exec(l)).filter(Boolean).map((m) => ({ left: (1 - Number(m![1]) / 100) * 5, eta: Number(m![2]) }))
  assert.ok(etas.length >= 3, `ETAs shown: ${etas.length}`)
  for (const e of etas.filter((x) => x.left < 4)) assert.ok(Math.abs(e.eta - e.left) <= 2, `ETA ${e.eta}s with ${e.left.toFixed(1)} s of data left: ${JSON.stringify(etas)}`)
})

test('help fits the terminal: no line wider, no example broken in the middle of a command, every command, 40 to 80 columns', async () => {
  const commands = ['metainfo', 'create', 'download', 'seed', 'import', 'search', 'serve', 'tracker', 'classify', 'crawl']
  for (const cols of [40, 50, 80]) {
    // Two at a time: the machine is shared.
    for (let i = 0; i < commands.length; i += 2) {
      await Promise.all(commands.slice(i, i + 2).map(async (cmd) => {
        const term = onTerminal(cols, [cmd, '--help'])
        assert.is(await within(term.exit, 15_000, `bt ${cmd} --help`), 0)
        const lines = term.output().split('\r\n')
        for (const l of lines) assert.ok([...l].length <= cols, `bt ${cmd} --help at ${cols}: ${JSON.stringify(l)}`)
        const at = lines.indexOf('Examples:')
        assert.ok(at > 0, `bt ${cmd} --help has examples at ${cols} columns`)
        const end = lines.indexOf('', at + 1)
        const examples = lines.slice(at + 1, end === -1 ? undefined : end)
        assert.ok(examples.length >= (cols >= 50 ? 2 : 1), examples.join('\n'))
        // A line that starts in the command column starts a whole example; the others are a description wrapped
        // within its own column, never the rest of a command.
        for (const l of examples) {
          if (/^ {2}\S/.test(l)) assert.match(l, /^ {2}(bt|zcat|transmission-remote) \S/, `bt ${cmd} --help at ${cols}: ${JSON.stringify(l)}`)
          else assert.match(l, /^ {6,}\S/, `bt ${cmd} --help at ${cols}: ${JSON.stringify(l)}`)
        }
      }))
    }
  }
})

for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  test(`${signal} during a download on a terminal: exit 0, one line "interrupted; resume state saved", state on disk`, async () => {
    const tt = await makeTestTorrent([6 * MiB], { pieceLength: 65536, seed: signal === 'SIGTERM' ? 152 : 153 })
    const seed = await seedWith(tt)
    const out = tmpDir('bt-out-')
    const home = tmpDir('bt-xdg-')
    const term = onTerminal(80, ['download', tt.torrentPath, '-o', out, '--port', '0', '--peer', seed.addr, '-D', '1M'], { XDG_DATA_HOME: home })
    await waitFor('some progress', () => drawn(term.output()).some((l) => /\b[1-9]\d?\.\d%/.test(l)), 15_000)
    process.kill(term.pid(), signal)
    assert.is(await within(term.exit, 10_000, `exit after ${signal}`), 0, term.output().slice(-1000))
    const lines = drawn(term.output())
    assert.is(lines.filter((l) => l === 'interrupted; resume state saved').length, 1, JSON.stringify(lines.slice(-5)))
    const resume = join(home, 'bt', 'resume')
    assert.ok(existsSync(resume) && readdirSync(resume).some((f) => f.endsWith('.resume')), 'resume state saved')
  })
}

test('bt seed X.torrent on a terminal: never "fetching metadata"; SIGHUP: exit 0 and one "interrupted; resume state saved"', async () => {
  const tt = await makeTestTorrent([300_000], { seed: 154 })
  const term = onTerminal(80, ['seed', tt.torrentPath, '-d', tt.seedDir, '--port', '0', '--no-dht'], { XDG_DATA_HOME: tmpDir('bt-xdg-') })
  await waitFor('the seeding line', () => /seeding .* on port \d+/.test(term.output()) && term.pid() > 0, 15_000)
  // A few redraws of the status line (every 250 ms) before the signal.
  await new Promise((r) => setTimeout(r, 800))
  process.kill(term.pid(), 'SIGHUP')
  assert.is(await within(term.exit, 10_000, 'exit after SIGHUP'), 0, term.output().slice(-1000))
  const lines = drawn(term.output())
  assert.not.ok(lines.some((l) => /metadata/.test(l)), JSON.stringify(lines))
  assert.ok(lines.some((l) => /\bseeding\b.*\bpeers?\b|\bseeding \d/.test(l)), JSON.stringify(lines))
  assert.is(lines.filter((l) => l === 'interrupted; resume state saved').length, 1, JSON.stringify(lines.slice(-5)))
})

test.run()
