#!/usr/bin/env node
// After tsc and bundle-yargs: bundle the `bt` entry (dist/cmd/bt.js) with what it imports statically — yargs and the
// command modules — into that one file, so `bt --help` compiles one module instead of ~20 (issue 15: start-up time).
// Left outside the bundle, as separate modules loaded from the same directory:
// - every `await import(...)`: engine code must stay lazy (bundling it made start-up 5x slower);
// - dist/src/*: errors.js defines BtError, and `instanceof` needs the one class the engine throws;
// - cmd/cli.js: it holds state (the verbose flag) that the lazily imported *-run.js modules read.
// The launcher's fast path for `bt metainfo FILE` (dist/cmd/metainfo-fast.js) is bundled the same way, on its own.
// Optional like bundle-yargs: without esbuild the tsc output stays and bt works, only starts slower.
// Then bundle-help.js renders the help texts the launcher prints without yargs.
import { dirname, relative, resolve } from 'node:path'
import { loadEsbuild, requireBuilt } from './build-inputs.js'

const dir = new URL('../dist/cmd/', import.meta.url).pathname
const entries = [`${dir}bt.js`, `${dir}metainfo-fast.js`]
requireBuilt('bundle-cli', entries)
const esbuild = await loadEsbuild('bundle-cli', 'the unbundled command line (bt starts slower)')
const shared = new Set([`${dir}cli.js`])
// The fast path takes in what it always loads — the engine modules that read and print a torrent file — instead of
// importing them one by one (errors.js stays outside: `instanceof BtError` needs the engine's one class).
const src = new URL('../dist/src/', import.meta.url).pathname
const inlined = {
  [`${dir}metainfo-fast.js`]: new Set(['metainfo/metainfo.js', 'metainfo/bdecode.js', 'metainfo/magnet-link.js', 'metainfo/load.js', 'format.js'].map((f) => src + f)),
}
for (const entry of esbuild ? entries : []) await esbuild.build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  // Node's built-in modules are taken with require, not import: an ESM import of a built-in builds its ESM facade,
  // which reads every export, getters included, so `import { readFileSync } from 'node:fs'` also loads fs/promises,
  // readline and the whole streams stack (~10 ms of every start, issue 15). A require'd module is read only where
  // used (esbuild's CommonJS interop reads `fs.readFileSync` at the call).
  banner: { js: 'import{createRequire as __btCreateRequire}from"node:module";const __btRequire=__btCreateRequire(import.meta.url);' },
  plugins: [{
    name: 'builtins-by-require',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin' } : undefined))
      build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = __btRequire(${JSON.stringify(args.path)})`, loader: 'js' }))
    },
  }, {
    name: 'lazy-and-shared-stay-external',
    setup(build) {
      build.onResolve({ filter: /^\./ }, (args) => {
        const path = resolve(args.resolveDir, args.path)
        if (inlined[entry]?.has(path)) return undefined
        // A kept specifier is written relative to the output, which lives in dist/cmd/.
        if (args.kind === 'dynamic-import' || dirname(path) !== dir.slice(0, -1) || shared.has(path)) {
          return { path: `./${relative(dir, path)}`.replace(/^\.\/\.\.\//, '../'), external: true }
        }
        return undefined
      })
    },
  }],
  logLevel: 'warning',
})
await import('./bundle-help.js')
