import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  ConfigError,
  boolFlag,
  durationFlag,
  formatDuration,
  intFlag,
  parseDuration,
  parseFlags,
  refine,
  stringFlag,
  urlFlag,
} from './flags.ts'

const specs = {
  port: intFlag({
    name: 'port',
    env: 'T_PORT',
    default: '80',
    min: 1,
    max: 65535,
    description: 'port',
  }),
  url: urlFlag({ name: 'url', env: 'T_URL', protocols: ['https:'], description: 'url' }),
  verbose: boolFlag({ name: 'verbose', env: 'T_VERBOSE', default: 'false', description: 'v' }),
  window: durationFlag({ name: 'window', env: 'T_WINDOW', default: '30m', description: 'w' }),
  name: stringFlag({ name: 'name', env: 'T_NAME', optional: true, description: 'n' }),
}

describe('parseFlags', () => {
  it('takes flags over env over defaults and freezes the result', () => {
    const cfg = parseFlags(specs, ['--url=https://a.example', '--port', '8443', '--verbose'], {
      T_PORT: '1',
      T_WINDOW: '1h',
    })
    assert.equal(cfg.port, 8443)
    assert.equal(cfg.url.host, 'a.example')
    assert.equal(cfg.verbose, true)
    assert.equal(cfg.window, 3_600_000)
    assert.equal(cfg.name, undefined)
    assert.ok(Object.isFrozen(cfg))
  })

  it('names the bad flag, or the env var it came from', () => {
    assert.throws(
      () => parseFlags(specs, ['--url=https://a', '--port=99999'], {}),
      /--port: must be between 1 and 65535/,
    )
    assert.throws(
      () => parseFlags(specs, ['--url=https://a'], { T_PORT: 'abc' }),
      /T_PORT: must be an integer/,
    )
    assert.throws(() => parseFlags(specs, ['--url=http://a'], {}), /--url: must use https:/)
  })

  it('refuses unknown flags, stray arguments and missing required values', () => {
    assert.throws(() => parseFlags(specs, ['--url=https://a', '--nope=1'], {}), ConfigError)
    assert.throws(() => parseFlags(specs, ['--url=https://a', 'stray'], {}), /unexpected argument/)
    assert.throws(() => parseFlags(specs, [], {}), /--url \(or T_URL\) is required/)
    assert.throws(() => parseFlags(specs, ['--url'], {}), /--url: missing value/)
  })
})

describe('parseDuration', () => {
  it('parses compound durations and rejects junk', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000)
    assert.equal(parseDuration('250ms'), 250)
    for (const bad of ['', '10', '1x', '1h 2m', '-1s', '1.5h'])
      assert.throws(() => parseDuration(bad), /duration/)
  })
})

describe('formatDuration', () => {
  it('is the inverse of parseDuration, in the shortest form', () => {
    for (const [ms, text] of [
      [1_800_000, '30m'],
      [5_400_000, '1h30m'],
      [10_250, '10s250ms'],
      [0, '0s'],
    ] as const) {
      assert.equal(formatDuration(ms), text)
      assert.equal(parseDuration(text), ms)
    }
  })
})

describe('refine', () => {
  it('adds a check after parsing, quoting the input', () => {
    const f = refine(intFlag({ name: 'n', env: 'N', description: '', min: 0, max: 10 }), (n) =>
      n % 2 === 1 ? 'must be even' : undefined,
    )
    assert.equal(f.parse('4'), 4)
    assert.throws(() => f.parse('3'), /must be even \(got "3"\)/)
    assert.throws(() => f.parse('11'), /between/)
  })
})
