// qBittorrent-nox (Debian 4.5, libtorrent 2.0) on 127.0.0.1 for interop tests, driven through its Web API v2.
//
// Loopback pitfalls and settings (all preset in a temp profile's qBittorrent.conf before it starts, because with its
// defaults it reaches out at once, before any API call could turn things off):
// - Its defaults enable DHT (bootstrapping to public routers), LSD, UPnP/NAT-PMP, PEX, and a download of an IP
//   geolocation database (Connection\ResolvePeerCountries): all off here. It listens on every interface unless
//   Session\Interface / Session\InterfaceAddress say otherwise.
// - libtorrent refuses a second connection from an IP it already has a peer on; on loopback every peer is 127.0.0.1:
//   Session\MultiConnectionsPerIp=true.
// - Its transports stay at their default (TCP and uTP; it dials over uTP first), as a user's would. Over uTP it ends
//   a connection with a FIN carrying libtorrent's close-reason extension, which bt's libutp (utp-native) ignores; after
//   fetching a magnet's metadata it reconnects from the same address, which bt must accept (peer-manager.ts admit()).
// - The first start waits for the legal notice to be accepted on a terminal: [LegalNotice] Accepted=true.
// - The Web API wants a login (admin/adminadmin by default in 4.5) unless WebUI\LocalHostAuth=false, which lets
//   requests from 127.0.0.1 through. Its torrent queue (5 active downloads) is off: Session\QueueingSystemEnabled.
// - Encryption stays at its default ("allow"): it accepts plain and encrypted (MSE) connections, and dials in plain
//   text (seen on the wire), which bt's default --encryption prefer accepts. Against bt --encryption require it does
//   not get through within 10 s: a test of that pairing must turn qBittorrent's own encryption up.
// - `--webui-port` sets the API port; the peer port is Session\Port. Torrents are added with torrents/add
//   (multipart: `torrents` file parts or `urls`), watched with torrents/info?hashes=.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './clients.js'
import { tmpDir } from './tmp.js'
import { delay } from './wait.js'

export interface QbtTorrentInfo {
  hash: string
  state: string
  progress: number
  name: string
  num_seeds: number
  num_leechs: number
  [k: string]: unknown
}

export interface QbtHandle {
  /** Its BitTorrent port on 127.0.0.1. */
  port: number
  /** '127.0.0.1:PORT' */
  addr: string
  api: string
  /** POST a .torrent file (bytes) with a save path. */
  addTorrent(bytes: Uint8Array, savePath: string): Promise<void>
  /** POST a magnet link with a save path. */
  addMagnet(uri: string, savePath: string): Promise<void>
  info(hash: string): Promise<QbtTorrentInfo | undefined>
  /** Resolves when the torrent reports progress 1 (downloaded and checked); rejects after ms. */
  complete(hash: string, ms: number): Promise<QbtTorrentInfo>
  log(): string
  stop(): Promise<void>
}

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

export async function startQbittorrent(): Promise<QbtHandle> {
  const profile = tmpDir('bt-qbt-')
  const port = await freePort()
  const webPort = await freePort()
  const config = join(profile, 'qBittorrent', 'config')
  mkdirSync(config, { recursive: true })
  writeFileSync(join(config, 'qBittorrent.conf'), [
    '[LegalNotice]', 'Accepted=true', '',
    '[BitTorrent]',
    'Session\\DHTEnabled=false',
    'Session\\LSDEnabled=false',
    'Session\\PeXEnabled=false',
    'Session\\Interface=lo',
    'Session\\InterfaceName=lo',
    'Session\\InterfaceAddress=127.0.0.1',
    'Session\\MultiConnectionsPerIp=true',
    `Session\\Port=${port}`,
    `Session\\DefaultSavePath=${join(profile, 'downloads')}`,
    'Session\\QueueingSystemEnabled=false',
    '',
    '[Network]', 'PortForwardingEnabled=false', '',
    '[Preferences]',
    'Connection\\ResolvePeerCountries=false',
    'WebUI\\Address=127.0.0.1',
    'WebUI\\LocalHostAuth=false',
    `WebUI\\Port=${webPort}`,
    'WebUI\\HostHeaderValidation=false',
    'General\\Locale=en',
    '',
  ].join('\n'))
  const child = spawn('qbittorrent-nox', [`--profile=${profile}`, `--webui-port=${webPort}`], { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let out = ''
  child.stdout!.on('data', (d) => { if (out.length < 64 * 1024) out += d })
  child.stderr!.on('data', (d) => { if (out.length < 64 * 1024) out += d })
  let exited = false
  const exit = new Promise<void>((resolve) => child.on('close', () => { exited = true; live.delete(child); resolve() }))
  const api = `http://127.0.0.1:${webPort}/api/v2`
  const log = () => {
    let file = ''
    try { file = readFileSync(join(profile, 'qBittorrent', 'data', 'logs', 'qbittorrent.log'), 'utf8') } catch {}
    return `${out}\n${file}`.slice(-4000)
  }
  const stop = async () => {
    if (exited) return
    await fetch(`${api}/app/shutdown`, { method: 'POST', signal: AbortSignal.timeout(2000) }).catch(() => {})
    await Promise.race([exit, delay(5000)])
    if (!exited) child.kill('SIGKILL')
    await exit
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    const ok = await fetch(`${api}/app/version`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)
    if (ok) break
    if (exited || Date.now() > deadline) {
      await stop()
      throw new Error(`qbittorrent-nox did not start:\n${log()}`)
    }
    await delay(100)
  }

  const post = async (path: string, form: FormData) => {
    const r = await fetch(`${api}${path}`, { method: 'POST', body: form, signal: AbortSignal.timeout(5000) })
    const text = await r.text()
    if (!r.ok || text.trim() !== 'Ok.') throw new Error(`qBittorrent ${path}: ${r.status} ${text}`)
  }
  const info = async (hash: string) => {
    const r = await fetch(`${api}/torrents/info?hashes=${hash}`, { signal: AbortSignal.timeout(5000) })
    if (!r.ok) throw new Error(`qBittorrent torrents/info: ${r.status}`)
    return ((await r.json()) as QbtTorrentInfo[])[0]
  }
  return {
    port,
    addr: `127.0.0.1:${port}`,
    api,
    addTorrent: (bytes, savePath) => {
      const form = new FormData()
      form.append('torrents', new Blob([Uint8Array.from(bytes)]), 'added.torrent')
      form.append('savepath', savePath)
      return post('/torrents/add', form)
    },
    addMagnet: (uri, savePath) => {
      const form = new FormData()
      form.append('urls', uri)
      form.append('savepath', savePath)
      return post('/torrents/add', form)
    },
    info,
    complete: async (hash, ms) => {
      const end = Date.now() + ms
      let last: QbtTorrentInfo | undefined
      for (;;) {
        last = await info(hash)
        // Progress 1 in a state past checking: downloaded and verified (or found complete on disk).
        if (last && last.progress === 1 && !/^checking|^moving|^allocating/.test(last.state)) return last
        if (Date.now() > end) throw new Error(`qBittorrent: ${hash} not complete after ${ms} ms: ${JSON.stringify(last)}\n${log()}`)
        await delay(200)
      }
    },
    log,
    stop,
  }
}
