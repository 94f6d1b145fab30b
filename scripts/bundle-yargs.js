#!/usr/bin/env node
// After tsc: bundle dist/cmd/yargs.js (a re-export of yargs) with yargs and its dependencies into that one file, so
// starting `bt` reads one module instead of ~50. Optional: without esbuild (a dependency of tsx, so present wherever
// the TypeScript build ran) the re-export stays and bt works, only starts slower.
import { existsSync } from 'node:fs'

const file = new URL('../dist/cmd/yargs.js', import.meta.url).pathname
if (!existsSync(file)) {
  console.error(`bundle-yargs: ${file} is missing; run tsc first`)
  process.exit(1)
}
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  console.error('bundle-yargs: esbuild not found; keeping the unbundled yargs (bt starts slower)')
  process.exit(0)
}
await esbuild.build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  // Every copy of string-width (cliui, wrap-ansi and yargs each pull in their own) becomes our small one.
  plugins: [{
    name: 'string-width',
    setup(build) {
      const stub = new URL('./string-width.js', import.meta.url).pathname
      build.onResolve({ filter: /^string-width$/ }, () => ({ path: stub }))
    },
  }],
  logLevel: 'warning',
})
