// Assertions several test files share: rejections (any error, a class, a message, a one-line BtError) and bitmaps.
import * as assert from 'uvu/assert'
import { BtError } from '../../src/errors.js'

/** What a rejection must be: an Error class, a pattern its message matches, or a predicate. */
export type ErrorCheck = (new (...a: any[]) => Error) | RegExp | ((e: unknown) => boolean)

/** The error `p` rejects with (a function is called first); fails the test if it resolves or `check` does not hold. */
export async function rejects(p: Promise<unknown> | (() => Promise<unknown>), check?: ErrorCheck): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    if (check instanceof RegExp) assert.match((err as Error).message, check)
    else if (check && (check.prototype instanceof Error || check === Error)) assert.instance(err, check as new () => Error)
    else if (check) assert.ok((check as (e: unknown) => boolean)(err), `unexpected error: ${err}`)
    return err as Error
  }
  return assert.unreachable('expected a rejection') as never
}

/** A rejection with a one-line BtError whose message matches `re` and whose exit code is `code`. */
export async function rejectsBtError(p: Promise<unknown>, re: RegExp, code: number): Promise<BtError> {
  const err = await rejects(p, BtError)
  assert.match(err.message, re)
  assert.not.match(err.message, /\n/)
  assert.is((err as BtError).exitCode, code)
  return err as BtError
}

/** Indices where a per-piece bitmap holds 1. */
export function ones(u: Uint8Array): number[] {
  return [...u.keys()].filter((i) => u[i] === 1)
}
