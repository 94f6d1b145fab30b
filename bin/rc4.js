// Protocol encryption (MSE/PE) uses RC4, which Node 20's OpenSSL 3 offers only with --openssl-legacy-provider
// (without it bittorrent-protocol falls back to a JavaScript RC4, several times slower). The launchers' shebang
// passes the flag; when started some other way (`node bin/bt.js`) and RC4 is missing, run the command again in a
// child with the flag. Set BT_JS_RC4=1 to skip that and use the JavaScript RC4.
import { createCipheriv } from 'node:crypto'
import { spawn } from 'node:child_process'
import { constants } from 'node:os'

function hasRc4() {
  try {
    createCipheriv('rc4', Buffer.alloc(16), '')
    return true
  } catch {
    return false
  }
}

/** Resolves true when this process should go on and run the command itself. */
export function ensureRc4() {
  if (hasRc4() || process.env.BT_JS_RC4 || process.env.BT_RC4_CHILD) {
    if (process.env.BT_RC4_CHILD) {
      // The launcher may be killed outright (SIGKILL): leave with it rather than run on as an orphan.
      const parent = process.ppid
      setInterval(() => process.ppid !== parent && process.exit(1), 1000).unref()
    }
    return Promise.resolve(true)
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--openssl-legacy-provider', ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, BT_RC4_CHILD: '1' },
    })
    const forward = (sig) => child.kill(sig)
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward)
    child.on('error', () => resolve(true)) // could not start: run here with the JavaScript RC4
    child.on('exit', (code, signal) => {
      process.exit(code ?? 128 + (constants.signals[signal] ?? 0))
    })
  })
}
