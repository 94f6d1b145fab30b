// --encryption: one definition for every command that runs a client (download, seed, serve, torrentfs). No engine
// imports here, so the commands' --help stays fast.

import { BtError, ExitCode } from '../src/errors.js'

export function encryptionOption(v: string | undefined): 'prefer' | 'require' | 'off' {
  if (v === undefined || v === 'prefer' || v === 'require' || v === 'off') return v ?? 'prefer'
  throw new BtError(`--encryption: "${v}" is not one of prefer, require, off`, ExitCode.usage)
}

/** --encryption, shared by every command that runs a client (download, seed, serve, torrentfs). */
export const ENCRYPTION_OPTION = {
  type: 'string',
  default: 'prefer',
  // Checked by encryptionOption() in the handler, not with `choices` (whose error bt's one-line error output cuts to
  // "Invalid values:") nor `coerce` (whose errors yargs rewraps, losing the exit code).
  describe: 'protocol encryption (MSE/PE): prefer = encrypted first with plain fallback, accept both; require = RC4 only; off = plain only',
} as const

