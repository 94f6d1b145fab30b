// ut_metadata between two bittorrent-protocol wires over TCP on 127.0.0.1: a real info dict arrives byte for byte;
// hostile peers (huge metadata_size, wrong hash, wrong-size pieces, request floods) are refused; a peer that drops
// requests while a reply is pending (rtorrent) is asked one piece at a time; lost requests are asked again after a
// per-request timeout; pieces survive the peer that sent them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import bencode from 'bencode'
import Wire, { type ExtensionClass } from 'bittorrent-protocol'
import { metadataExtension, MetadataAssembly, METADATA_PIECE_SIZE, type MetadataExtension } from '../../src/wire/metadata.js'
import { createTorrent } from '../../src/metainfo/create.js'
import { parseTorrent } from '../../src/metainfo/metainfo.js'
import { bdecode, isDict } from '../../src/metainfo/bdecode.js'
import { tmpDir, writeRandomFile } from '../helpers/tmp.js'

const closers: Array<() => void> = []
test.after.each(() => {
  while (closers.length) closers.pop()!()
})

/** Two wires joined by a real TCP connection; `seeder` accepts, `fetcher` dials. */
async function wirePair(infoHash: Buffer, seederExts: ExtensionClass[], fetcherExts: ExtensionClass[]): Promise<{ seeder: Wire; fetcher: Wire }> {
  const sockets: Socket[] = []
  let seeder!: Wire
  const accepted = new Promise<void>((resolve) => {
    const server: Server = createServer((sock) => {
      sockets.push(sock)
      seeder = new Wire()
      sock.pipe(seeder).pipe(sock)
      sock.on('error', () => {})
      for (const e of seederExts) seeder.use(e)
      seeder.once('handshake', () => seeder.handshake(infoHash, randomBytes(20)))
      resolve()
    })
    closers.push(() => server.close())
    server.listen(0, '127.0.0.1', () => {
      const sock = connect((server.address() as { port: number }).port, '127.0.0.1')
      sockets.push(sock)
      sock.on('error', () => {})
      const fetcher = new Wire()
      sock.pipe(fetcher).pipe(sock)
      for (const e of fetcherExts) fetcher.use(e)
      fetcher.handshake(infoHash, randomBytes(20))
      fetcherWire = fetcher
    })
  })
  let fetcherWire!: Wire
  closers.push(() => {
    for (const s of sockets) s.destroy()
    seeder?.destroy()
    fetcherWire?.destroy()
  })
  await accepted
  return { seeder, fetcher: fetcherWire }
}

/** A peer-side ut_metadata we script: advertises `size`, and answers each message with `answer`. */
function scripted(size: unknown, answer: (wire: Wire, msg: Record<string, any>) => void, log: Record<string, any>[] = []): ExtensionClass {
  class Scripted {
    declare name: string
    wire: Wire
    constructor(wire: Wire) {
      this.wire = wire
      if (size !== undefined) wire.extendedHandshake.metadata_size = size
    }
    onMessage(buf: Uint8Array) {
      const { value, end } = bdecode(buf, { allowTrailing: true })
      if (!isDict(value)) return
      const msg = { ...value, trailer: Buffer.from(buf.subarray(end)) }
      log.push(msg)
      answer(this.wire, msg)
    }
  }
  ;(Scripted.prototype as { name: string }).name = 'ut_metadata'
  return Scripted as unknown as ExtensionClass
}

function sendRaw(wire: Wire, dict: Record<string, unknown>, payload?: Uint8Array) {
  const head = Buffer.from(bencode.encode(dict))
  wire.extended('ut_metadata', payload ? Buffer.concat([head, payload]) : head)
}

interface Outcome { info?: Buffer; bad?: string; giveUp?: string }

function fetcherExt(infoHash: Buffer, extra: Partial<Parameters<typeof metadataExtension>[0]> = {}): { ext: ExtensionClass; outcome: Promise<Outcome> } {
  let resolve!: (o: Outcome) => void
  const outcome = new Promise<Outcome>((r) => { resolve = r })
  const timer = setTimeout(() => resolve({}), 5000)
  closers.push(() => clearTimeout(timer))
  const ext = metadataExtension({
    infoHash,
    getInfo: () => undefined,
    onMetadata: (info) => resolve({ info }),
    onBadMetadata: (_w, reason) => resolve({ bad: reason }),
    onGiveUp: (_w, reason) => resolve({ giveUp: reason }),
    ...extra,
  })
  return { ext, outcome }
}

let bigInfo: Buffer // three metadata pieces, the last one partial
let bigHash: Buffer
let smallInfo: Buffer
let smallHash: Buffer

test.before(async () => {
  const dir = tmpDir()
  const root = join(dir, 'album')
  mkdirSync(root)
  for (let i = 0; i < 500; i++) writeRandomFile(join(root, `track ${String(i).padStart(3, '0')} - a rather long title for a file.flac`), 100 + i, i + 1)
  const big = parseTorrent(await createTorrent(root, { pieceLength: 16384 }))
  bigInfo = big.infoBuffer
  bigHash = Buffer.from(big.infoHash, 'hex')
  writeRandomFile(join(dir, 'one.bin'), 300000, 9)
  const small = parseTorrent(await createTorrent(join(dir, 'one.bin'), { pieceLength: 16384 }))
  smallInfo = small.infoBuffer
  smallHash = Buffer.from(small.infoHash, 'hex')
})

test('test data: the big info dict spans three metadata pieces, the small one fits in one', () => {
  assert.is(Math.ceil(bigInfo.length / METADATA_PIECE_SIZE), 3)
  assert.ok(bigInfo.length % METADATA_PIECE_SIZE !== 0)
  assert.ok(smallInfo.length < METADATA_PIECE_SIZE)
  assert.ok(createHash('sha1').update(bigInfo).digest().equals(bigHash))
})

for (const which of ['big', 'small'] as const) {
  test(`fetches a real ${which} info dict byte for byte over TCP`, async () => {
    const info = which === 'big' ? bigInfo : smallInfo
    const hash = which === 'big' ? bigHash : smallHash
    const seeder = metadataExtension({ infoHash: hash, getInfo: () => info, onMetadata: () => assert.unreachable('seeder fetched') })
    const { ext, outcome } = fetcherExt(hash)
    const { fetcher } = await wirePair(hash, [seeder], [ext])
    const got = await outcome
    assert.ok(got.info, JSON.stringify(got))
    assert.ok(got.info!.equals(info))
    assert.is((fetcher.ut_metadata as MetadataExtension).peerMetadataSize, info.length)
  })
}

test('both sides learn from each other: the seeder side advertises metadata_size, fetch:false waits for fetch()', async () => {
  const seeder = metadataExtension({ infoHash: bigHash, getInfo: () => bigInfo, onMetadata: () => {} })
  const { ext, outcome } = fetcherExt(bigHash, { fetch: false })
  const { seeder: sw, fetcher } = await wirePair(bigHash, [seeder], [ext])
  await new Promise((r) => setTimeout(r, 150))
  const mine = fetcher.ut_metadata as MetadataExtension
  assert.is(mine.peerMetadataSize, bigInfo.length)
  assert.is(sw.peerExtendedHandshake.metadata_size, undefined) // the fetcher has nothing to offer
  mine.fetch()
  const got = await outcome
  assert.ok(got.info?.equals(bigInfo))
})

test('a peer advertising a 1 GB metadata_size is refused before any request or allocation', async () => {
  const log: Record<string, any>[] = []
  const before = process.memoryUsage().arrayBuffers
  const { ext, outcome } = fetcherExt(bigHash)
  await wirePair(bigHash, [scripted(1_000_000_000, () => {}, log)], [ext])
  const got = await outcome
  assert.match(got.bad ?? '', /metadata_size 1000000000/)
  await new Promise((r) => setTimeout(r, 100))
  assert.is(log.length, 0, 'no request reached the hostile peer')
  assert.ok(process.memoryUsage().arrayBuffers - before < 50 * 1024 * 1024)
})

test('zero, negative and non-integer metadata_size are refused', async () => {
  for (const size of [0, -5, '16384'] as unknown[]) {
    const { ext, outcome } = fetcherExt(bigHash)
    await wirePair(bigHash, [scripted(size as number, () => {})], [ext])
    const got = await outcome
    assert.match(got.bad ?? '', /metadata_size/, `size ${size}`)
  }
})

test('metadata whose hash does not match is rejected', async () => {
  const fake = Buffer.from(bigInfo)
  fake[fake.length - 10] ^= 1
  const serve = (wire: Wire, msg: Record<string, any>) => {
    const start = msg.piece * METADATA_PIECE_SIZE
    sendRaw(wire, { msg_type: 1, piece: msg.piece, total_size: fake.length }, fake.subarray(start, start + METADATA_PIECE_SIZE))
  }
  const { ext, outcome } = fetcherExt(bigHash)
  await wirePair(bigHash, [scripted(fake.length, serve)], [ext])
  const got = await outcome
  assert.is(got.info, undefined)
  assert.match(got.bad ?? '', /does not match/)
})

test('pieces of the wrong size are rejected (short middle piece, long last piece)', async () => {
  for (const [badPiece, delta] of [[1, -100], [2, +5]]) {
    const serve = (wire: Wire, msg: Record<string, any>) => {
      const start = msg.piece * METADATA_PIECE_SIZE
      let data = bigInfo.subarray(start, start + METADATA_PIECE_SIZE)
      if (msg.piece === badPiece) data = delta < 0 ? data.subarray(0, data.length + delta) : Buffer.concat([data, Buffer.alloc(delta)])
      sendRaw(wire, { msg_type: 1, piece: msg.piece, total_size: bigInfo.length }, data)
    }
    const { ext, outcome } = fetcherExt(bigHash)
    await wirePair(bigHash, [scripted(bigInfo.length, serve)], [ext])
    const got = await outcome
    assert.match(got.bad ?? '', new RegExp(`piece ${badPiece} has`), JSON.stringify(got))
  }
})

test('a total_size that disagrees with metadata_size is rejected; unasked-for pieces are ignored', async () => {
  const serve = (wire: Wire, msg: Record<string, any>) => {
    sendRaw(wire, { msg_type: 1, piece: 99, total_size: bigInfo.length }, Buffer.alloc(100)) // ignored
    sendRaw(wire, { msg_type: 1, piece: -1, total_size: bigInfo.length }, Buffer.alloc(100)) // ignored
    const start = msg.piece * METADATA_PIECE_SIZE
    sendRaw(wire, { msg_type: 1, piece: msg.piece, total_size: bigInfo.length + 1 }, bigInfo.subarray(start, start + METADATA_PIECE_SIZE))
  }
  const { ext, outcome } = fetcherExt(bigHash)
  await wirePair(bigHash, [scripted(bigInfo.length, serve)], [ext])
  const got = await outcome
  assert.match(got.bad ?? '', /total_size/)
})

test('a reject, a peer without metadata, and a silent peer end in onGiveUp, not onBadMetadata', async () => {
  const cases: Array<[ExtensionClass, RegExp]> = [
    [scripted(bigInfo.length, (wire, msg) => sendRaw(wire, { msg_type: 2, piece: msg.piece })), /rejected/],
    [scripted(undefined, () => {}), /no metadata/],
    [scripted(bigInfo.length, () => {}), /2 metadata requests unanswered/],
  ]
  for (const [peer, want] of cases) {
    const { ext, outcome } = fetcherExt(bigHash, { requestTimeout: 150 })
    await wirePair(bigHash, [peer], [ext])
    const got = await outcome
    assert.match(got.giveUp ?? '', want, JSON.stringify(got))
  }
})

test('serving: garbage is ignored, bad indexes rejected, a request flood gets rejects after a bounded number of pieces', async () => {
  const log: Record<string, any>[] = []
  const seeder = metadataExtension({ infoHash: bigHash, getInfo: () => bigInfo, onMetadata: () => {} })
  const { fetcher } = await wirePair(bigHash, [seeder], [scripted(undefined, () => {}, log)])
  await new Promise((r) => setTimeout(r, 100))
  assert.is(fetcher.peerExtendedHandshake.metadata_size, bigInfo.length)
  fetcher.extended('ut_metadata', Buffer.from([0xff, 0xfe, 0x00, 0x65, 0x65])) // not bencode
  fetcher.extended('ut_metadata', Buffer.from('li0ei1ee'))
  fetcher.extended('ut_metadata', Buffer.from(bencode.encode({ msg_type: 0, piece: 'x' })))
  sendRaw(fetcher, { msg_type: 0, piece: 3 })
  sendRaw(fetcher, { msg_type: 0, piece: -1 })
  for (let i = 0; i < 200; i++) sendRaw(fetcher, { msg_type: 0, piece: i % 3 })
  const deadline = Date.now() + 3000
  while (log.length < 202 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  assert.is(log.length, 202)
  assert.equal(log.slice(0, 2).map((m) => [m.msg_type, m.piece]), [[2, 3], [2, -1]])
  const data = log.filter((m) => m.msg_type === 1)
  assert.is(data.length, 3 * 3 + 8)
  for (const m of data) {
    const start = m.piece * METADATA_PIECE_SIZE
    assert.ok(m.trailer.equals(bigInfo.subarray(start, start + METADATA_PIECE_SIZE)))
    assert.is(m.total_size, bigInfo.length)
  }
  assert.is(log.filter((m) => m.msg_type === 2).length, 202 - data.length)
})

test('a seeder without the info dict rejects requests', async () => {
  const log: Record<string, any>[] = []
  const seeder = metadataExtension({ infoHash: bigHash, getInfo: () => undefined, onMetadata: () => {}, fetch: false })
  const { fetcher } = await wirePair(bigHash, [seeder], [scripted(undefined, () => {}, log)])
  await new Promise((r) => setTimeout(r, 100))
  sendRaw(fetcher, { msg_type: 0, piece: 0 })
  const deadline = Date.now() + 2000
  while (log.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  assert.equal(log.map((m) => [m.msg_type, m.piece]), [[2, 0]])
})

/**
 * A seeder that behaves like rtorrent (rakshasa libtorrent's ut_metadata): its reply goes out `replyMs` after the
 * request, and a request that arrives while a reply is pending is dropped without a word. `dropFirst` pieces are also
 * dropped the first time they are asked for (a lost request). Counts what it dropped.
 */
function rtorrentLike(info: Buffer, log: Record<string, any>[], opts: { replyMs?: number; dropFirst?: number[] } = {}) {
  const stats = { dropped: 0, served: 0 }
  let pending = false
  const lose = new Set(opts.dropFirst ?? [])
  const ext = scripted(info.length, (wire, msg) => {
    if (msg.msg_type !== 0) return
    if (pending) return void stats.dropped++
    if (lose.delete(msg.piece)) return
    pending = true
    setTimeout(() => {
      pending = false
      const start = msg.piece * METADATA_PIECE_SIZE
      stats.served++
      try { sendRaw(wire, { msg_type: 1, piece: msg.piece, total_size: info.length }, info.subarray(start, start + METADATA_PIECE_SIZE)) } catch {}
    }, opts.replyMs ?? 30)
  }, log)
  return { ext, stats }
}

test('a peer that drops requests while a reply is pending (rtorrent) gets one request at a time and delivers', async () => {
  const log: Record<string, any>[] = []
  const peer = rtorrentLike(bigInfo, log)
  const started = Date.now()
  const { ext, outcome } = fetcherExt(bigHash, { requestTimeout: 2000 })
  await wirePair(bigHash, [peer.ext], [ext])
  const got = await outcome
  assert.ok(got.info?.equals(bigInfo), JSON.stringify(got))
  assert.is(peer.stats.dropped, 0, 'no request arrived while a reply was pending')
  assert.equal(log.map((m) => m.piece), [0, 1, 2], 'each piece asked for once, in order')
  assert.ok(Date.now() - started < 1500, 'no request had to time out')
})

test('a request the peer silently dropped is asked again after the per-request timeout, only that one', async () => {
  const log: Record<string, any>[] = []
  const peer = rtorrentLike(bigInfo, log, { dropFirst: [1] })
  const started = Date.now()
  const { ext, outcome } = fetcherExt(bigHash, { requestTimeout: 300 })
  await wirePair(bigHash, [peer.ext], [ext])
  const got = await outcome
  assert.ok(got.info?.equals(bigInfo), JSON.stringify(got))
  assert.equal(log.map((m) => m.piece), [0, 1, 1, 2])
  const ms = Date.now() - started
  assert.ok(ms >= 300 && ms < 2000, `${ms} ms`)
})

test('pieces received before a peer gave up are kept: the next peer is asked only for the missing ones', async () => {
  const assembly = new MetadataAssembly(bigHash)
  // First peer: answers piece 0, then goes silent.
  const firstLog: Record<string, any>[] = []
  let answered = 0
  const first = scripted(bigInfo.length, (wire, msg) => {
    if (answered++ > 0) return
    sendRaw(wire, { msg_type: 1, piece: msg.piece, total_size: bigInfo.length }, bigInfo.subarray(0, METADATA_PIECE_SIZE))
  }, firstLog)
  const a = fetcherExt(bigHash, { requestTimeout: 150, assembly })
  await wirePair(bigHash, [first], [a.ext])
  const gave = await a.outcome
  assert.match(gave.giveUp ?? '', /unanswered/, JSON.stringify(gave))
  assert.is(assembly.received(bigInfo.length), 1)
  // Second peer, same assembly: asked for pieces 1 and 2 only.
  const secondLog: Record<string, any>[] = []
  const second = rtorrentLike(bigInfo, secondLog)
  const b = fetcherExt(bigHash, { requestTimeout: 2000, assembly })
  await wirePair(bigHash, [second.ext], [b.ext])
  const got = await b.outcome
  assert.ok(got.info?.equals(bigInfo), JSON.stringify(got))
  assert.equal(secondLog.map((m) => m.piece), [1, 2])
  assert.equal(firstLog.map((m) => m.piece), [0, 1, 1])
})

test('two peers on one assembly ask for different pieces and finish together', async () => {
  const assembly = new MetadataAssembly(bigHash)
  const logs: Record<string, any>[][] = [[], []]
  const peers = logs.map((l) => rtorrentLike(bigInfo, l, { replyMs: 80 }))
  const a = fetcherExt(bigHash, { requestTimeout: 2000, assembly })
  const b = fetcherExt(bigHash, { requestTimeout: 2000, assembly })
  await Promise.all([wirePair(bigHash, [peers[0].ext], [a.ext]), wirePair(bigHash, [peers[1].ext], [b.ext])])
  const got = await Promise.race([a.outcome, b.outcome])
  assert.ok(got.info?.equals(bigInfo), JSON.stringify(got))
  const asked = [...logs[0], ...logs[1]].map((m) => m.piece).sort()
  assert.equal(asked, [0, 1, 2], 'no piece asked twice')
  assert.ok(logs[0].length > 0 && logs[1].length > 0, 'both peers were asked')
})

test('MetadataAssembly: distinct pieces per owner, release wakes waiters, mixed-source mismatch names the sources', () => {
  const size = 2 * METADATA_PIECE_SIZE + 100
  const info = Buffer.alloc(size, 7)
  const hash = createHash('sha1').update(info).digest()
  const asm = new MetadataAssembly(hash)
  const A = {}
  const B = {}
  assert.is(asm.next(size, A), 0)
  assert.is(asm.next(size, B), 1)
  assert.is(asm.next(size, A), 2)
  assert.is(asm.next(size, B), undefined)
  let woke = 0
  asm.wait(B, () => woke++)
  asm.release(A, 2)
  assert.is(woke, 1)
  assert.is(asm.next(size, B), 2)
  const piece = (i: number) => info.subarray(i * METADATA_PIECE_SIZE, (i + 1) * METADATA_PIECE_SIZE)
  assert.equal(asm.add(size, 0, piece(0), A), { kind: 'more' })
  assert.equal(asm.add(size, 0, piece(0), B), { kind: 'ignored' }, 'a piece is kept once')
  assert.equal(asm.add(size, 1, Buffer.alloc(5), B), { kind: 'ignored' }, 'wrong length')
  assert.equal(asm.add(size, 1, piece(1), B), { kind: 'more' })
  const bad = Buffer.from(piece(2))
  bad[0] ^= 1
  const res = asm.add(size, 2, bad, B)
  assert.is(res.kind, 'mismatch')
  assert.is((res as { sources: object[] }).sources.length, 2)
  assert.is(asm.received(size), 0, 'all pieces dropped after a mismatch')
  for (let i = 0; i < 3; i++) asm.next(size, A)
  asm.add(size, 0, piece(0), A)
  asm.add(size, 1, piece(1), A)
  const done = asm.add(size, 2, piece(2), A)
  assert.is(done.kind, 'done')
  assert.ok(asm.info?.equals(info))
  assert.is(asm.next(size, B), undefined, 'nothing to ask once done')
  // At most a few different sizes are tracked at once.
  const many = new MetadataAssembly(hash)
  for (let s = 1; s <= 4; s++) assert.ok(many.accepts(s * 1000) && many.next(s * 1000, A) === 0)
  assert.not.ok(many.accepts(5000))
  assert.is(many.next(5000, A), undefined)
})

test('options are checked', () => {
  assert.throws(() => metadataExtension({ infoHash: Buffer.alloc(5), getInfo: () => undefined, onMetadata: () => {} }))
  const ext = metadataExtension({ infoHash: bigHash, getInfo: () => undefined, onMetadata: () => {} })
  assert.is(ext.prototype.name, 'ut_metadata')
})

test.run()
