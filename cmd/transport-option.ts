// --utp / --tcp (yargs gives --no-utp / --no-tcp), shared by every command that runs a client (download, seed, serve,
// torrentfs): which transports bt listens on and dials.
import { BtError, ExitCode } from '../src/errors.js'

export const UTP_OPTION = {
  type: 'boolean',
  default: true,
  describe: 'uTP (BEP 29) on the UDP twin of the listen port, dialled when TCP fails (--no-utp: TCP only)',
} as const

export const TCP_OPTION = {
  type: 'boolean',
  default: true,
  describe: 'TCP connections, incoming and outgoing (--no-tcp: uTP only)',
} as const

/** The two switches as Client options; both off is a usage error. */
export function transportOptions(utp: unknown, tcp: unknown): { utp: boolean; tcp: boolean } {
  const o = { utp: utp !== false, tcp: tcp !== false }
  if (!o.utp && !o.tcp) throw new BtError('--no-utp and --no-tcp together leave no way to reach peers', ExitCode.usage)
  return o
}
