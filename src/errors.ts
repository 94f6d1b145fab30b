// The one error type the toolkit throws for anything a user should read: a one-line message and an exit code.
// cmd/ prints `bt: <message>` and exits with `exitCode`; anything else that escapes is an internal error (exit 1).
// Also the one place where a Node system error (errno code) becomes that one-line message.

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2, // bad arguments or bad input (corrupt torrent, bad magnet)
  network: 3, // no peers, tracker failure, metadata timeout
  io: 4, // file system trouble (disk full, permission denied)
  interrupted: 130,
} as const

export class BtError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = ExitCode.usage, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BtError'
    this.exitCode = exitCode
  }
}

/** The message of any thrown value, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

// Node's messages (`EISDIR: illegal operation on a directory, open '/x'`) name the syscall and repeat the path; a
// user needs the path once and the reason in words.
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent of this path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  EIO: 'input/output error',
  EFBIG: 'file too large for this file system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EBUSY: 'device or resource busy',
  ENOTCONN: 'transport endpoint is not connected (a dead mount?)',
  EXDEV: 'cross-device link',
  EINVAL: 'invalid argument',
  ENXIO: 'no such device or address',
  ENODEV: 'no such device',
  ETXTBSY: 'text file busy',
  EADDRINUSE: 'address in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_NONAME: 'host not found',
  EAI_AGAIN: 'host not found',
}

const NETWORK = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_NONAME', 'EAI_AGAIN'])

/** The words for an errno code (`ENOENT` → `no such file or directory`), or undefined for an unknown one. */
export function systemReason(code: string | undefined): string | undefined {
  return code ? REASONS[code] : undefined
}

/** Why `err` happened, in one line: an errno code in words (`address in use`), else the first line of its message. */
export function systemText(err: unknown): string {
  return systemReason((err as NodeJS.ErrnoException | undefined)?.code) ?? errorMessage(err).split('\n')[0]
}

/**
 * Any error as a one-line BtError naming `path`: a Node system error gets its reason in words and exit code 4
 * (3 for socket errors), unless `exitCode` says otherwise; a BtError passes through unchanged.
 */
export function fromSystemError(err: unknown, path?: string, exitCode?: number): BtError {
  if (err instanceof BtError) return err
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const reason = systemReason(code) ?? errorMessage(err).split('\n')[0]
  const where = path ?? (err as NodeJS.ErrnoException | undefined)?.path
  const message = where ? `${where}: ${reason}` : reason
  return new BtError(message, exitCode ?? (code && NETWORK.has(code) ? ExitCode.network : ExitCode.io), { cause: err })
}

/** Is this a Node system error (it has an errno code such as ENOENT)? */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((err as NodeJS.ErrnoException).code!)
}
