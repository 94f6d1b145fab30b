// BEP 51 server side: the sampler's rules, a DhtNode answering `sample_infohashes` sent from a raw k-rpc/UDP socket
// (and from python3-libtorrent's DHT), the same answer from a Client's DHT node as `bt download` runs it, and
// malformed queries dropped.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { DhtNode } from '../../src/discovery/dht.js'
import { InfoHashSampler, SAMPLE_COUNT } from '../../src/discovery/dht-sample.js'
import { LT_PYTHON } from '../helpers/libtorrent.js'
import { startDhtSwarm, type DhtSwarm } from '../helpers/dht-swarm.js'
import { startClient, stopAll } from '../helpers/swarm.js'
import { within } from '../helpers/wait.js'

let swarm: DhtSwarm
const extra: DhtNode[] = []
let sock: Socket
const replies = new Map<string, (m: any) => void>()
let tid = 0

test.before(async () => {
  swarm = await startDhtSwarm(8)
  sock = createSocket('udp4')
  sock.on('message', (buf) => {
    let m: any
    try { m = bencode.decode(buf) } catch { return }
    const t = Buffer.from(m.t).toString('hex')
    replies.get(t)?.(m)
  })
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
})

test.after(async () => {
  await Promise.all(extra.map((d) => d.destroy()))
  await stopAll()
  sock?.close()
  await swarm?.stop()
})

/** One k-rpc query from our raw socket; resolves with the reply, or undefined after ms. */
function query(port: number, q: string, a: Record<string, unknown>, ms = 1000): Promise<any | undefined> {
  const t = Buffer.alloc(2)
  t.writeUInt16BE(++tid & 0xffff)
  const key = t.toString('hex')
  return new Promise((resolve) => {
    const timer = setTimeout(() => { replies.delete(key); resolve(undefined) }, ms)
    replies.set(key, (m) => { clearTimeout(timer); replies.delete(key); resolve(m) })
    sock.send(Buffer.from(bencode.encode({ t, y: 'q', q, a })), port, '127.0.0.1')
  })
}

const myId = randomBytes(20)

/** Announce `hashes` to the node at port as a peer would: get_peers for a token, then announce_peer. */
async function announceTo(port: number, hashes: Buffer[]): Promise<void> {
  for (const info_hash of hashes) {
    const gp = await query(port, 'get_peers', { id: myId, info_hash })
    assert.ok(gp?.r?.token, 'get_peers answered with a token')
    const ap = await query(port, 'announce_peer', { id: myId, info_hash, port: 6881, token: gp.r.token })
    assert.ok(ap?.r, 'announce_peer accepted')
  }
}

function samplesOf(r: any): string[] {
  const buf = Buffer.from(r.samples)
  assert.is(buf.length % 20, 0)
  const out: string[] = []
  for (let i = 0; i < buf.length; i += 20) out.push(buf.subarray(i, i + 20).toString('hex'))
  return out
}

test('sampler: everything while it fits, then one random subset per interval; hashes expire', () => {
  let now = 1_000_000
  const s = new InfoHashSampler({ ttl: 60_000, interval: 10, now: () => now, max: 50 })
  const hashes = Array.from({ length: 30 }, () => randomBytes(20))
  for (const h of hashes.slice(0, 5)) s.add(h)
  assert.is(s.num, 5)
  assert.is(s.samples().length, 5 * 20)
  for (const h of hashes.slice(5)) s.add(h)
  s.add(hashes[0]) // again: counted once
  assert.is(s.num, 30)
  const first = s.samples()
  assert.is(first.length, SAMPLE_COUNT * 20)
  const picked = new Set<string>()
  for (let i = 0; i < first.length; i += 20) picked.add(first.subarray(i, i + 20).toString('hex'))
  assert.is(picked.size, SAMPLE_COUNT)
  const all = new Set(hashes.map((h) => h.toString('hex')))
  for (const p of picked) assert.ok(all.has(p))
  now += 5_000
  assert.ok(s.samples().equals(first), 'the same subset within the interval')
  now += 5_000
  let changed = false
  for (let i = 0; i < 5 && !changed; i++) { now += 10_000; changed = !s.samples().equals(first) }
  assert.ok(changed, 'a new subset after the interval')
  // Expiry: hashes not announced again within the ttl go; hashes[0] was re-announced last, so it goes last.
  now += 60_000
  assert.is(s.num, 0)
  const bounded = new InfoHashSampler({ max: 10, now: () => now })
  for (const h of hashes) bounded.add(h)
  assert.is(bounded.num, 10)
})

test('a DhtNode answers sample_infohashes from a raw UDP socket: interval, num, 20 samples, closest nodes', async () => {
  const d = new DhtNode({ host: '127.0.0.1', bootstrap: swarm.bootstrap })
  extra.push(d)
  const port = await d.listen()
  await d.ready()
  // Nothing announced yet: num 0, no samples, still nodes.
  const empty = await query(port, 'sample_infohashes', { id: myId, target: randomBytes(20) })
  assert.ok(empty?.r, 'answered')
  assert.is(empty.r.num, 0)
  assert.is(Buffer.from(empty.r.samples).length, 0)

  const hashes = Array.from({ length: 30 }, () => randomBytes(20))
  await announceTo(port, hashes)
  assert.is(d.stats().stored, 30)
  const target = randomBytes(20)
  const res = await query(port, 'sample_infohashes', { id: myId, target })
  assert.ok(res?.r, 'answered')
  assert.ok(Buffer.from(res.r.id).equals(d.nodeId!))
  assert.is(res.r.interval, 300)
  assert.is(res.r.num, 30)
  const samples = samplesOf(res.r)
  assert.is(samples.length, 20)
  assert.is(new Set(samples).size, 20)
  const announced = new Set(hashes.map((h) => h.toString('hex')))
  for (const s of samples) assert.ok(announced.has(s), `${s} was never announced`)
  const nodes = Buffer.from(res.r.nodes)
  assert.ok(nodes.length > 0 && nodes.length % 26 === 0 && nodes.length <= 8 * 26, `nodes ${nodes.length} bytes`)
  // The nodes are the closest the node knows to the target.
  const closest = d.krpc!.nodes.closest(target, 8).map((n) => n.id.toString('hex'))
  for (let i = 0; i < nodes.length; i += 26) assert.ok(closest.includes(nodes.subarray(i, i + 20).toString('hex')))
  const datagram = bencode.encode({ t: 'xx', y: 'r', r: res.r })
  assert.ok(datagram.length < 1280, `answer of ${datagram.length} bytes`)
})

test('malformed sample_infohashes queries are dropped; the node keeps answering', async () => {
  const d = new DhtNode({ host: '127.0.0.1', bootstrap: false })
  extra.push(d)
  const port = await d.listen()
  assert.is(await query(port, 'sample_infohashes', { id: myId }, 200), undefined)
  assert.is(await query(port, 'sample_infohashes', { id: myId, target: 'short' }, 200), undefined)
  assert.is(await query(port, 'sample_infohashes', { id: myId, target: 12 }, 200), undefined)
  assert.is(await query(port, 'sample_infohashes', { id: 5, target: randomBytes(20) }, 200), undefined)
  const ok = await query(port, 'sample_infohashes', { id: myId, target: randomBytes(20) })
  assert.is(ok?.r?.num, 0)
})

test('the DHT node of a Client (as `bt download` runs it) answers sample_infohashes', async () => {
  const c = await startClient({ dht: { bootstrap: swarm.bootstrap, statePath: `/tmp/bt-sample-${process.pid}-${Date.now()}.json` } })
  const port = c.dht!.port!
  const h = randomBytes(20)
  await announceTo(port, [h])
  const res = await query(port, 'sample_infohashes', { id: myId, target: randomBytes(20) })
  assert.is(res?.r?.num, 1)
  assert.equal(samplesOf(res.r), [h.toString('hex')])
})

test('python3-libtorrent sends sample_infohashes to a bt node and reads the answer', async () => {
  const d = new DhtNode({ host: '127.0.0.1', bootstrap: swarm.bootstrap })
  extra.push(d)
  const port = await d.listen()
  await d.ready()
  const hashes = Array.from({ length: 3 }, () => randomBytes(20))
  await announceTo(port, hashes)
  const script = `
import sys, time, json, libtorrent as lt
port = int(sys.argv[1])
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': True, 'dht_bootstrap_nodes': '127.0.0.1:%d' % port,
  'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False, 'enable_ip_notifier': False,
  'dht_restrict_routing_ips': False, 'dht_restrict_search_ips': False,
  'alert_mask': lt.alert.category_t.dht_operation_notification | lt.alert.category_t.dht_notification})
deadline = time.time() + 10
next_send = 0
while time.time() < deadline:
    # Queries issued before the DHT runs are dropped: ask once a second until the answer comes.
    if time.time() >= next_send:
        ses.dht_sample_infohashes(('127.0.0.1', port), lt.sha1_hash(bytes(20)))
        next_send = time.time() + 1
    time.sleep(0.05)  # not wait_for_alert: its binding can return a stale alert and crash (see lt_node.py)
    for a in ses.pop_alerts():
        sys.stderr.write(a.message() + chr(10))
        if isinstance(a, lt.dht_sample_infohashes_alert):
            print(json.dumps({'num': a.num_infohashes, 'interval': a.interval.total_seconds() if hasattr(a.interval, 'total_seconds') else a.interval,
                              'samples': [str(s) for s in a.samples], 'nodes': a.num_nodes}))
            sys.exit(0)
sys.exit(3)
`
  const child = spawn(LT_PYTHON, ['-c', script, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (x) => (out += x))
  child.stderr.on('data', (x) => (err += x))
  const code = await within(new Promise<number | null>((r) => child.on('close', r)), 20_000, 'libtorrent script hung').finally(() => child.kill('SIGKILL'))
  assert.is(code, 0, `libtorrent: ${out}${err}`)
  const got = JSON.parse(out.trim().split('\n').pop()!)
  assert.is(got.num, 3)
  assert.is(Number(got.interval), 300)
  assert.equal(new Set(got.samples), new Set(hashes.map((h) => h.toString('hex'))))
  assert.ok(got.nodes > 0)
})

test.run()
