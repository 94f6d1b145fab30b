#!/usr/bin/env -S node --openssl-legacy-provider --max-semi-space-size=2
// The bt launcher: runs the built command line (dist/), or says in one line how to build it.
// --max-semi-space-size=2: V8 grows each young-generation semi-space to 16 MiB under a download's allocation rate;
// 2 MiB keeps RSS ~20 MiB lower at no extra CPU (bench/download.js, issue 14). bench/ passes the same flags.
import('../dist/cmd/bt.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cmd/bt.js')) {
    const dir = new URL('..', import.meta.url).pathname
    console.error(`bt: not built: run \`npm install\` (it builds dist/) in ${dir}`)
    process.exit(1)
  }
  throw err
})
