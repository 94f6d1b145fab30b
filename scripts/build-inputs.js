// Shared by the bundle scripts (bundle-yargs, bundle-cli, bundle-engine): their inputs must exist (tsc ran), and
// esbuild is optional — without it the tsc output stays and bt works, only starts slower.

import { existsSync } from 'node:fs'

/** Exit 1 with a one-line message when one of `files` is missing (tsc has not run). */
export function requireBuilt(script, files) {
  for (const f of files) {
    if (!existsSync(f)) {
      console.error(`${script}: ${f} is missing; run tsc first`)
      process.exit(1)
    }
  }
}

/** esbuild, or undefined after saying on stderr what stays unbundled (`what`). */
export async function loadEsbuild(script, what) {
  try {
    return await import('esbuild')
  } catch {
    console.error(`${script}: esbuild not found; keeping ${what}`)
    return undefined
  }
}
