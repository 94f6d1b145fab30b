#!/usr/bin/env node
// After tsc and bundle-yargs: bundle the `bt` entry (dist/cmd/bt.js) with what it imports statically — yargs and the
// command modules — into that one file, so `bt --help` compiles one module instead of ~20 (issue 15: start-up time).
// Left outside the bundle, as separate modules loaded from the same directory:
// - every `await import(...)`: engine code must stay lazy (bundling it made start-up 5x slower);
// - dist/src/*: errors.js defines BtError, and `instanceof` needs the one class the engine throws;
// - cmd/cli.js: it holds state (the verbose flag) that the lazily imported *-run.js modules read.
// Optional like bundle-yargs: without esbuild the tsc output stays and bt works, only starts slower.
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

const dir = new URL('../dist/cmd/', import.meta.url).pathname
const entry = `${dir}bt.js`
if (!existsSync(entry)) {
  console.error(`bundle-cli: ${entry} is missing; run tsc first`)
  process.exit(1)
}
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  console.error('bundle-cli: esbuild not found; keeping the unbundled command line (bt starts slower)')
  process.exit(0)
}
const shared = new Set([`${dir}cli.js`])
await esbuild.build({
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
        // All bundled modules live in dist/cmd/, as the output does, so a kept specifier still resolves.
        if (args.kind === 'dynamic-import' || dirname(path) !== dir.slice(0, -1) || shared.has(path)) {
          return { path: args.path, external: true }
        }
        return undefined
      })
    },
  }],
  logLevel: 'warning',
})
