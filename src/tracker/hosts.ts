// The tracker's listen addresses: `--host` takes IP literals and host names. The UDP socket (native/udp-batch, and
// dgram with its literal-only lookup) binds an address, not a name, so names are resolved here, once, to every
// address they have (`localhost` gives 127.0.0.1, and ::1 where the resolver lists it); HTTP listens on the same
// addresses so both front ends agree.

import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { BtError, ExitCode, systemText } from '../errors.js'

type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>

const systemLookup: Lookup = (host) => lookup(host, { all: true, verbatim: true })

/**
 * The addresses to listen on for these hosts, in order, each once. `[::1]` is taken as ::1. A name that does not
 * resolve is a usage error (exit 2), named in the message.
 */
export async function resolveListenHosts(hosts: string[], resolve: Lookup = systemLookup): Promise<string[]> {
  const out: string[] = []
  const add = (a: string) => { if (!out.includes(a)) out.push(a) }
  for (const raw of hosts) {
    const h = raw.trim().replace(/^\[(.*)\]$/, '$1')
    if (!h) continue
    if (isIP(h)) { add(h); continue }
    let found: Array<{ address: string; family: number }>
    try {
      found = await resolve(h)
    } catch (err) {
      throw new BtError(`--host ${h}: cannot resolve this name (${systemText(err)})`, ExitCode.usage)
    }
    // Link-local IPv6 needs a scope id that a bare address cannot carry: such an address could not be bound.
    const usable = found.map((f) => f.address).filter((a) => isIP(a) && !/^fe80:/i.test(a))
    if (usable.length === 0) throw new BtError(`--host ${h}: the name has no usable address`, ExitCode.usage)
    usable.forEach(add)
  }
  if (out.length === 0) throw new BtError('--host: no address given', ExitCode.usage)
  return out
}
