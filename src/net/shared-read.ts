// TCP peer sockets, outgoing and accepted, read into one buffer shared by the whole process instead of a fresh 64 KiB
// Buffer per read (Node's default). At hundreds of MiB/s those fresh buffers are most of what the garbage collector
// does: every one is external memory that V8 answers with full collections. A consumer that parses a read before
// returning (the peer wire, see PeerWire.feed) takes the shared bytes directly and copies only what it keeps; without
// one the socket emits ordinary 'data' copies, so nothing else has to know.

import net, { type Socket, type OnReadOpts } from 'node:net'

const SHARED = Buffer.allocUnsafe(256 * 1024)
const SINK = Symbol('shared read sink')

type Sink = (bytes: Buffer) => void

function onRead(s: Socket & { [SINK]?: Sink }, n: number): boolean {
  const bytes = SHARED.subarray(0, n)
  const sink = s[SINK]
  if (sink) sink(bytes)
  else s.emit('data', Buffer.from(bytes))
  return true
}

/** The `onread` option for net.connect: reads go to the socket's sink, or out as copied 'data' events. */
export function sharedReadOption(socket: () => Socket): OnReadOpts {
  return { buffer: SHARED, callback: (n: number) => onRead(socket(), n) }
}

// Node 20's net.Server has no `onread` for the sockets it accepts. net.Socket implements `onread` with two private
// symbol-keyed fields (the user buffer and its callback) plus the handle's useUserBuffer(): found on a probe socket
// made with `onread`, the same fields can be set on an accepted socket before its first read arrives (reads are
// delivered on a later turn of the event loop than 'connection'). Where they cannot be found (another Node), accepted
// sockets keep Node's default buffers.
const userBufferFields: { buffer: symbol; callback: symbol } | null = (() => {
  try {
    const probe = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } } as net.SocketConstructorOpts)
    const syms = Object.getOwnPropertySymbols(probe)
    const buffer = syms.find((s) => s.description === 'kBuffer')
    const callback = syms.find((s) => s.description === 'kBufferCb')
    const ok = buffer && callback && (probe as any)[buffer]?.length === 1 && typeof (probe as any)[callback] === 'function'
    probe.destroy()
    return ok ? { buffer: buffer!, callback: callback! } : null
  } catch {
    return null
  }
})()

/**
 * Make an accepted socket read into the shared buffer, as sharedReadOption does for outgoing ones. Call it in the
 * server's 'connection' handler, before any read. False (and the socket untouched) when this Node does not allow it.
 */
export function shareAcceptedReads(socket: Socket): boolean {
  const handle = (socket as any)._handle
  if (!userBufferFields || !handle || typeof handle.useUserBuffer !== 'function' || (socket as any)[userBufferFields.buffer]) return false
  ;(socket as any)[userBufferFields.buffer] = SHARED
  ;(socket as any)[userBufferFields.callback] = (n: number) => onRead(socket, n)
  handle.useUserBuffer(SHARED)
  markShared(socket)
  return true
}

/**
 * Have `sink` take this socket's reads as views of the shared buffer, valid only until it returns. False when the
 * socket does not read into the shared buffer (uTP, or an accepted socket on a Node without the fields above): the
 * caller listens to 'data' instead.
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
