#!/usr/bin/env -S node --openssl-legacy-provider
// The bt launcher: runs the built command line (dist/), or says in one line how to build it.
import('../dist/cmd/bt.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cmd/bt.js')) {
    const dir = new URL('..', import.meta.url).pathname
    console.error(`bt: not built: run \`npm install\` (it builds dist/) in ${dir}`)
    process.exit(1)
  }
  throw err
})
