// File selection for `--select 0,2-4` and `--select-glob '*.mkv'`, and BEP 53 `so` lists.

import { BtError, ExitCode } from '../errors.js'
import type { Metainfo } from '../metainfo/metainfo.js'

/** Parse `0,2-4` into [0,2,3,4]. Throws a usage error on anything else. */
export function parseIndexList(s: string): number[] {
  const out: number[] = []
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) throw new BtError(`--select: "${part}" is not an index or a range like 2-4`, ExitCode.usage)
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (b < a) throw new BtError(`--select: range ${part} runs backwards`, ExitCode.usage)
    if (b - a > 1_000_000) throw new BtError(`--select: range ${part} is too large`, ExitCode.usage)
    for (let i = a; i <= b; i++) out.push(i)
  }
  return [...new Set(out)].sort((x, y) => x - y)
}

/** Shell-style glob: `*` within a path component, `**` across them, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*'
        i++
        if (glob[i + 1] === '/') i++
      } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/**
 * The file indices (positions in the info dict) to download, from `indices` as `bt metainfo files` lists them (pad
 * files left out, so the numbers a user sees are the numbers they type), from BEP 53 `so` positions (`fileIndices`,
 * which count every entry of the info dict) and from globs (a glob matches the path inside the torrent, or just the
 * file name when it has no slash). undefined = everything.
 */
export function resolveSelection(m: Metainfo, opts: { indices?: number[]; fileIndices?: number[]; globs?: string[] }): number[] | undefined {
  if (!opts.indices?.length && !opts.fileIndices?.length && !opts.globs?.length) return undefined
  const listed: number[] = []
  m.files.forEach((f, i) => {
    if (!f.padding) listed.push(i)
  })
  const chosen = new Set<number>()
  for (const i of opts.indices ?? []) {
    if (i >= listed.length) throw new BtError(`--select: ${m.name} has ${listed.length === 1 ? '1 file (0)' : `${listed.length} files (0-${listed.length - 1})`}; there is no file ${i}`, ExitCode.usage)
    chosen.add(listed[i])
  }
  // BEP 53: an index past the end or naming a pad file is ignored (a magnet is not the user's typing).
  for (const i of opts.fileIndices ?? []) if (i < m.files.length && !m.files[i].padding) chosen.add(i)
  for (const g of opts.globs ?? []) {
    const re = globToRegExp(g)
    const byName = !g.includes('/')
    m.files.forEach((f, i) => {
      if (f.padding) return
      const inner = (m.multiFile ? f.path.slice(1) : f.path).join('/')
      if (re.test(byName ? f.path[f.path.length - 1] : inner)) chosen.add(i)
    })
  }
  if (chosen.size === 0) throw new BtError(`--select-glob: no file of ${m.name} matches`, ExitCode.usage)
  return [...chosen].sort((a, b) => a - b)
}
