// `bt import` as a library: NDJSON, magnet links and .torrent files into any IndexWriter.
export { importInputs, type ImportOptions, type ImportProgress, type ImportSummary } from './importer.js'
export { recordFromJson, recordFromMagnet, recordFromTorrent } from './records.js'
export { readLines } from './lines.js'
