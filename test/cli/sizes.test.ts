// Size and rate arguments: parseSize (`10M`, `512k`, `1.5G`, `2MiB`; binary multiples) and the --download-limit /
// --upload-limit coercion built on it (0 = unlimited, anything else unparsable is a one-line usage error). Pure logic.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseSize } from '../../src/format.js'
import { rateArg } from '../../cmd/options.js'
import { BtError, ExitCode } from '../../src/errors.js'

const KiB = 1024
const MiB = 1024 ** 2
const GiB = 1024 ** 3

test('parseSize: plain bytes and binary multiples with any case and an optional B or iB', () => {
  const cases: Array<[string, number]> = [
    ['1048576', 1048576],
    ['0', 0],
    ['512k', 512 * KiB],
    ['512K', 512 * KiB],
    ['10M', 10 * MiB],
    ['10m', 10 * MiB],
    ['1.5G', 1.5 * GiB],
    ['2T', 2 * 1024 ** 4],
    ['2MiB', 2 * MiB],
    ['2MB', 2 * MiB],
    ['2mb', 2 * MiB],
    ['100b', 100],
    ['100B', 100],
    [' 10M ', 10 * MiB],
    ['10 M', 10 * MiB],
    ['1.5k', 1536],
    ['0.3', 0], // rounded to whole bytes
  ]
  for (const [s, want] of cases) assert.is(parseSize(s), want, JSON.stringify(s))
})

test('parseSize: anything else is undefined, never NaN or a guess', () => {
  for (const s of ['', ' ', 'M', 'k10', '10X', '10MM', '-1', '+1', '1e3', '1,5M', '.5M', '5.M', '0x10', '10 MiB/s', 'Infinity', 'NaN']) {
    assert.is(parseSize(s), undefined, JSON.stringify(s))
  }
})

test('--download-limit: a rate such as 5M or 500k in bytes per second; 0 means no limit; the last of repeats wins', () => {
  const coerce = rateArg('download-limit')
  assert.is(coerce('5M'), 5 * MiB)
  assert.is(coerce('500k'), 500 * KiB)
  assert.is(coerce('1048576'), MiB)
  assert.is(coerce('0'), undefined)
  assert.is(coerce(['1M', '2M']), 2 * MiB)
  assert.is(coerce(300), 300, 'a number from a config or yargs')
})

test('--download-limit: bad rates are one-line usage errors naming the option and the value', () => {
  const coerce = rateArg('upload-limit')
  for (const s of ['fast', '5Mbit', '-1M', '0.2', '']) {
    try {
      coerce(s)
    } catch (err) {
      assert.instance(err, BtError, s)
      assert.is((err as BtError).exitCode, ExitCode.usage)
      assert.is((err as Error).message, `--upload-limit: "${s}" is not a rate such as 500k or 10M (bytes per second)`)
      continue
    }
    assert.unreachable(`"${s}" was accepted`)
  }
})

test.run()
