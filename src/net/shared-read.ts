// Outgoing TCP peer sockets read into one buffer shared by the whole process instead of a fresh 64 KiB Buffer per
// read (Node's default). At hundreds of MiB/s those fresh buffers are most of what the garbage collector does: every
// one is external memory that V8 answers with full collections. A consumer that parses a read before returning
// (the peer wire, see PeerWire.feed) takes the shared bytes directly and copies only what it keeps; without one
// the socket emits ordinary 'data' copies, so nothing else has to know.

import type { Socket, OnReadOpts } from 'node:net'

const SHARED = Buffer.allocUnsafe(256 * 1024)
const SINK = Symbol('shared read sink')

type Sink = (bytes: Buffer) => void

/** The `onread` option for net.connect: reads go to the socket's sink, or out as copied 'data' events. */
export function sharedReadOption(socket: () => Socket): OnReadOpts {
  return {
    buffer: SHARED,
    callback: (n: number, buf: Uint8Array) => {
      const s = socket() as Socket & { [SINK]?: Sink }
      const bytes = (buf as Buffer).subarray(0, n)
      const sink = s[SINK]
      if (sink) sink(bytes)
      else s.emit('data', Buffer.from(bytes))
      return true
    },
  }
}

/**
 * Have `sink` take this socket's reads as views of the shared buffer, valid only until it returns. False when the
 * socket does not read into the shared buffer (incoming, uTP): the caller listens to 'data' instead.
 */
export function takeSharedReads(socket: object, sink: Sink): boolean {
  if (!sharedSockets.has(socket)) return false
  ;(socket as { [SINK]?: Sink })[SINK] = sink
  return true
}

const sharedSockets = new WeakSet<object>()

/** Mark a socket made with sharedReadOption. */
export function markShared(socket: object): void {
  sharedSockets.add(socket)
}

/** True when `bytes` lie in the shared read buffer (so must be copied to be kept). */
export function inSharedBuffer(bytes: Uint8Array): boolean {
  return bytes.buffer === SHARED.buffer
}
