// The directory tree torrentfs shows: one entry per torrent at the root (a directory, or the file itself for a
// single-file torrent), each file mapped to its byte range in the torrent. Pad files are hidden.

import type { MountedTorrent } from './provider.js'

export interface FileNode {
  kind: 'file'
  torrent: MountedTorrent
  /** Absolute torrent offset of the file's first byte. */
  offset: number
  length: number
  mtime: Date
}

export interface DirNode {
  kind: 'dir'
  children: Map<string, FsNode>
  mtime: Date
}

export type FsNode = FileNode | DirNode

export class TorrentTree {
  readonly root: DirNode
  // Root entry name of each torrent, to remove it again.
  private readonly entries = new Map<MountedTorrent, string>()

  constructor(now = new Date()) {
    this.root = { kind: 'dir', children: new Map(), mtime: now }
  }

  get torrents(): MountedTorrent[] {
    return [...this.entries.keys()]
  }

  has(t: MountedTorrent): boolean {
    return this.entries.has(t)
  }

  /** The torrent whose info hash is `infoHash`, if shown. */
  byInfoHash(infoHash: string): MountedTorrent | undefined {
    for (const t of this.entries.keys()) if (t.metainfo.infoHash === infoHash) return t
    return undefined
  }

  /**
   * Show `t`; returns the name of its root entry. A name already taken gets the start of the info hash appended, so
   * two torrents called the same both show.
   */
  add(t: MountedTorrent, mtime: Date): string {
    if (this.entries.has(t)) throw new Error(`${t.name} is already shown`)
    const m = t.metainfo
    let name = t.name
    if (this.root.children.has(name)) name = `${t.name} (${m.infoHash.slice(0, 8)})`
    for (let i = 2; this.root.children.has(name); i++) name = `${t.name} (${m.infoHash.slice(0, 8)}-${i})`

    if (!m.multiFile) {
      const f = m.files[0]
      this.root.children.set(name, { kind: 'file', torrent: t, offset: f.offset, length: f.length, mtime })
    } else {
      const top: DirNode = { kind: 'dir', children: new Map(), mtime }
      for (const f of m.files) {
        if (f.padding) continue
        // path[0] is the torrent name; the rest is below the torrent's directory.
        let dir = top
        let ok = true
        for (let i = 1; i < f.path.length - 1 && ok; i++) {
          const child = dir.children.get(f.path[i])
          if (!child) {
            const d: DirNode = { kind: 'dir', children: new Map(), mtime }
            dir.children.set(f.path[i], d)
            dir = d
          } else if (child.kind === 'dir') {
            dir = child
          } else {
            ok = false // a file and a directory with one path: keep the first, as a disk would
          }
        }
        const leaf = f.path[f.path.length - 1]
        if (ok && !dir.children.has(leaf)) {
          dir.children.set(leaf, { kind: 'file', torrent: t, offset: f.offset, length: f.length, mtime })
        }
      }
      this.root.children.set(name, top)
    }
    this.entries.set(t, name)
    return name
  }

  remove(t: MountedTorrent): boolean {
    const name = this.entries.get(t)
    if (name === undefined) return false
    this.entries.delete(t)
    this.root.children.delete(name)
    return true
  }

  /** The node at an absolute FUSE path ("/", "/name/sub/file"), or undefined. */
  lookup(path: string): FsNode | undefined {
    if (path === '/' || path === '') return this.root
    let node: FsNode = this.root
    let from = 1
    while (from <= path.length) {
      let to = path.indexOf('/', from)
      if (to < 0) to = path.length
      if (to > from) {
        if (node.kind !== 'dir') return undefined
        const next: FsNode | undefined = node.children.get(path.slice(from, to))
        if (!next) return undefined
        node = next
      }
      from = to + 1
    }
    return node
  }
}
