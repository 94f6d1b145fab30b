// Options shared by the commands that run a client (download, seed, metainfo of a magnet), and their validation at
// parse time, so a bad value stops bt before it touches the disk or the network. Light: no engine imports.

import { ENCRYPTION_OPTION, encryptionOption } from './encryption-option.js'
import { TCP_OPTION, UTP_OPTION, transportOptions } from './transport-option.js'
import type { Argv } from 'yargs'
import { BtError, ExitCode } from '../src/errors.js'
import { parseSize } from '../src/format.js'
import { createRequire } from 'node:module'

function last(v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v
}

/** A yargs `coerce` for a whole number in [min, max]; the message names the option and what it wanted. */
export function intArg(name: string, min: number, max: number, what: string): (v: unknown) => number {
  return (raw) => {
    const v = last(raw)
    const s = String(v ?? '').trim()
    const n = /^-?\d+$/.test(s) ? Number(s) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new BtError(`--${name}: "${s}" is not ${what}`, ExitCode.usage)
    return n
  }
}

export const portArg = (name: string) => intArg(name, 0, 65535, 'a port number (0-65535)')

/** A rate such as 500k or 10M, in bytes per second; 0 means no limit (undefined). */
export function rateArg(name: string): (v: unknown) => number | undefined {
  return (raw) => {
    const s = String(last(raw) ?? '').trim()
    if (s === '0') return undefined
    const n = parseSize(s)
    if (n === undefined || n <= 0) throw new BtError(`--${name}: "${s}" is not a rate such as 500k or 10M (bytes per second)`, ExitCode.usage)
    return n
  }
}

export interface SessionArgs {
  port?: number
  bind?: string[]
  dht: boolean
  'dht-port'?: number
  'dht-bootstrap'?: string
  'metadata-timeout': number
  peer: string[]
  tracker: string[]
  'download-limit'?: number
  'upload-limit'?: number
  'max-peers': number
  encryption?: 'prefer' | 'require' | 'off'
  utp?: boolean
  tcp?: boolean
  quiet: boolean
  json: boolean
  verbose: boolean
}

/** net.isIP, loaded when an address is checked: node:net (and its streams) costs every start ~2 ms otherwise. */
function isIP(s: string): number {
  return (createRequire(import.meta.url)('node:net') as typeof import('node:net')).isIP(s)
}

/**
 * --bind: listen addresses (IPv4 or IPv6, brackets allowed), comma-separated or repeated; undefined when not given
 * (listen on every interface of both families).
 */
export function bindArg(raw: unknown, name = 'bind'): string[] | undefined {
  const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v ?? '').split(',')).map((s) => s.trim()).filter(Boolean)
  if (!list.length) return undefined
  return list.map((s) => {
    const ip = s.replace(/^\[(.*)\]$/, '$1')
    if (!isIP(ip)) throw new BtError(`--${name}: "${s}" is not an IPv4 or IPv6 address`, ExitCode.usage)
    return ip
  })
}

/** Where peers come from, for every command that finds them (download, seed, metainfo of a magnet). */
export function discoveryOptions<T>(y: Argv<T>, prefix = ''): Argv<T> {
  return y
    .option('port', { alias: 'p', requiresArg: true, coerce: portArg('port'), describe: `${prefix}listen port (default 6881, next free up to 6889, else any)` })
    .option('bind', { type: 'string', array: true, requiresArg: true, coerce: (v: unknown) => bindArg(v), describe: `${prefix}listen on these addresses only (IPv4/IPv6, comma-separated; default: all interfaces, IPv4 and IPv6)` })
    .option('peer', { type: 'string', array: true, requiresArg: true, default: [], describe: `${prefix}connect to this peer (host:port or [v6]:port); repeatable` })
    .option('tracker', { alias: 't', type: 'string', array: true, requiresArg: true, default: [], describe: `${prefix}extra tracker URL; repeatable` })
    .option('dht', { type: 'boolean', default: true, describe: `${prefix}use the DHT (--no-dht: trackers and given peers only)` })
    .option('dht-port', { requiresArg: true, coerce: intArg('dht-port', 1, 65535, 'a port number (1-65535)'), describe: `${prefix}UDP port of the DHT (default: the listen port)` })
    .option('dht-bootstrap', { type: 'string', requiresArg: true, describe: `${prefix}DHT bootstrap nodes host:port,… (default: the public routers, or $BT_DHT_BOOTSTRAP; "none" for none)` })
    .option('metadata-timeout', { requiresArg: true, default: 600, coerce: intArg('metadata-timeout', 0, 7 * 24 * 3600, 'a number of seconds (0: wait forever)'), describe: `${prefix}seconds to wait for a magnet's metadata (0: forever)` })
    .option('encryption', { ...ENCRYPTION_OPTION, requiresArg: true, coerce: (v: unknown) => encryptionOption(String(last(v))) })
    .option('utp', UTP_OPTION)
    .option('tcp', TCP_OPTION)
    .check((a) => Boolean(transportOptions(a.utp, a.tcp)))
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing but errors' }) as Argv<T>
}

/** Options shared by commands that run torrents (download, seed). */
export function sessionOptions<T>(y: Argv<T>): Argv<T> {
  return discoveryOptions(y)
    .option('download-limit', { alias: 'D', requiresArg: true, coerce: rateArg('download-limit'), describe: 'max download rate, e.g. 10M or 500k (bytes/s)' })
    .option('upload-limit', { alias: 'U', requiresArg: true, coerce: rateArg('upload-limit'), describe: 'max upload rate, e.g. 1M' })
    .option('max-peers', { requiresArg: true, default: 80, coerce: intArg('max-peers', 1, 10_000, 'a number of connections from 1 to 10000'), describe: 'connections per torrent' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON event per line on stdout' }) as Argv<T>
}
