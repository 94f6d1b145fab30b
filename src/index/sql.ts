// Filters → SQL WHERE fragments with bound parameters, shared by the SQLite and PostgreSQL stores (their columns
// have the same names and forms). Values only ever travel as parameters; the fragments are fixed text.

import type { Filters, Range, SetFilter } from './query/types.js'
import { typeCode } from './record.js'

export class Params {
  readonly values: unknown[] = []
  constructor(private readonly style: 'sqlite' | 'pg') {}
  /** Bind a value; returns its placeholder. */
  p(v: unknown): string {
    this.values.push(v)
    return this.style === 'pg' ? `$${this.values.length}` : '?'
  }
  list(vs: readonly unknown[]): string {
    return vs.map((v) => this.p(v)).join(', ')
  }
  contains(column: string, needle: string): string {
    return this.style === 'pg' ? `strpos(${column}, ${this.p(needle)}) > 0` : `instr(${column}, ${this.p(needle)}) > 0`
  }
}

function range(b: Params, column: string, r: Range | undefined, out: string[]): void {
  if (!r) return
  if (r.min !== undefined) out.push(`${column} >= ${b.p(r.min)}`)
  if (r.max !== undefined) out.push(`${column} <= ${b.p(r.max)}`)
}

function inSet<T>(b: Params, columns: string[], s: SetFilter<T> | undefined, out: string[], map: (v: T) => unknown = (v) => v): void {
  if (!s) return
  if (s.any?.length) out.push('(' + columns.map((c) => `${c} IN (${b.list(s.any!.map(map))})`).join(' OR ') + ')')
  if (s.none?.length) for (const c of columns) out.push(`(${c} IS NULL OR ${c} NOT IN (${b.list(s.none.map(map))}))`)
}

/** Values kept as ",a,b," lists: any of the wanted values, none of the unwanted. */
function inList(b: Params, column: string, any: readonly (string | number)[] | undefined, none: readonly (string | number)[] | undefined, out: string[]): void {
  if (any?.length) out.push('(' + any.map((v) => b.contains(column, `,${v},`)).join(' OR ') + ')')
  if (none?.length) out.push(`(${column} IS NULL OR NOT (` + none.map((v) => b.contains(column, `,${v},`)).join(' OR ') + '))')
}

/**
 * WHERE conditions for the filters (joined with AND by the caller). `dates` writes the `added:` condition, as the
 * stores keep dates differently (SQLite in the row key, PostgreSQL in a column).
 */
export function filterConditions(b: Params, f: Filters, dates: (r: Range, out: string[]) => void, alias = 't'): string[] {
  const c = (name: string) => `${alias}.${name}`
  const out: string[] = []
  inSet(b, [c('type')], f.types, out, typeCode)
  range(b, c('year'), f.year, out)
  inSet(b, [c('res')], f.resolutions, out)
  inSet(b, [c('source')], f.sources, out)
  inSet(b, [c('vcodec'), c('acodec')], f.codecs, out)
  inList(b, c('langs'), f.languages?.any, f.languages?.none, out)
  inSet(b, [`lower(${c('grp')})`], f.groups, out)
  range(b, c('size'), f.size, out)
  inList(b, c('seasons'), f.seasons, undefined, out)
  inList(b, c('episodes'), f.episodes, undefined, out)
  if (f.added) dates(f.added, out)
  return out
}
