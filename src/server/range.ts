// HTTP Range for one representation (RFC 9110 §14): a single byte range, or the whole thing. Several ranges are
// answered with the whole file (allowed, and what most media servers do); a malformed header is ignored.

export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' }

/** `end` is inclusive, as in Content-Range. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' }
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header)
  if (!m) return { kind: 'full' }
  const specs = m[1].split(',').map((s) => s.trim()).filter(Boolean)
  if (specs.length !== 1) return { kind: 'full' }
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0])
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'full' }
  if (r[1] === '') {
    // Suffix: the last N bytes.
    const n = Number(r[2])
    if (!Number.isSafeInteger(n)) return { kind: 'full' }
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(r[1])
  const last = r[2] === '' ? size - 1 : Number(r[2])
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  if (last < start) return { kind: 'full' }
  return { kind: 'partial', start, end: Math.min(last, size - 1) }
}

const TYPES: Record<string, string> = {
  mp4: 'video/mp4', m4v: 'video/mp4', mkv: 'video/x-matroska', webm: 'video/webm', avi: 'video/x-msvideo',
  mov: 'video/quicktime', ts: 'video/mp2t', m2ts: 'video/mp2t', mpg: 'video/mpeg', mpeg: 'video/mpeg', wmv: 'video/x-ms-wmv',
  flv: 'video/x-flv', ogv: 'video/ogg', '3gp': 'video/3gpp',
  mp3: 'audio/mpeg', m4a: 'audio/mp4', aac: 'audio/aac', flac: 'audio/flac', ogg: 'audio/ogg', oga: 'audio/ogg',
  opus: 'audio/ogg', wav: 'audio/wav', wma: 'audio/x-ms-wma',
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  txt: 'text/plain; charset=utf-8', nfo: 'text/plain; charset=utf-8', srt: 'application/x-subrip', vtt: 'text/vtt',
  pdf: 'application/pdf', epub: 'application/epub+zip', zip: 'application/zip', iso: 'application/x-iso9660-image',
  json: 'application/json', html: 'text/plain; charset=utf-8', htm: 'text/plain; charset=utf-8',
}

/** Content type by extension; HTML is served as text so a torrent cannot run script in the server's origin. */
export function contentType(path: string): string {
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase() ?? ''
  return TYPES[ext] ?? 'application/octet-stream'
}

export function isMedia(path: string): boolean {
  const t = contentType(path)
  return t.startsWith('video/') || t.startsWith('audio/')
}

/** attachment/inline with an ASCII fallback and the UTF-8 name (RFC 6266). */
export function contentDisposition(name: string, kind: 'inline' | 'attachment' = 'inline'): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${utf8}`
}
