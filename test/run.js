#!/usr/bin/env node
// Runs every test/**/*.test.ts file in its own process (uvu under tsx), a few at a time, each with a time limit,
// and ends with the plain line `N passed, N failed` that CI reads. Usage: node test/run.js [filter…]
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const filters = process.argv.slice(2)
const jobs = Number(process.env.TEST_JOBS || 2)
const limitMs = Number(process.env.TEST_FILE_TIMEOUT || 300) * 1000

function find(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...find(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

// Filters match the path relative to the repository (test/…), so a checkout under a directory named like a filter
// (a worktree called "tracker") does not match every file.
const files = find(join(root, 'test')).filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
let passed = 0
let failed = 0
const failures = []

function runFile(file) {
  return new Promise((resolve) => {
    const name = relative(root, file)
    const started = Date.now()
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // BT_DHT_BOOTSTRAP=none: no test may reach the public DHT routers, even one that forgets --dht-bootstrap.
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', BT_DHT_BOOTSTRAP: 'none' },
      detached: true, // own process group, so a timeout kills whatever the test started too
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
    }, limitMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0)
      const ok = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0)
      let bad = total - ok
      if ((code !== 0 || timedOut) && bad === 0) bad = 1
      passed += ok
      failed += bad
      const secs = ((Date.now() - started) / 1000).toFixed(1)
      const status = bad === 0 ? 'ok  ' : 'FAIL'
      process.stdout.write(`${status} ${name} (${ok}/${total}, ${secs}s)${timedOut ? ' TIMED OUT' : ''}\n`)
      if (bad > 0) failures.push(name)
      if (bad > 0 || process.env.TEST_VERBOSE) {
        process.stdout.write(output.split('\n').map((l) => '    ' + l).join('\n') + '\n')
      }
      resolve()
    })
  })
}

const queue = [...files]
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
  while (queue.length) await runFile(queue.shift())
}))
if (failures.length) process.stdout.write(`failed files: ${failures.join(', ')}\n`)
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exit(failed === 0 && files.length > 0 ? 0 : 1)
