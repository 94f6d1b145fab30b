// Shared by the uTP test files: endpoints opened by a test and closed after it, and a bounded wait for one event.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { UtpEndpoint } from '../../src/net/utp.js'
import { within } from '../helpers/wait.js'

/** Opens endpoints for the tests of the calling file (uvu suite `t`) and closes them after each test. */
export function endpointsFor(t: typeof test, extraCleanup: () => Promise<unknown> = async () => {}) {
  const endpoints: UtpEndpoint[] = []
  t.after.each(async () => {
    await extraCleanup()
    await Promise.allSettled(endpoints.splice(0).map((e) => e.close()))
  })
  return async function open(host = '127.0.0.1', module?: string): Promise<UtpEndpoint> {
    const e = await UtpEndpoint.open({ port: 0, host, module }, (m) => assert.unreachable(m))
    if (!e) throw new Error(`no uTP binding loaded (${module ?? 'default'})`)
    endpoints.push(e)
    return e
  }
}

/** Resolves on `ev`; an 'error' first rejects (unless 'error' is the event awaited). */
export const once = <T = void>(s: NodeJS.EventEmitter, ev: string, ms: number): Promise<T> =>
  within(new Promise<T>((resolve, reject) => {
    s.once(ev, resolve as (...a: unknown[]) => void)
    if (ev !== 'error') s.once('error', reject)
  }), ms, `'${ev}' event`)
