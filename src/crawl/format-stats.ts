// The crawler's status line (one a minute on stderr when not on a terminal).

import { formatBytes } from '../format.js'
import type { CrawlStats } from './stats.js'

export function statusLine(s: CrawlStats): string {
  const m = s.metadata
  return [
    `up ${formatUptime(s.uptimeS)}`,
    `nodes ${s.routingTable}`,
    `q/s ${s.queriesOutPerS} out ${s.queriesInPerS} in`,
    `hashes ${s.infoHashes.discovered} (${s.infoHashes.new} new, ${s.infoHashes.newPerMin}/min)`,
    `metadata ${m.fetched} (${m.fetchedPerMin}/min, ${m.failedPerMin} failed, ${m.timedOutPerMin} timed out /min)`,
    `indexed ${s.indexed}${s.indexSize !== null ? ` of ${s.indexSize}` : ''}`,
    `in ${formatBytes(s.bandwidthInPerS)}/s out ${formatBytes(s.bandwidthOutPerS)}/s`,
  ].join(' · ')
}

export function formatUptime(sec: number): string {
  const h = Math.floor(sec / 3600)
  const m = Math.floor((sec % 3600) / 60)
  const s = sec % 60
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`
}
