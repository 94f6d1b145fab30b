// `bt serve --tracker`: one tracker (swarms, saved state, optional whitelist) mounted on bt serve's HTTP app.

import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { startTracker } from '../src/tracker/service.js'
import { trackerApiRoutes, trackerRoutes } from '../src/tracker/fastify.js'
import { stateDir } from '../src/storage/resume.js'

export interface ServeTracker {
  plugins: Array<(app: FastifyInstance) => Promise<void>>
  close(): Promise<void>
}

export async function startServeTracker(isPrivate: boolean, whitelist: string | undefined, log: (l: string) => void): Promise<ServeTracker> {
  const statePath = join(stateDir(), 'tracker.db')
  // hosts: [] — no listeners of its own; bt serve's HTTP port carries it.
  const svc = await startTracker({ hosts: [], statePath, private: isPrivate, whitelist: whitelist ? whitelist : undefined, log })
  const r = svc.restored
  log(`tracker at /announce (${isPrivate || whitelist ? `private, ${svc.tracker.registered.size} registered` : 'open'}; state ${statePath}${r.peers ? `, restored ${r.peers} peers in ${r.swarms} torrents` : ''})`)
  return {
    plugins: [(app) => trackerRoutes(app, { tracker: svc.tracker }), (app) => trackerApiRoutes(app, { tracker: svc.tracker })],
    close: () => svc.close(),
  }
}
