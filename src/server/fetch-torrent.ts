// What an add request may name: a magnet link, a bare info hash, or the http(s) URL of a .torrent (which indexers
// often redirect to a magnet link). URLs are fetched with a size cap and a timeout.

import { isMagnet, normalizeInfoHash, parseMagnet, type MagnetLink } from '../metainfo/magnet.js'
import { parseTorrent, type Metainfo } from '../metainfo/metainfo.js'
import { errorMessage } from '../errors.js'
import { ApiError, invalid } from './errors.js'

export const MAX_TORRENT_BYTES = 16 * 1024 * 1024
// Base64 metainfo of the largest .torrent accepted plus the JSON around it.
export const MAX_BODY_BYTES = 24 * 1024 * 1024

export type AddSource = { kind: 'torrent'; metainfo: Metainfo; bytes: Buffer } | { kind: 'magnet'; magnet: MagnetLink; uri: string }

export function parseTorrentBytes(bytes: Buffer, what: string): AddSource {
  if (bytes.length > MAX_TORRENT_BYTES) throw new ApiError('too_large', `${what}: larger than 16 MiB`)
  try {
    return { kind: 'torrent', metainfo: parseTorrent(bytes, what), bytes }
  } catch (err) {
    throw invalid(errorMessage(err))
  }
}

function magnetSource(uri: string): AddSource {
  try {
    return { kind: 'magnet', magnet: parseMagnet(uri), uri }
  } catch (err) {
    throw invalid(errorMessage(err))
  }
}

/** Resolve a URI: magnet, info hash (hex or base32, optionally `infohash:`), or http(s) URL of a .torrent. */
export async function resolveUri(uri: string, opts: { timeoutMs?: number } = {}): Promise<AddSource> {
  const s = uri.trim()
  if (isMagnet(s)) return magnetSource(s)
  const hash = normalizeInfoHash(s.replace(/^infohash:/i, ''))
  if (hash) return magnetSource(`magnet:?xt=urn:btih:${hash}`)
  let url: URL
  try {
    url = new URL(s)
  } catch {
    throw invalid(`"${s.slice(0, 100)}" is not a magnet link, info hash or http(s) URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`${url.protocol} URLs are not supported (magnet, http or https)`)
  return fetchTorrent(url, opts.timeoutMs ?? 30_000, 5)
}

async function fetchTorrent(url: URL, timeoutMs: number, redirects: number): Promise<AddSource> {
  let res: Response
  try {
    res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    throw new ApiError('bad_gateway', `${url.href}: ${errorMessage((err as Error).cause ?? err)}`)
  }
  if (res.status >= 300 && res.status < 400) {
    const loc = res.headers.get('location')
    await res.body?.cancel().catch(() => {})
    if (!loc) throw new ApiError('bad_gateway', `${url.href}: redirect without a Location`)
    if (isMagnet(loc)) return magnetSource(loc)
    if (redirects <= 0) throw new ApiError('bad_gateway', `${url.href}: too many redirects`)
    return fetchTorrent(new URL(loc, url), timeoutMs, redirects - 1)
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {})
    throw new ApiError('bad_gateway', `${url.href}: HTTP ${res.status}`)
  }
  const declared = Number(res.headers.get('content-length') ?? 0)
  if (declared > MAX_TORRENT_BYTES) {
    await res.body?.cancel().catch(() => {})
    throw new ApiError('too_large', `${url.href}: larger than 16 MiB`)
  }
  // Read with a running cap: a server may lie about, or leave out, Content-Length.
  const chunks: Buffer[] = []
  let total = 0
  const reader = res.body!.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > MAX_TORRENT_BYTES) {
      await reader.cancel().catch(() => {})
      throw new ApiError('too_large', `${url.href}: larger than 16 MiB`)
    }
    chunks.push(Buffer.from(value))
  }
  return parseTorrentBytes(Buffer.concat(chunks), url.href)
}
