// The web UI's search page in headless Chromium (Debian chromium via playwright-core) on a real bt serve over
// ~3200 imported torrents: key prompt, a query in the grammar, facet chips with counts that filter, sorting by a
// column, copy magnet (clipboard), download into this bt serve from a local seeder, and stream (opens the torrent's
// page). Screenshots go to test/artifacts/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { makeTestTorrent, seedWith, stopAll, type TestTorrent } from '../helpers/swarm.js'
import { assertSameMd5 } from '../helpers/clients.js'
import { ROOT } from '../helpers/cli.js'
import { tmpDir } from '../helpers/tmp.js'
import { buildIndex, SHOWS } from './search-fixture.js'
import { startServe, pollJson, KiB, type Serve } from './helpers.js'

const ARTIFACTS = join(ROOT, 'test', 'artifacts')
const KEY = 'search-ui-key'
const auth = { 'X-Api-Key': KEY }
const NAME = 'Quantum.Bakery.S04E01.1080p.WEB-DL.x264-BTUI.mkv'
let real: TestTorrent
let s: Serve
let browser: Browser
let ctx: BrowserContext
let page: Page

const watchdog = setTimeout(() => {
  console.error('search-ui.test.ts: watchdog fired')
  process.exit(1)
}, 58_000)
watchdog.unref()

test.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  real = await makeTestTorrent([400 * KiB + 7], { pieceLength: 16 * KiB, seed: 91, name: NAME })
  const peer = await seedWith(real)
  const { db } = await buildIndex([{ infoHash: real.metainfo.infoHash, name: NAME, size: real.metainfo.length, publishedAt: '2025-07-01T00:00:00Z', seeders: 40 }])
  const keyFile = join(tmpDir(), 'key')
  writeFileSync(keyFile, KEY)
  s = await startServe({ args: ['--db', db, '--api-key-file', keyFile, '--peer', peer.addr] })
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
  ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } })
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url })
  page = await ctx.newPage()
})

test.after(async () => {
  clearTimeout(watchdog)
  await browser?.close().catch(() => {})
  await s?.stop()
  await stopAll()
})

const names = () => page.$$eval('#rows tr td.name > div:first-child', (els) => els.map((e) => e.textContent))

test('the main page links to search; the key prompt; a query lists results with facet chips', async () => {
  await page.goto(s.url)
  await page.click('#nav-search')
  await page.waitForSelector('#login:not([hidden])', { timeout: 5000 })
  await page.fill('#apikey', KEY)
  await page.press('#apikey', 'Enter')
  await page.waitForSelector('#results:not([hidden])', { timeout: 5000 })
  // No query: the newest first.
  assert.is((await names())[0], NAME)
  await page.fill('#q', `"${SHOWS[2]}" season:1..2`)
  await page.press('#q', 'Enter')
  await page.waitForFunction(() => /of 62$/.test(document.getElementById('summary')!.textContent!), undefined, { timeout: 5000 })
  // 2 seasons × (12 episodes in 2 or 3 resolutions = 30, + a pack) = 62; at 1080p: 2 × (12 + 1) = 26.
  const chip = page.locator('button.chip[data-param="res"][data-value="1080p"]')
  assert.is(await chip.locator('.count').textContent(), '26')
  assert.match(page.url(), /q=%22Quantum/)
  await chip.click()
  await page.waitForFunction(() => /of 26$/.test(document.getElementById('summary')!.textContent!), undefined, { timeout: 5000 })
  assert.is(await page.getAttribute('button.chip[data-param="res"][data-value="1080p"]', 'aria-pressed'), 'true')
  for (const n of await names()) assert.match(n!, /1080p/)
  await page.screenshot({ path: join(ARTIFACTS, 'serve-search.png'), fullPage: true })
  // Off again.
  await page.click('button.chip[data-param="res"][data-value="1080p"]')
  await page.waitForFunction(() => /of 62$/.test(document.getElementById('summary')!.textContent!), undefined, { timeout: 5000 })
})

test('sorting by a column', async () => {
  await page.click('button.sort[data-sort="size"]')
  await page.waitForSelector('button.sort[data-sort="size"][aria-pressed="true"]', { timeout: 5000 })
  assert.match((await names())[0]!, / S0[12] 1080p BluRay/)
  assert.match(page.url(), /sort=size/)
  await page.click('button.sort[data-sort="name"]')
  await page.waitForSelector('button.sort[data-sort="name"][aria-pressed="true"]', { timeout: 5000 })
  const list = (await names()) as string[]
  assert.equal(list, [...list].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })))
})

test('copy magnet, download into this bt serve (md5 right), stream opens the torrent page', async () => {
  await page.fill('#q', 'quantum bakery s04e01')
  await page.press('#q', 'Enter')
  const row = `#rows tr[data-hash="${real.metainfo.infoHash}"]`
  await page.waitForSelector(row, { timeout: 5000 })
  await page.click(`${row} button.copy`)
  await page.waitForFunction(() => /copied/.test(document.getElementById('status')!.textContent!), undefined, { timeout: 5000 })
  const clip = await page.evaluate(() => navigator.clipboard.readText())
  assert.ok(clip.startsWith(`magnet:?xt=urn:btih:${real.metainfo.infoHash}`), clip)
  await page.click(`${row} button.download`)
  await page.waitForFunction(() => /^Added /.test(document.getElementById('status')!.textContent!), undefined, { timeout: 5000 })
  const t = await pollJson(`${s.url}/api/v1/torrents/${real.metainfo.infoHash}`, (j) => j.state === 'seeding', 20_000, auth)
  await assertSameMd5(real, t.downloadDir ?? t.dir ?? s.downloadDir)
  await page.click(`${row} button.stream`)
  await page.waitForSelector('#torrent-view:not([hidden])', { timeout: 5000 })
  assert.is(await page.textContent('#t-name'), NAME)
})

test('a bad query shows one line, not a crash; a phone-sized view', async () => {
  await page.goto(`${s.url}/ui/search.html?q=${encodeURIComponent('"open')}`)
  await page.waitForFunction(() => /unterminated/.test(document.getElementById('status')!.textContent!), undefined, { timeout: 5000 })
  assert.is(await page.getAttribute('#status', 'class'), 'error')
  const phone = await ctx.newPage()
  await phone.setViewportSize({ width: 390, height: 844 })
  await phone.goto(`${s.url}/ui/search.html?q=ubuntu`)
  await phone.waitForSelector('#results:not([hidden])', { timeout: 5000 })
  await phone.screenshot({ path: join(ARTIFACTS, 'serve-search-phone.png'), fullPage: false })
  await phone.close()
})

test.run()
