// The web UI of bt serve in headless Chromium (Debian chromium driven by playwright-core): log in with the key, add
// a magnet and watch it complete live (SSE), open the torrent, change the file selection, play its video in the
// page, pause from the keyboard, change settings, remove with data. Screenshots go to test/artifacts/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { ROOT, run } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { startServe, http, pollJson, KiB, type Serve } from './helpers.js'

const ARTIFACTS = join(ROOT, 'test', 'artifacts')
const KEY = 'ui-test-key'
const auth = { 'X-Api-Key': KEY }
let show: TestTorrent
let s: Serve
let browser: Browser
let page: Page

const timer = setTimeout(() => {
  console.error('ui.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
timer.unref()

test.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const base = tmpDir('bt-ui-')
  const root = join(base, 'seed', 'show')
  mkdirSync(root, { recursive: true })
  const ff = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=4:size=320x240:rate=10', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-movflags', '+faststart', '-y', join(root, 'clip.mp4')])
  assert.is(ff.code, 0, ff.stderr)
  writeFileSync(join(root, 'notes.txt'), 'x'.repeat(100 * KiB))
  const bytes = await createTorrent(root, { pieceLength: 16 * KiB, creationDate: null })
  const metainfo = parseTorrent(bytes)
  show = { metainfo, torrentPath: join(base, 'show.torrent'), seedDir: join(base, 'seed'), md5: new Map() }
  writeFileSync(show.torrentPath, bytes)
  const peer = await seedWith(show)
  s = await startServe({ args: ['--api-key', KEY, '--peer', peer.addr] })
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  })
  page = await browser.newPage({ viewport: { width: 1100, height: 800 } })
})

test.after(async () => {
  await browser?.close().catch(() => {})
  await s?.stop()
  await stopAll()
})

test('log in, add a magnet, watch it complete live; screenshot', async () => {
  await page.goto(s.url)
  await page.waitForSelector('#login:not([hidden])', { timeout: 5000 })
  await page.fill('#apikey', KEY)
  await page.press('#apikey', 'Enter')
  await page.waitForSelector('#list-view:not([hidden])', { timeout: 5000 })
  await page.fill('#add-uri', `magnet:?xt=urn:btih:${show.metainfo.infoHash}&dn=show`)
  await page.click('#add-button')
  const row = `li[data-hash="${show.metainfo.infoHash}"]`
  await page.waitForSelector(`${row} .state:text("seeding")`, { timeout: 20_000 })
  assert.match(await page.textContent(`${row} .info`) ?? '', /^100% of /)
  await page.waitForTimeout(600) // the bar's width transition
  await page.screenshot({ path: join(ARTIFACTS, 'serve-main.png'), fullPage: true })
  // a phone-sized view of the same list
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 })
  await phone.goto(s.url)
  await phone.fill('#apikey', KEY)
  await phone.press('#apikey', 'Enter')
  await phone.waitForSelector(row, { timeout: 5000 })
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  assert.ok(overflow <= 0, `the page scrolls sideways on a phone by ${overflow}px`)
  await phone.screenshot({ path: join(ARTIFACTS, 'serve-phone.png'), fullPage: true })
  await phone.close()
})

test('torrent page: file selection, play the video in the page, pause from the keyboard; screenshot', async () => {
  const h = show.metainfo.infoHash
  await page.click(`li[data-hash="${h}"] a.name`)
  await page.waitForSelector('#torrent-view:not([hidden])', { timeout: 5000 })
  await page.waitForSelector('#t-files tr >> nth=1', { timeout: 5000 })
  assert.is(await page.locator('#t-files tr').count(), 2)
  // unselect notes.txt (index 1: clip.mp4 sorts first)
  await page.uncheck('#t-files input[data-index="1"]')
  await page.click('#files-save')
  await pollJson(`${s.url}/api/v1/torrents/${h}`, (j) => j.files[1].selected === false && j.files[0].selected === true, 5000, auth)
  // play
  await page.click('#t-files button:text("Play")')
  await page.waitForFunction(() => {
    const v = document.getElementById('player') as HTMLVideoElement
    return v.readyState >= 1 && v.duration > 0
  }, undefined, { timeout: 15_000 })
  const duration = await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).duration)
  assert.ok(Math.abs(duration - 4) < 0.5, `video duration ${duration}`)
  const src = await page.getAttribute('#player', 'src')
  assert.is(src, `/stream/${h}/show/clip.mp4?apikey=${KEY}`)
  await page.screenshot({ path: join(ARTIFACTS, 'serve-torrent.png'), fullPage: true })
  // keyboard: focus the Pause button, press Enter
  await page.focus('#t-toggle')
  await page.keyboard.press('Enter')
  await pollJson(`${s.url}/api/v1/torrents/${h}`, (j) => j.state === 'stopped', 5000, auth)
  await page.waitForSelector('#t-toggle:text("Resume")', { timeout: 5000 })
  await page.keyboard.press('Enter')
  await pollJson(`${s.url}/api/v1/torrents/${h}`, (j) => j.state === 'seeding', 10_000, auth)
})

test('settings, remove with data through the dialog, add again by upload', async () => {
  await page.click('#nav-settings')
  await page.waitForSelector('#settings-view:not([hidden])', { timeout: 5000 })
  assert.is(await page.inputValue('#s-dir'), s.downloadDir)
  await page.fill('#s-up', '100')
  await page.click('#settings-form button[type=submit]')
  await pollJson(`${s.url}/api/v1/settings`, (j) => j.uploadLimit === 100 * 1024, 5000, auth)
  await page.click('#nav-torrents')
  const h = show.metainfo.infoHash
  await page.click(`li[data-hash="${h}"] button.danger`)
  await page.check('#remove-data')
  await page.click('#remove-confirm')
  await page.waitForSelector(`li[data-hash="${h}"]`, { state: 'detached', timeout: 5000 })
  assert.is((await http(`${s.url}/api/v1/torrents/${h}`, { headers: auth })).status, 404)
  assert.not.ok(existsSync(join(s.downloadDir, 'show', 'clip.mp4')), 'data deleted')
  // add it again by uploading the .torrent, paused
  await page.setInputFiles('#add-file', show.torrentPath)
  await page.check('#add-paused')
  await page.click('#add-button')
  await page.waitForSelector(`li[data-hash="${h}"] .state:text("stopped")`, { timeout: 5000 })
  const t = (await http(`${s.url}/api/v1/torrents/${h}`, { headers: auth })).json
  assert.is(t.paused, true)
  assert.is(t.name, 'show')
})

test.run()
