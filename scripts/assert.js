// What yargs takes from node:assert (notStrictEqual, strictEqual: checks of its own invariants), for the yargs bundle
// (scripts/bundle-yargs.js): node:assert loads its error formatting and colour modules, ~1.5 ms of every start.
'use strict'
function fail(message, fallback) {
  const err = new Error(message ?? fallback)
  err.name = 'AssertionError'
  err.code = 'ERR_ASSERTION'
  throw err
}
exports.notStrictEqual = (actual, expected, message) => {
  if (Object.is(actual, expected)) fail(message, `Expected "actual" to be strictly unequal to: ${String(expected)}`)
}
exports.strictEqual = (actual, expected, message) => {
  if (!Object.is(actual, expected)) fail(message, `Expected values to be strictly equal: ${String(actual)} !== ${String(expected)}`)
}
