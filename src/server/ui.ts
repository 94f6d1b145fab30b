// The web UI: static files shipped in the package (src/server/ui/), served at / without credentials (they hold no
// data; the page asks for an API key when the API answers 401). No CDN: everything the page needs is here.

import { readFile, readdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { contentType } from './range.js'

/** src/server/ui when run from source (tsx), or from dist/src/server (the built package). */
export function uiDir(): string | undefined {
  for (const rel of ['./ui/', '../../../src/server/ui/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(`${dir}index.html`)) return dir
  }
  return undefined
}

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' }

export async function uiPlugin(app: FastifyInstance): Promise<void> {
  const dir = uiDir()
  const files = new Map<string, { body: Buffer; type: string }>()
  if (dir) {
    for (const name of await readdir(dir)) {
      if (!/^[\w.-]+\.(html|js|css|svg|png|ico|webmanifest)$/.test(name)) continue
      const ext = name.split('.').pop()!
      files.set(name, { body: await readFile(`${dir}${name}`), type: TYPES[ext] ?? contentType(name) })
    }
  }
  const serve = (name: string) => async (_req: unknown, reply: any) => {
    const f = files.get(name)
    if (!f) return reply.status(404).send({ error: 'the web UI files are missing from this installation' })
    return reply
      .type(f.type)
      .header('Cache-Control', 'no-cache')
      .header('X-Content-Type-Options', 'nosniff')
      .header('X-Frame-Options', 'DENY')
      .header('Content-Security-Policy', "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'")
      .send(f.body)
  }
  app.get('/', { config: { public: true } }, serve('index.html'))
  app.get<{ Params: { name: string } }>('/ui/:name', { config: { public: true } }, async (req, reply) => serve(req.params.name)(req, reply))
}
