// Load a CommonJS bundle (the yargs bundle, scripts/bundle-yargs.js) through a V8 code cache kept in
// $XDG_CACHE_HOME/bt: the second and later starts skip parsing and compiling it, ~10 ms of every `bt` (issue 15).
// Node 20 has no module compile cache (22 has) and vm.SourceTextModule needs a flag, so the bundle is CommonJS run by
// vm.Script, which takes cachedData. Any failure (no cache dir, read-only, stale or foreign data) only costs the time.

import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'

/** FNV-1a of a string, in hex: a short file name for a path (node:crypto would cost more than the whole lookup). */
function fnv(s: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}

/** Whether the last loadCommonJs compiled from the cache (for the tests). */
export let fromCache = false

/**
 * Run a CommonJS file as `require` would, compiled from the code cache when one matches it. The key (node version,
 * file size and mtime) is stored in the cache file: V8 itself checks only the source's length, so a rebuilt bundle of
 * the same size must not reuse old code.
 */
export function loadCommonJs(url: URL): Record<string, unknown> {
  const file = fileURLToPath(url)
  const source = readFileSync(file, 'utf8')
  let cacheFile: string | undefined
  let key = ''
  let cachedData: Buffer | undefined
  try {
    const st = statSync(file)
    key = `${process.version} ${process.arch} ${st.size} ${st.mtimeMs}\n`
    cacheFile = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bt', `code-${fnv(file)}.v8`)
    const data = readFileSync(cacheFile)
    if (data.subarray(0, key.length).toString('latin1') === key) cachedData = data.subarray(key.length)
  } catch {
    // No cache yet, or no cache dir: compile from source.
  }
  // The module wrapper of CommonJS, plus the bundle's import.meta.url (bundle-yargs defines it as __bt_url).
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __bt_url) {${source}\n})`, { filename: file, cachedData })
  fromCache = cachedData !== undefined && !script.cachedDataRejected
  const module = { exports: {} as Record<string, unknown> }
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), url.href)
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    // At exit, so the cache holds the functions this run compiled lazily too (help rendering, parsing).
    const target = cacheFile
    process.once('exit', () => {
      try {
        mkdirSync(dirname(target), { recursive: true })
        const tmp = `${target}.${process.pid}`
        writeFileSync(tmp, Buffer.concat([Buffer.from(key, 'latin1'), script.createCachedData()]))
        renameSync(tmp, target)
      } catch {
        // A read-only or full cache dir: the next start compiles again.
      }
    })
  }
  return module.exports
}
