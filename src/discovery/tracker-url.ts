// Is a tracker URL one bt can announce to? Checked where URLs come in (command line, magnet `tr`, a torrent's
// announce list), so an unusable one is reported once instead of being dropped without a word.

/** Why `url` cannot be used as a tracker, or undefined when it can (http, https or udp with a host and, for udp, a port). */
export function trackerUrlProblem(url: string): string | undefined {
  if (url.trim() === '') return 'empty tracker URL'
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return 'not a URL'
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase()
  if (scheme === 'ws' || scheme === 'wss') return 'a WebTorrent (WebSocket) tracker, which bt does not speak'
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'udp') return `unsupported protocol ${scheme}: (bt speaks http, https and udp)`
  if (!u.hostname) return 'no host in the URL'
  if (scheme === 'udp' && !u.port) return 'a udp tracker needs a port (udp://host:port)'
  return undefined
}
