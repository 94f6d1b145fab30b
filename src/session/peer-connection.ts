// One connected peer from the torrent's side: attaching a handshaken wire as a Peer, what its messages mean (which
// pieces it has, what it asks of us), what we tell it once metadata is known (our pieces, allowed-fast), and what we
// take back when it goes (its share of piece availability). PEX between connected peers lives here too.

import type { PeerSocket as Socket } from '../net/utp.js'
import type { PeerAddress } from '../discovery/peer-address.js'
import type { PeerWire } from '../wire/peer-wire.js'
import { announceHaves, offerAllowedFast } from '../wire/fast.js'
import type { PexExtension } from '../wire/pex.js'
import type { PiecePicker } from './picker.js'
import { Peer } from './peer.js'

// The wire reports a peer as timed out (snubbed) after this long without an answer to a request.
export const REQUEST_TIMEOUT_MS = 12_000
// Past this, an advertised `reqq` is taken as this: a peer cannot make us keep more requests outstanding.
const MAX_PEER_REQQ = 4000

export type Respond = (err: Error | null, buf?: Uint8Array) => void

/** What a peer's messages lead to, in the torrent. Counting its pieces into the picker happens here first. */
export interface PeerEvents {
  /** The picker, once metadata is known. */
  picker(): PiecePicker | undefined
  /** Every connected peer (to recount availability). */
  peers(): Iterable<Peer>
  /** Its set of pieces grew in bulk (bitfield, have-all): interest and requests. */
  peerHas(peer: Peer): void
  /** It has a new piece, or let us request again (unchoke, allowed-fast): keep its request pipeline full. */
  canRequest(peer: Peer): void
  interested(peer: Peer): void
  uninterested(peer: Peer): void
  /** It stopped answering our requests in time. */
  snubbed(peer: Peer): void
  request(peer: Peer, index: number, offset: number, length: number, respond: Respond, wireRequest: object): void
  /** Its extended handshake arrived (reqq, listen port, ut_metadata size are known now). */
  extendedHandshake(peer: Peer): void
  /** It told us its DHT port (BEP 5). */
  dhtPort(host: string, port: number): void
  /** Its connection closed. */
  closed(peer: Peer): void
}

/** Make a handshaken connection a Peer and route its messages to `events`. */
export function attachPeer(wire: PeerWire, socket: Socket, address: PeerAddress, key: string, incoming: boolean, events: PeerEvents): Peer {
  socket.setNoDelay(true)
  socket.on('error', () => {})
  wire.on('error', () => {})
  const peer = new Peer(key, address, wire, socket, incoming)
  wire.setKeepAlive(true)
  wire.setTimeout(REQUEST_TIMEOUT_MS, true)

  wire.on('bitfield', () => {
    const p = events.picker()
    if (!p) return
    const n = countPieces(wire, p.pieceCount)
    // BEP 3 puts the bitfield first and once, but some clients (aria2) send another later. The old bits are gone
    // by now (bittorrent-protocol replaced them), so recount availability from every peer instead of guessing.
    const again = peer.sawHaves
    peer.sawHaves = true
    peer.haveCount = n
    peer.seed = n === p.pieceCount
    if (again) recountAvailability(p, events.peers())
    else p.peerBitfield((i) => wire.peerPieces.get(i), 1)
    events.peerHas(peer)
  })
  wire.on('have-all', () => {
    peer.sawHaves = true
    peer.seed = true
    const p = events.picker()
    if (p) {
      peer.haveCount = p.pieceCount
      p.peerHasAll(1)
    }
    events.peerHas(peer)
  })
  wire.on('have', (i: number) => {
    peer.sawHaves = true
    const p = events.picker()
    if (!p) return
    if (i < 0 || i >= p.pieceCount) {
      wire.violation = `have for piece ${i} of ${p.pieceCount}`
      wire.destroy()
      return
    }
    if (peer.seed) return
    peer.haveCount++
    p.peerHave(i)
    if (peer.haveCount >= p.pieceCount) peer.seed = true
    if (!wire.amInterested && p.wanted(i)) wire.interested()
    events.canRequest(peer)
  })
  wire.on('allowed-fast', () => events.canRequest(peer))
  // On 'choke', bittorrent-protocol fails the outstanding requests itself; their callbacks release the blocks.
  wire.on('unchoke', () => {
    peer.snubbed = false
    events.canRequest(peer)
  })
  wire.on('interested', () => events.interested(peer))
  wire.on('uninterested', () => events.uninterested(peer))
  wire.on('timeout', () => events.snubbed(peer))
  wire.on('request', (index: number, offset: number, length: number, respond: Respond, request: object) => events.request(peer, index, offset, length, respond, request))
  wire.on('extended', (ext: string, data: any) => {
    if (ext !== 'handshake' || !data) return
    if (typeof data.reqq === 'number' && data.reqq > 0) peer.reqq = Math.min(data.reqq, MAX_PEER_REQQ)
    events.extendedHandshake(peer)
  })
  wire.on('port', (port: number) => events.dhtPort(address.host, port))
  wire.once('close', () => {
    socket.destroy()
    events.closed(peer)
  })
  socket.once('close', () => wire.destroy())
  return peer
}

function countPieces(wire: PeerWire, pieceCount: number): number {
  let n = 0
  for (let i = 0; i < pieceCount; i++) if (wire.peerPieces.get(i)) n++
  return n
}

/**
 * Once a peer is attached and metadata is known: tell it what we have (BEP 6 have-all / have-none with a fast-extension
 * peer, a bitfield otherwise, nothing for no pieces), offer allowed-fast pieces, and count a bitfield it sent before
 * metadata was known. Have-none only right after the handshake, where BEP 6 puts it (a magnet's peers got nothing then:
 * same thing).
 */
export function greetPeer(peer: Peer, p: PiecePicker, infoHash: Uint8Array, atAttach: boolean): void {
  const wire = peer.wire
  wire.setPieceCount(p.pieceCount)
  const sent = (atAttach || p.haveCount > 0) && announceHaves(wire, p.haveCount, p.pieceCount)
  if (!sent && p.haveCount > 0) wire.bitfield(packBitfield(p.have))
  offerAllowedFast(wire, peer.address.host, infoHash, p.pieceCount, (i) => !!p.have[i])
  if (!peer.seed && peer.haveCount === 0) {
    const n = countPieces(wire, p.pieceCount)
    if (n > 0) {
      peer.haveCount = n
      peer.seed = n === p.pieceCount
      p.peerBitfield((i) => wire.peerPieces.get(i), 1)
    }
  } else if (peer.seed && peer.haveCount === 0) {
    peer.haveCount = p.pieceCount
    p.peerHasAll(1)
  }
}

/** Availability from scratch, from every peer's pieces (after a peer replaced its bitfield). */
export function recountAvailability(p: PiecePicker, peers: Iterable<Peer>): void {
  p.availability.fill(0)
  for (const other of peers) {
    if (other.haveCount === 0) continue
    if (other.seed) p.peerHasAll(1)
    else p.peerBitfield((i) => other.wire.peerPieces.get(i), 1)
  }
}

/** A peer went: its pieces no longer count. */
export function dropAvailability(p: PiecePicker, peer: Peer): void {
  if (peer.haveCount === 0) return
  if (peer.seed && peer.haveCount === p.pieceCount) p.peerHasAll(-1)
  else p.peerBitfield((i) => peer.wire.peerPieces.get(i), -1)
}

/** Where this peer accepts connections: its address for outgoing ones, its BEP 10 `p` for incoming ones. */
function connectableAddress(peer: Peer): PeerAddress | undefined {
  if (!peer.incoming) return peer.address
  const p = peer.wire.peerExtendedHandshake?.p
  return typeof p === 'number' && p > 0 && p < 65536 ? { host: peer.address.host, port: p } : undefined
}

/** Tell every PEX-capable peer about a peer that came or went. */
export function pexBroadcast(peer: Peer, peers: Iterable<Peer>, gone: boolean): void {
  const addr = connectableAddress(peer)
  if (!addr) return
  for (const other of peers) {
    if (other === peer) continue
    const pex = other.wire.ut_pex as PexExtension | undefined
    if (pex?.supported) pex.sendPeers(gone ? [] : [addr], gone ? [addr] : [])
  }
}

/** A new PEX-capable peer learns everyone we are connected to. */
export function pexIntroduce(peer: Peer, peers: Iterable<Peer>): void {
  const pex = peer.wire.ut_pex as PexExtension | undefined
  if (!pex?.supported) return
  const list: PeerAddress[] = []
  for (const other of peers) {
    if (other === peer) continue
    const a = connectableAddress(other)
    if (a) list.push(a)
  }
  if (list.length) pex.sendPeers(list, [])
}

/** BEP 3 bitfield: piece 0 is the high bit of the first byte. */
export function packBitfield(have: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.ceil(have.length / 8))
  for (let i = 0; i < have.length; i++) if (have[i]) out[i >> 3] |= 0x80 >> (i & 7)
  return out
}
