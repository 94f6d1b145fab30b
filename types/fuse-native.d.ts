// The parts of fuse-native 2 that torrentfs uses. Callbacks take a return code first: 0 or a negative errno
// (read/write: the byte count).
declare module 'fuse-native' {
  namespace Fuse {
    export type Cb = (code: number) => void
    export interface Stat {
      mode: number
      size: number
      uid?: number
      gid?: number
      nlink?: number
      blksize?: number
      blocks?: number
      mtime?: Date | number
      atime?: Date | number
      ctime?: Date | number
    }
    export interface StatFs {
      bsize: number
      frsize: number
      blocks: number
      bfree: number
      bavail: number
      files: number
      ffree: number
      favail: number
      fsid: number
      flag: number
      namemax: number
    }
    export interface Operations {
      init?(cb: Cb): void
      getattr?(path: string, cb: (code: number, stat?: Stat) => void): void
      fgetattr?(path: string, fd: number, cb: (code: number, stat?: Stat) => void): void
      readdir?(path: string, cb: (code: number, names?: string[]) => void): void
      access?(path: string, mode: number, cb: Cb): void
      statfs?(path: string, cb: (code: number, statfs?: StatFs) => void): void
      open?(path: string, flags: number, cb: (code: number, fd?: number) => void): void
      opendir?(path: string, flags: number, cb: (code: number, fd?: number) => void): void
      read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb): void
      write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb): void
      release?(path: string, fd: number, cb: Cb): void
      releasedir?(path: string, fd: number, cb: Cb): void
      create?(path: string, mode: number, cb: (code: number, fd?: number) => void): void
      truncate?(path: string, size: number, cb: Cb): void
      ftruncate?(path: string, fd: number, size: number, cb: Cb): void
      utimens?(path: string, atime: number, mtime: number, cb: Cb): void
      chown?(path: string, uid: number, gid: number, cb: Cb): void
      chmod?(path: string, mode: number, cb: Cb): void
      mknod?(path: string, mode: number, dev: number, cb: Cb): void
      setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Cb): void
      removexattr?(path: string, name: string, cb: Cb): void
      unlink?(path: string, cb: Cb): void
      rename?(src: string, dest: string, cb: Cb): void
      link?(src: string, dest: string, cb: Cb): void
      symlink?(src: string, dest: string, cb: Cb): void
      mkdir?(path: string, mode: number, cb: Cb): void
      rmdir?(path: string, cb: Cb): void
    }
    export interface FuseOptions {
      /** Per-op timeout in ms; false turns it off (the default is 15 s). */
      timeout?: number | false
      debug?: boolean
      force?: boolean
      mkdir?: boolean
      autoUnmount?: boolean
      allowOther?: boolean
      fsname?: string
      subtype?: string
      maxRead?: number
      attrTimeout?: number
      entryTimeout?: number
    }
  }
  class Fuse {
    constructor(mnt: string, ops: Operations, opts?: FuseOptions)
    readonly mnt: string
    mount(cb: (err: Error | null) => void): void
    unmount(cb: (err: Error | null) => void): void
    static unmount(mnt: string, cb: (err: Error | null) => void): void
    static ENOENT: number
    static EIO: number
    static EBADF: number
    static EACCES: number
    static EROFS: number
    static EISDIR: number
    static ENOTDIR: number
    static EINVAL: number
    static EPERM: number
  }
  export = Fuse
}
