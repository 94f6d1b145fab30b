// Who bt says it is to other peers: an Azureus-style peer id with its own client code, and the BEP 10 `v` string.
// The code `TK` (BitTorrent ToolKit) is in neither libtorrent's nor Transmission's table of known clients, so other
// clients show "TK 0.1.0" rather than mistaking bt for mainline BitTorrent (`BT`) as the old `-BT0100-` made them do.

import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'

export const CLIENT_CODE = 'TK'

let cachedVersion: string | undefined

/** Our version from package.json (dist/src/session/ when built, src/session/ under tsx), or 0.0.0. */
export function clientVersion(): string {
  if (cachedVersion) return cachedVersion
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'bt' && typeof pkg.version === 'string') return (cachedVersion = pkg.version)
    } catch {
      // not there: try the next
    }
  }
  return (cachedVersion = '0.0.0')
}

/** The BEP 10 extended handshake's `v`: client name and version. */
export function clientName(): string {
  return `bt/${clientVersion()}`
}

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `-TK` + four version characters (major, minor, patch, 0; 10 and above as letters) + `-` + 12 random bytes. */
export function makePeerId(version = clientVersion()): Buffer {
  const parts = version.split(/[.+-]/).slice(0, 3).map((x) => Number.parseInt(x, 10))
  while (parts.length < 3) parts.push(0)
  const digits = [...parts, 0].map((n) => DIGITS[Number.isInteger(n) && n >= 0 && n < DIGITS.length ? n : 0]).join('')
  return Buffer.concat([Buffer.from(`-${CLIENT_CODE}${digits}-`), randomBytes(12)])
}
