#!/usr/bin/env node
// Builds the tracker's batched UDP module (native/udp-batch) with node-gyp against the local Node headers. Part of
// `npm run build` and `prepare` (so `npm ci` builds it): skipped when the .node file is newer than its sources, and
// never fatal — without it the tracker uses node's dgram and says so once.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'udp-batch')
const out = join(dir, 'build', 'Release', 'udp_batch.node')
if (process.platform !== 'linux') process.exit(0)
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0)
if (mtime(out) > Math.max(mtime(join(dir, 'udp_batch.c')), mtime(join(dir, 'binding.gyp')))) process.exit(0)

// npm puts node-gyp on PATH for scripts; run by hand, fall back to the copy inside npm.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
const cmd = spawnSync('sh', ['-c', 'command -v node-gyp'], { encoding: 'utf8' }).stdout.trim()
const [bin, args] = cmd ? [cmd, []] : [process.execPath, [bundled]]
// Build against the headers of the running node (offline: node-gyp would otherwise download them).
const prefix = join(dirname(process.execPath), '..')
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : '')
const r = spawnSync(bin, [...args, 'rebuild', '--directory', dir, ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { encoding: 'utf8' })
if (r.status !== 0) {
  process.stderr.write(`warning: native/udp-batch did not build (the tracker will use node's dgram):\n${(r.stderr || String(r.error ?? '')).split('\n').slice(-8).join('\n')}\n`)
}
