// The one auth layer of bt serve: a Host check against DNS rebinding, then credentials (API key in X-Api-Key or
// ?apikey=, or HTTP Basic: user + password, or any user name with the API key as password). Secrets are compared
// in constant time.

import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'

export interface AuthOptions {
  apiKey?: string
  user?: string
  password?: string
  /** Host names accepted besides IP addresses and localhost (lower case). */
  allowedHosts: string[]
}

export type AuthResult = { ok: true; via: 'none' | 'key' | 'basic' } | { ok: false; why: 'missing' | 'wrong' }

/** Constant time in the length of the secret: compare digests, never the strings. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest()
  const y = createHash('sha256').update(b).digest()
  return timingSafeEqual(x, y)
}

/** The host name of a Host header, without port or IPv6 brackets, lower case; undefined if malformed. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase()
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    return end > 0 ? h.slice(1, end) : undefined
  }
  const colon = h.lastIndexOf(':')
  if (colon >= 0 && h.indexOf(':') !== colon) return h // a bare IPv6 address
  return colon >= 0 ? h.slice(0, colon) : h
}

/** IPs and localhost always; other names only when listed (Transmission's rule). No Host (HTTP/1.0): allowed. */
export function hostAllowed(header: string | undefined, allowed: string[]): boolean {
  if (header === undefined) return true
  const name = hostName(header)
  if (!name) return false
  if (isIP(name) || name === 'localhost' || name === 'localhost.') return true
  const bare = name.endsWith('.') ? name.slice(0, -1) : name
  return allowed.includes(bare)
}

export function authRequired(o: AuthOptions): boolean {
  return o.apiKey !== undefined || o.password !== undefined
}

export function authenticate(o: AuthOptions, headers: { 'x-api-key'?: string | string[]; authorization?: string }, queryKey: string | undefined): AuthResult {
  if (!authRequired(o)) return { ok: true, via: 'none' }
  const headerKey = Array.isArray(headers['x-api-key']) ? headers['x-api-key'][0] : headers['x-api-key']
  const key = headerKey ?? queryKey
  let presented = false
  if (key !== undefined) {
    presented = true
    if (o.apiKey !== undefined && safeEqual(key, o.apiKey)) return { ok: true, via: 'key' }
  }
  const auth = headers.authorization
  if (auth && /^basic\s+/i.test(auth)) {
    presented = true
    const decoded = Buffer.from(auth.replace(/^basic\s+/i, ''), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    const user = colon >= 0 ? decoded.slice(0, colon) : decoded
    const pass = colon >= 0 ? decoded.slice(colon + 1) : ''
    if (o.password !== undefined) {
      // Both compared, always, so the time does not tell which one was wrong.
      const userOk = safeEqual(user, o.user ?? '')
      const passOk = safeEqual(pass, o.password)
      if (userOk && passOk) return { ok: true, via: 'basic' }
    }
    if (o.apiKey !== undefined && safeEqual(pass, o.apiKey)) return { ok: true, via: 'basic' }
  }
  return { ok: false, why: presented ? 'wrong' : 'missing' }
}
