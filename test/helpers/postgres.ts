// A throwaway PostgreSQL server for tests: initdb into a temp dir (as the `postgres` user when we are root, since
// PostgreSQL refuses to run as root), listening on 127.0.0.1 at a free port and on a socket in that dir; stopped and
// removed when the test process exits, even after a failure. Start one per test file; make a database per test.
import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './clients.js'

const BIN = '/usr/lib/postgresql/15/bin'

export interface PgServer {
  /** URL of the `postgres` database, superuser `bt`, no password. */
  url: string
  port: number
  /** A fresh, empty database; its URL. */
  createDatabase(name?: string): Promise<string>
  stop(): void
}

const running = new Set<PgServer>()
process.on('exit', () => {
  for (const s of running) s.stop()
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const s of running) s.stop()
    process.exit(130)
  })
}

export function postgresAvailable(): boolean {
  return existsSync(join(BIN, 'initdb'))
}

export async function startPostgres(): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-pg-'))
  const asRoot = process.getuid?.() === 0
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]] as const : [join(BIN, cmd), args] as const
    const r = spawnSync(full[0], [...full[1]], { encoding: 'utf8', timeout: 60_000 })
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout || r.error}`)
  }
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  let started = false
  const server: PgServer = {
    url: '',
    port: 0,
    createDatabase: async () => '',
    stop() {
      running.delete(server)
      if (started) {
        const args = ['-D', data, '-m', 'immediate', 'stop']
        spawnSync(asRoot ? 'runuser' : join(BIN, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(BIN, 'pg_ctl'), ...args] : args, { timeout: 30_000, stdio: 'ignore' })
        started = false
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  running.add(server)
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'bt', '-E', 'UTF8', '--locale=C', '--no-sync'])
    const port = await freePort()
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o',
      `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`, 'start'])
    started = true
    server.port = port
    server.url = `postgres://bt@127.0.0.1:${port}/postgres`
  } catch (err) {
    const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-2000) : ''
    server.stop()
    throw new Error(`${(err as Error).message}\n${log}`)
  }
  let n = 0
  server.createDatabase = async (name = `t${process.pid}_${++n}`) => {
    const c = new pg.Client({ connectionString: server.url })
    await c.connect()
    try {
      await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`)
    } finally {
      await c.end()
    }
    return `postgres://bt@127.0.0.1:${server.port}/${name}`
  }
  return server
}
