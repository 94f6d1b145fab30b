#!/usr/bin/env -S node --openssl-legacy-provider
// The torrentfs launcher: runs the built command (dist/), or says in one line how to build it.
import('../dist/cmd/torrentfs.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cmd/torrentfs.js')) {
    const dir = new URL('..', import.meta.url).pathname
    console.error(`torrentfs: not built: run \`npm install\` (it builds dist/) in ${dir}`)
    process.exit(1)
  }
  throw err
})
