// The live dashboard of `bt crawl` on a terminal (ink): the crawler's stats, redrawn every second, on stderr.

import React, { useEffect, useState } from 'react'
import { Box, Text, render } from 'ink'
import type { CrawlStats } from '../src/crawl/stats.js'
import { formatBytes } from '../src/format.js'
import { formatUptime } from '../src/crawl/format-stats.js'

interface Props {
  getStats: () => CrawlStats
  rate: number
  db: string
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Box>
      <Box width={22}><Text dimColor>{label}</Text></Box>
      <Text>{children}</Text>
    </Box>
  )
}

function Dashboard({ getStats, rate, db }: Props) {
  const [s, setStats] = useState<CrawlStats>(getStats)
  useEffect(() => {
    const t = setInterval(() => setStats(getStats()), 1000)
    return () => clearInterval(t)
  }, [getStats])
  const m = s.metadata
  const types = Object.entries(s.contentTypesLastHour).sort((a, b) => b[1] - a[1])
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold>bt crawl <Text dimColor>· {db} · up {formatUptime(s.uptimeS)} · {s.identities} identit{s.identities === 1 ? 'y' : 'ies'}</Text></Text>
      <Row label="routing table">{s.routingTable} nodes</Row>
      <Row label="queries/s">{s.queriesOutPerS} out (cap {rate}) · {s.queriesInPerS} in</Row>
      <Row label="info hashes">{s.infoHashes.discovered} discovered · {s.infoHashes.new} new · {s.infoHashes.newPerMin}/min</Row>
      <Row label="metadata /min">
        <Text color="green">{m.fetchedPerMin} fetched</Text> · <Text color="red">{m.failedPerMin} failed</Text> · <Text color="yellow">{m.timedOutPerMin} timed out</Text>
        <Text dimColor> ({m.fetched} total, {m.active} active, {m.queued} queued)</Text>
      </Row>
      <Row label="peers contacted">{s.peersContacted}</Row>
      <Row label="index">{s.indexed} written{s.indexSize !== null ? ` · ${s.indexSize} torrents` : ''}{s.indexErrors ? ` · ${s.indexErrors} write errors` : ''}</Row>
      <Row label="bandwidth">in {formatBytes(s.bandwidthInPerS)}/s · out {formatBytes(s.bandwidthOutPerS)}/s</Row>
      <Row label="types (last hour)">{types.length ? types.map(([k, v]) => `${k} ${v}`).join(' · ') : '—'}</Row>
      <Box flexDirection="column" marginTop={1}>
        <Text dimColor>last indexed</Text>
        {s.lastNames.slice(0, 5).map((n, i) => <Text key={i} wrap="truncate-end">  {n}</Text>)}
      </Box>
      <Text dimColor>Ctrl-C stops (the pending batch is written)</Text>
    </Box>
  )
}

/** Draws the dashboard on stderr; returns a function that removes it. */
export function showDashboard(getStats: () => CrawlStats, opts: { rate: number; db: string }): () => void {
  const app = render(<Dashboard getStats={getStats} rate={opts.rate} db={opts.db} />, {
    stdout: process.stderr as unknown as NodeJS.WriteStream,
    exitOnCtrlC: false,
    patchConsole: false,
  })
  return () => app.unmount()
}
