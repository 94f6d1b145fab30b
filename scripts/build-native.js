#!/usr/bin/env node
// Builds bt's native modules with node-gyp against the local Node headers: native/udp-batch (the tracker's batched
// UDP) and native/utp (uTP: libutp through our N-API binding). Run by `install` (a packed install ships the
// sources, not the build), `npm run build` and `prepare` (so `npm ci`
// builds them): each is skipped when its .node file is newer than its sources, and a failure is never fatal —
// without udp-batch the tracker uses node's dgram, without utp uTP falls back to utp-native (or TCP), each says so.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'native')
const modules = [
  { name: 'udp-batch', out: 'udp_batch.node', fallback: "the tracker will use node's dgram" },
  { name: 'utp', out: 'utp.node', fallback: 'uTP will use utp-native if installed, else TCP only' },
]
if (process.platform !== 'linux') process.exit(0)
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0)
/** Newest source file time under dir (skipping build/). */
function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'build') continue
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : mtime(p))
  }
  return t
}

// npm puts node-gyp on PATH for scripts; run by hand, fall back to the copy inside npm.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
const cmd = spawnSync('sh', ['-c', 'command -v node-gyp'], { encoding: 'utf8' }).stdout.trim()
const [bin, args] = cmd ? [cmd, []] : [process.execPath, [bundled]]
// Build against the headers of the running node (offline: node-gyp would otherwise download them).
const prefix = join(dirname(process.execPath), '..')
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : '')

for (const m of modules) {
  const dir = join(root, m.name)
  if (!existsSync(dir)) continue
  if (mtime(join(dir, 'build', 'Release', m.out)) > newest(dir)) continue
  const r = spawnSync(bin, [...args, 'rebuild', '--directory', dir, ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { encoding: 'utf8' })
  if (r.status !== 0) {
    process.stderr.write(`warning: native/${m.name} did not build (${m.fallback}):\n${(r.stderr || String(r.error ?? '')).split('\n').slice(-8).join('\n')}\n`)
  }
}
