// Which of our own IPv6 addresses to name to HTTP trackers (BEP 7 `ipv6=`), so a tracker reached over IPv4 can hand
// our IPv6 address to IPv6 peers too.

import { hostFamily, normalizeHost } from './peer-address.js'

export interface InterfaceAddress {
  address: string
  family: string | number
  internal: boolean
}

/**
 * The address to announce: with explicit listen addresses, the first specific IPv6 one among them (the user said
 * that is where we are, loopback included); when listening on every interface (`::`, or no addresses given), the
 * first global unicast IPv6 address of a network interface (2000::/3: not loopback, link-local or unique-local,
 * which a tracker elsewhere could not reach). Undefined when we do not listen on IPv6 or have no such address.
 */
export function announceIPv6(listenHosts: Array<string | undefined>, interfaces: InterfaceAddress[], listeningOnV6: boolean): string | undefined {
  if (!listeningOnV6) return undefined
  const explicit = listenHosts.filter((h): h is string => h !== undefined).map(normalizeHost)
  const specific = explicit.find((h) => hostFamily(h) === 6 && h !== '::')
  if (specific) return specific
  if (explicit.length && !explicit.includes('::') && !explicit.includes('0.0.0.0')) return undefined
  for (const a of interfaces) {
    if (a.internal || !(a.family === 'IPv6' || a.family === 6)) continue
    const h = normalizeHost(a.address)
    if (/^[23][0-9a-f]{3}:/i.test(h)) return h
  }
  return undefined
}
