// The search index as a library: open a store (SQLite or PostgreSQL), parse queries, import records.
export { openIndex, defaultIndexPath, isPostgresUrl } from './open.js'
export * from './types.js'
export * from './query/index.js'
export { importInputs, recordFromJson, recordFromMagnet, recordFromTorrent, type ImportOptions, type ImportProgress, type ImportSummary } from './import/index.js'
export { encodeFiles, decodeFiles } from './files.js'
