#!/usr/bin/env node
// After tsc and bundle-cli: bundle what `bt download` and `bt seed` load lazily (dist/cmd/download-run.js and
// seed-run.js: the whole engine and its npm dependencies, ~95 ES modules) into one file each, in place. Node 20 spends
// about 2.5 ms of CPU per ES module it resolves, reads, links and evaluates: loading the engine cost ~350 CPU ms per
// `bt download` unbundled against ~130 bundled (issue 14; at 1 GiB that is ~8 % of the download's CPU).
// The bundles are loaded only by their command's handler, so `bt --help` does not get slower (bundle-cli keeps them
// outside bt.js). Left outside, loaded as separate modules as before:
// - dist/src/errors.js: BtError's class must be the one the command line's `instanceof` checks see;
// - dist/src/format.js, dist/cmd/cli.js: shared with the bt.js bundle (cli.js holds the verbose flag);
// - native bindings (utp-native), which the engine loads with createRequire at run time.
// Optional like the other bundles: without esbuild the tsc output stays and bt works, only starts slower.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { isBuiltin } from 'node:module'
import { loadEsbuild } from './build-inputs.js'

const dir = new URL('../dist/cmd/', import.meta.url).pathname
const entries = ['download-run.js', 'seed-run.js'].map((f) => `${dir}${f}`).filter((f) => existsSync(f))
if (entries.length === 0) {
  console.error(`bundle-engine: nothing to bundle in ${dir}; run tsc first`)
  process.exit(1)
}
const esbuild = await loadEsbuild('bundle-engine', 'the unbundled engine (bt download starts slower)')
if (!esbuild) process.exit(0)
const keep = new Set([resolve(dir, '../src/errors.js'), resolve(dir, '../src/format.js'), resolve(dir, 'cli.js')])
for (const entry of entries) {
  await esbuild.build({
    entryPoints: [entry],
    outfile: entry,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Not minified: stack traces under --verbose stay readable, and parse time is the same order.
    legalComments: 'eof',
    // CommonJS dependencies (debug, k-rpc…) call require(): give the bundle one.
    banner: { js: 'import{createRequire as __btEngineRequire}from"node:module";const require=__btEngineRequire(import.meta.url);' },
    plugins: [{
      // As in bundle-cli: Node's built-in modules are taken with require, not import. An ESM import of a built-in
      // builds its ESM facade, which reads every export (getters included) and so loads more of Node than is used:
      // ~50 of the ~120 CPU ms the bundle took to load.
      name: 'builtins-by-require',
      setup(build) {
        build.onResolve({ filter: /^(node:)?[a-z0-9_/]+$/ }, (args) => {
          if (args.kind !== 'import-statement' || !isBuiltin(args.path)) return undefined
          return { path: args.path, namespace: 'builtin' }
        })
        build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js' }))
      },
    }, {
      name: 'shared-stay-external',
      setup(build) {
        build.onResolve({ filter: /^\./ }, (args) => {
          const path = resolve(args.resolveDir, args.path)
          // The bundle is written where its entry was (dist/cmd/), so a kept specifier is rewritten relative to it.
          if (keep.has(path)) return { path: path.startsWith(dir) ? `./${path.slice(dir.length)}` : `../src/${path.slice(resolve(dir, '../src').length + 1)}`, external: true }
          return undefined
        })
      },
    }],
    logLevel: 'warning',
  })
}
