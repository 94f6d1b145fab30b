#!/usr/bin/env -S node --openssl-legacy-provider --max-semi-space-size=2
// The torrentfs launcher: runs the built command (dist/), or says in one line how to build it.
// --max-semi-space-size=2: V8 grows each young-generation semi-space to 16 MiB under a download's allocation rate;
// 2 MiB keeps RSS ~20 MiB lower at no extra CPU (bench/download.js, issue 14). bench/ passes the same flags.
import('../dist/cmd/torrentfs.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cmd/torrentfs.js')) {
    const dir = new URL('..', import.meta.url).pathname
    console.error(`torrentfs: not built: run \`npm install\` (it builds dist/) in ${dir}`)
    process.exit(1)
  }
  throw err
})
