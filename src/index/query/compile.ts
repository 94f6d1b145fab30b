// Full-text expressions built from parsed terms: FTS5 MATCH strings for SQLite and tsquery literals for PostgreSQL.
// Terms hold only tokens of letters and digits (see text.ts), and each token is quoted here, so no user text can
// become an operator (AND, NOT, NEAR, column filters, `*`, `^`) in either dialect. The strings are bound parameters.

import type { Term } from './types.js'

export interface TextExpression {
  /** Rows must match this (undefined: no positive terms). */
  include?: string
  /** Rows must not match this. */
  exclude?: string
}

const SAFE_TOKEN = /^[\p{L}\p{N}]+$/u

function checked(token: string): string {
  // Defence in depth: the tokenizer already guarantees this.
  if (!SAFE_TOKEN.test(token)) throw new Error(`unsafe search token ${JSON.stringify(token)}`)
  return token
}

function ftsTerm(t: Term): string {
  const phrase = `"${t.tokens.map(checked).join(' ')}"`
  return t.kind === 'prefix' ? `${phrase} *` : phrase
}

export function ftsExpression(terms: readonly Term[]): TextExpression {
  const pos = terms.filter((t) => !t.negated).map(ftsTerm)
  const neg = terms.filter((t) => t.negated).map(ftsTerm)
  return {
    include: pos.length ? pos.join(' AND ') : undefined,
    exclude: neg.length ? neg.join(' OR ') : undefined,
  }
}

function tsTerm(t: Term): string {
  const parts = t.tokens.map((tok, i) => `'${checked(tok)}'${t.kind === 'prefix' && i === t.tokens.length - 1 ? ':*' : ''}`)
  return parts.length > 1 ? `(${parts.join(' <-> ')})` : parts[0]
}

/** A tsquery literal (cast with ::tsquery, no parser or dictionary in between, as the tsvector is built the same way). */
export function tsQueryExpression(terms: readonly Term[]): TextExpression {
  const pos = terms.filter((t) => !t.negated).map(tsTerm)
  const neg = terms.filter((t) => t.negated).map(tsTerm)
  return {
    include: pos.length ? pos.join(' & ') : undefined,
    exclude: neg.length ? neg.join(' | ') : undefined,
  }
}
