// Peer addresses as every source (tracker, DHT, PEX, magnet x.pe, --peer) reports them.

export interface PeerAddress {
  host: string
  port: number
}

export function peerKey(p: PeerAddress): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`
}

/** Parse `host:port` or `[v6]:port`; undefined when it is not one. */
export function parsePeerAddress(s: string): PeerAddress | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s]+):(\d{1,5})$/.exec(s)
  if (!m) return undefined
  const port = Number(m[2])
  if (port < 1 || port > 65535) return undefined
  return { host: m[1], port }
}

/** A loopback host: 127.0.0.0/8, ::1, an IPv4-mapped 127.x, or localhost (brackets and case ignored). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h.startsWith('::ffff:127.')
}

/** Compact peer lists (BEP 23 IPv4, 6 bytes each; BEP 7 IPv6, 18 bytes each). */
export function decodeCompactPeers(buf: Uint8Array, family: 4 | 6 = 4): PeerAddress[] {
  const size = family === 4 ? 6 : 18
  const peers: PeerAddress[] = []
  for (let i = 0; i + size <= buf.length; i += size) {
    let host: string
    if (family === 4) host = `${buf[i]}.${buf[i + 1]}.${buf[i + 2]}.${buf[i + 3]}`
    else {
      const parts: string[] = []
      for (let j = 0; j < 16; j += 2) parts.push(((buf[i + j] << 8) | buf[i + j + 1]).toString(16))
      host = parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')
    }
    const port = (buf[i + size - 2] << 8) | buf[i + size - 1]
    if (port > 0) peers.push({ host, port })
  }
  return peers
}

export function encodeCompactPeer(p: PeerAddress): Buffer | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(p.host)
  if (!v4) return undefined
  const b = Buffer.alloc(6)
  for (let i = 0; i < 4; i++) b[i] = Number(v4[i + 1])
  b.writeUInt16BE(p.port, 4)
  return b
}
