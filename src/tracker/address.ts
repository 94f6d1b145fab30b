// Compact peer addresses (BEP 23 / BEP 7) as latin1 strings: 4-byte IPv4 or 16-byte IPv6, then a 2-byte port.
// Parsed by hand so that nothing is allocated beyond the result string.

/**
 * The compact form of ip:port as a latin1 string: 6 chars for IPv4 (and IPv4-mapped IPv6), 18 for IPv6;
 * undefined for anything that is not an IP address.
 */
export function compactAddress(ip: string, port: number): string | undefined {
  const p = String.fromCharCode(port >>> 8, port & 0xff)
  const v4 = parseIPv4(ip.startsWith('::ffff:') ? ip.slice(7) : ip)
  if (v4 !== undefined) return v4 + p
  const v6 = parseIPv6(ip)
  return v6 === undefined ? undefined : v6 + p
}

function parseIPv4(ip: string): string | undefined {
  let out = ''
  let n = 0
  let digits = 0
  let parts = 0
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46
    if (c === 46) {
      if (digits === 0 || n > 255) return undefined
      out += String.fromCharCode(n)
      parts++
      n = 0
      digits = 0
    } else if (c >= 48 && c <= 57 && digits < 3) {
      n = n * 10 + (c - 48)
      digits++
    } else return undefined
  }
  return parts === 4 ? out : undefined
}

function parseIPv6(ip: string): string | undefined {
  const zone = ip.indexOf('%')
  if (zone >= 0) ip = ip.slice(0, zone)
  if (ip.length < 2 || ip.length > 45 || !/^[0-9a-fA-F:.]+$/.test(ip)) return undefined
  const halves = ip.split('::')
  if (halves.length > 2) return undefined
  const words = (s: string): number[] | undefined => {
    if (s === '') return []
    const out: number[] = []
    const parts = s.split(':')
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part)
        if (v4 === undefined) return undefined
        out.push((v4.charCodeAt(0) << 8) | v4.charCodeAt(1), (v4.charCodeAt(2) << 8) | v4.charCodeAt(3))
      } else {
        if (part.length < 1 || part.length > 4) return undefined
        out.push(parseInt(part, 16))
      }
    }
    return out
  }
  const head = words(halves[0])
  const tail = halves.length === 2 ? words(halves[1]) : []
  if (!head || !tail) return undefined
  const fill = 8 - head.length - tail.length
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail]
  let s = ''
  for (const w of all) s += String.fromCharCode(w >>> 8, w & 0xff)
  return s
}

/** ip:port of a compact address string (for the dictionary peer list and tests). */
export function decodeCompactAddress(addr: string): { ip: string; port: number } {
  const n = addr.length - 2
  const port = (addr.charCodeAt(n) << 8) | addr.charCodeAt(n + 1)
  if (n === 4) return { ip: `${addr.charCodeAt(0)}.${addr.charCodeAt(1)}.${addr.charCodeAt(2)}.${addr.charCodeAt(3)}`, port }
  const w: string[] = []
  for (let i = 0; i < 16; i += 2) w.push(((addr.charCodeAt(i) << 8) | addr.charCodeAt(i + 1)).toString(16))
  return { ip: w.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::'), port }
}
