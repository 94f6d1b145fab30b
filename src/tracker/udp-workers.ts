// The UDP front end on worker threads (udp-worker.ts): this side, on the swarm thread, starts them on one socket
// and answers their batches of announces and scrapes. `workers` threads share the socket's descriptor.

import type { Worker } from 'node:worker_threads'
import { isIPv6 } from 'node:net'
import { answerUdpInto, maxUdpReply, type UdpServer } from './udp.js'
import type { Tracker } from './swarm.js'
import { startThread } from './thread.js'
import type { UdpBatchBinding } from './udp-batch.js'

type FromWorker =
  | { seq: number; buf: ArrayBuffer; ips: string[] }
  | { listening: { address: string; port: number; family: string }; fd?: number }
  | { error: string }
  | { closed: true }

export async function listenUdpWorkers(tracker: Tracker, secret: Buffer, host: string, port: number, workers: number, native?: UdpBatchBinding): Promise<UdpServer> {
  const started: Worker[] = []
  const ipv6 = isIPv6(host)
  // With batched I/O this thread owns the socket (the workers only poll it), so it closes it after they stopped.
  let owned: number | undefined
  if (native) [owned, port] = native.open(host, port, 4 * 1024 * 1024)
  const start = (fd: number | undefined): Promise<{ w: Worker; address: { address: string; port: number; family: string }; fd?: number }> =>
    new Promise((resolve, reject) => {
      const w = startThread('udp-worker', { host, port, fd, ipv6, native: owned !== undefined, secret: new Uint8Array(secret) })
      started.push(w)
      w.on('message', (m: FromWorker) => {
        if ('seq' in m) w.postMessage(...answerBatch(tracker, m))
        else if ('listening' in m) resolve({ w, address: m.listening, fd: m.fd })
        else if ('error' in m) reject(Object.assign(new Error(m.error), { code: m.error }))
      })
      w.once('error', reject)
      w.once('exit', (code) => reject(new Error(`UDP worker exited (code ${code})`)))
    })
  try {
    const first = await start(owned)
    if (workers > 1 && first.fd === undefined) throw new Error('cannot share the UDP socket between threads')
    for (let k = 1; k < workers; k++) await start(first.fd)
    return {
      address: first.address,
      batched: owned !== undefined,
      close: async () => {
        // All threads hold the same descriptor: the first to close it closes it for all, the others' closes are
        // no-ops. Closing them together, before anything else shuts down, leaves no time for the number to be reused.
        await Promise.all(started.map((w) => closeWorker(w)))
        if (owned !== undefined) native!.close(owned)
      },
    }
  } catch (err) {
    await Promise.all(started.map((w) => w.terminate()))
    if (owned !== undefined) native!.close(owned)
    throw err
  }
}

function closeWorker(w: Worker): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); void w.terminate().then(() => resolve()) }
    const t = setTimeout(done, 2000)
    w.on('message', (m: FromWorker) => { if ('closed' in m) done() })
    w.once('exit', done)
    w.postMessage({ close: true })
  })
}

/** Where the replies of a batch are built before they are copied, once, into the buffer sent back. */
let outScratch = Buffer.allocUnsafe(1 << 20)

/** The replies to one batch: each prefixed by its length (0: no reply), in the order of the requests. */
function answerBatch(tracker: Tracker, m: { seq: number; buf: ArrayBuffer; ips: string[] }): [unknown, ArrayBuffer[]] {
  const inb = Buffer.from(m.buf)
  const max = maxUdpReply(tracker)
  const need = m.ips.length * (2 + max)
  if (outScratch.length < need) outScratch = Buffer.allocUnsafe(need)
  const out = outScratch
  let o = 0
  for (let k = 0, i = 0; k < m.ips.length; k++) {
    const len = inb.readUInt16BE(i)
    let n = 0
    try {
      n = answerUdpInto(tracker, inb.subarray(i + 2, i + 2 + len), m.ips[k], out, o + 2)
    } catch {
      n = 0 // a bug must not take the tracker down; the client retries
    }
    out.writeUInt16BE(n, o)
    o += 2 + n
    i += 2 + len
  }
  const ab = new ArrayBuffer(o)
  out.copy(Buffer.from(ab), 0, 0, o)
  return [{ seq: m.seq, buf: ab }, [ab]]
}
