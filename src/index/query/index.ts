// The query language of the search index: `parseQuery(text, options) -> Query`, shared by every search surface.
export type { Query, Term, TermKind, Filters, FilterKey, Range, SetFilter, ParseOptions } from './types.js'
export { parseQuery, applyFilter, hasText, QuerySyntaxError, FILTER_KEYS, MAX_QUERY_LENGTH, type ApplyOptions } from './parse.js'
export { tokenize, foldText } from './text.js'
export { normalizeCodec, normalizeSource, resolutionNumber, parseType, CONTENT_TYPES, RESOLUTIONS } from './values.js'
export { ftsExpression, tsQueryExpression } from './compile.js'
