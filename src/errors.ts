// The one error type the toolkit throws for anything a user should read: a one-line message and an exit code.
// cmd/ prints `bt: <message>` and exits with `exitCode`; anything else that escapes is an internal error (exit 1).

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
