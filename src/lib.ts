// The bt engine library: everything the command-line tools use, importable on its own.
export { BtError, ExitCode, errorMessage } from './errors.js'
export * from './metainfo/metainfo.js'
export * from './metainfo/magnet.js'
export { createTorrent, autoPieceLength, type CreateOptions } from './metainfo/create.js'
export { formatBytes, formatRate, formatDuration, parseSize } from './format.js'
export { readTorrentBytes, loadTorrentFile } from "./metainfo/load.js"
export { openIndex, defaultIndexPath, parseQuery, importInputs, type IndexStore, type TorrentRecord, type Classification } from './index/index.js'
export { classify } from './index/classify.js'
