// The bt engine library: everything the command-line tools use, importable on its own.
export { BtError, ExitCode, errorMessage } from './errors.js'
export * from './metainfo/metainfo.js'
export * from './metainfo/magnet.js'
export { createTorrent, autoPieceLength, type CreateOptions } from './metainfo/create.js'
export { formatBytes, formatRate, formatDuration, parseSize } from './format.js'
export { readTorrentBytes, loadTorrentFile } from "./metainfo/load.js"
