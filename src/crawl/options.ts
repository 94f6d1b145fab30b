// Parsing of the crawler's command-line values that need more than yargs gives: durations ("2h", "90m", "1h30m",
// plain seconds) and bootstrap host:port lists resolved to IPv4 (the crawler's sockets are IPv4 only).

import { lookup } from 'node:dns/promises'
import { isIPv4 } from 'node:net'
import { BtError, ExitCode, systemText } from '../errors.js'
import { parsePeerAddress } from '../discovery/peer-address.js'
import type { Endpoint } from './address.js'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** Seconds in "2h", "1h30m", "45s", "90" (seconds); undefined when it is not a duration. */
export function parseDuration(s: string): number | undefined {
  const t = s.trim().toLowerCase()
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t)
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(t)) return undefined
  let total = 0
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) total += Number(m[1]) * UNITS[m[2]]
  return total
}

const DNS_TIMEOUT_MS = 3000

/** Resolve host:port entries to IPv4 endpoints; names that do not resolve are reported and left out. */
export async function resolveBootstrap(list: readonly string[], warn: (msg: string) => void = () => {}): Promise<Endpoint[]> {
  const out = await Promise.all(list.map(async (s) => {
    const p = parsePeerAddress(s)
    if (!p) throw new BtError(`--dht-bootstrap: "${s}" is not host:port`, ExitCode.usage)
    if (isIPv4(p.host)) return p
    let timer: NodeJS.Timeout | undefined
    try {
      const res = await Promise.race([
        lookup(p.host, { family: 4 }),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('DNS timeout')), DNS_TIMEOUT_MS) }),
      ])
      return { host: res.address, port: p.port }
    } catch (err) {
      warn(`bootstrap node ${s}: ${systemText(err)}`)
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }))
  return out.filter((e): e is Endpoint => e !== undefined)
}
