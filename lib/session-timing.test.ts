import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loadBrokerConfig } from '../broker/config.ts'
import { ConfigError } from './flags.ts'
import { cacheThresholds, isRoleSession, SIDECAR_REFRESH_WINDOW_MS } from './session-timing.ts'

const base = ['--tls-cert-file=/c', '--tls-key-file=/k', '--cluster-name=c']
const MIN = 60_000

describe('session timing', () => {
  for (const d of ['15m', '30m', '45m', '1h', '2h', '12h']) {
    it(`the broker starts with --session-duration=${d} and the default cache settings`, () => {
      const cfg = loadBrokerConfig([...base, `--session-duration=${d}`], {})
      const w = Math.min(SIDECAR_REFRESH_WINDOW_MS, cfg.sessionDuration / 2)
      assert.ok(w < cfg.cacheMinRemaining, 'above the effective sidecar window')
      assert.ok(cfg.cacheMinRemaining < cfg.cachePrefetchBelow)
      assert.ok(cfg.cachePrefetchBelow < cfg.sessionDuration)
    })
  }

  it('keeps the 1h defaults operators know (40m, 50m)', () => {
    assert.deepEqual(cacheThresholds(60 * MIN), {
      minRemainingMs: 40 * MIN,
      prefetchBelowMs: 50 * MIN,
    })
  })

  it('refuses thresholds set by hand that cannot work, naming the flag and the fix', () => {
    assert.throws(
      () => loadBrokerConfig([...base, '--session-duration=30m', '--cache-min-remaining=40m'], {}),
      (e: Error) =>
        e instanceof ConfigError &&
        /--cache-min-remaining/.test(e.message) &&
        /--session-duration 30m/.test(e.message) &&
        /leave both unset/.test(e.message),
    )
    assert.throws(
      () => loadBrokerConfig([...base, '--cache-prefetch-below=1h'], {}),
      /--cache-prefetch-below: must lie between/,
    )
  })

  it('tells a role session from a user', () => {
    assert.equal(isRoleSession('arn:aws:sts::123456789012:assumed-role/broker/i-0abc'), true)
    assert.equal(isRoleSession('arn:aws:iam::123456789012:user/broker'), false)
  })
})
