// Start and stop the whole bt serve process: the session Client, the Daemon over it, and the HTTP app; refuse an
// exposed address without credentials; shut down in order (stop accepting, end streams, save state).

import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { BtError, ExitCode, errorMessage, systemText } from '../errors.js'
import { isLoopbackHost, type PeerAddress } from '../discovery/peer-address.js'
import { Client, type ClientOptions } from '../session/client.js'
import { stateDir } from '../storage/resume.js'
import { buildApp, type AppOptions } from './app.js'
import { authRequired, type AuthOptions } from './auth.js'
import { Daemon } from './daemon.js'
import { serveStateDir } from './state.js'

export interface ServeOptions {
  host: string
  port: number
  /** Default download directory (overrides the saved one when given). */
  downloadDir?: string
  fallbackDownloadDir: string
  auth: AuthOptions
  client: ClientOptions
  peers?: PeerAddress[]
  verbose?: boolean
  metadataWaitMs?: number
  /** Where state lives (default $XDG_DATA_HOME/bt). */
  dataDir?: string
  log?: (line: string) => void
  /** Extra fastify plugins (see AppOptions.plugins). */
  plugins?: AppOptions['plugins']
}

export interface RunningServer {
  app: FastifyInstance
  daemon: Daemon
  url: string
  close(): Promise<void>
  /** Settles once close() has run, whoever asked: a signal, or a client's Transmission session-close. */
  closed: Promise<void>
}


export async function startServe(o: ServeOptions): Promise<RunningServer> {
  if (!isLoopbackHost(o.host) && !authRequired(o.auth)) {
    throw new BtError(`listening on ${o.host} needs credentials: --api-key, --api-key-file, or --user with --password-file`, ExitCode.usage)
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new BtError(`--port: ${o.port} is not a port number`, ExitCode.usage)
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const base = o.dataDir ?? stateDir()
  const client = new Client({ ...o.client })
  await client.listen()
  let daemon: Daemon
  try {
    daemon = await Daemon.open({
      client,
      stateDir: serveStateDir(base),
      downloadDir: o.fallbackDownloadDir,
      peers: o.peers,
      onWarning: o.verbose ? (m) => log(`warning: ${m}`) : undefined,
      onError: (m) => log(`error: ${m}`),
    })
    if (o.downloadDir) daemon.setSettings({ downloadDir: o.downloadDir })
  } catch (err) {
    await client.destroy()
    throw err instanceof BtError ? err : new BtError(`cannot open state in ${serveStateDir(base)}: ${errorMessage(err)}`, ExitCode.io)
  }
  const app = await buildApp(daemon, { auth: o.auth, verbose: o.verbose, log, metadataWaitMs: o.metadataWaitMs, plugins: o.plugins })
  try {
    await app.listen({ host: o.host, port: o.port })
  } catch (err) {
    await daemon.close()
    throw new BtError(`cannot listen on ${o.host}:${o.port}: ${systemText(err)}`, ExitCode.network)
  }
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : o.port
  const url = `http://${isIP(o.host) === 6 ? `[${o.host}]` : o.host}:${port}`
  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      daemon.emit('closing') // SSE streams end
      // Stop accepting; in-flight responses get a moment to finish, then the rest are cut.
      const cut = setTimeout(() => app.server.closeAllConnections?.(), 3000)
      await app.close().catch(() => {})
      clearTimeout(cut)
      await daemon.close()
    })())
  let onClosed!: () => void
  const closed = new Promise<void>((r) => (onClosed = r))
  const closeAndTell = () => close().finally(onClosed)
  daemon.once('session-close', () => {
    log('session-close from a client: stopping')
    void closeAndTell()
  })
  return { app, daemon, url, close: closeAndTell, closed }
}
