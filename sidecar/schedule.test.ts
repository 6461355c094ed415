import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BACKOFF_CAP_MS, backoffDelay, refreshDelay } from './schedule.ts'

const MIN = 60_000

describe('refreshDelay', () => {
  it('refreshes when the remaining lifetime falls under the window (no jitter at random 0)', () => {
    assert.equal(
      refreshDelay(0, 60 * MIN, 30 * MIN, () => 0),
      30 * MIN,
    )
  })

  it('jitters later by at most 10% of the window (capped at 5 minutes), never below 90% of it', () => {
    assert.equal(
      refreshDelay(0, 60 * MIN, 30 * MIN, () => 1),
      33 * MIN,
    )
    assert.equal(
      refreshDelay(0, 60 * MIN, 30 * MIN, () => 0.5),
      31.5 * MIN,
    )
    assert.equal(
      refreshDelay(0, 12 * 60 * MIN, 120 * MIN, () => 1),
      10 * 60 * MIN + 5 * MIN,
    )
  })

  it('refreshes a session shorter than two windows at half its life, not once the window is reached', () => {
    // A 45m session with the 30m window: after 22.5m (15m before the fix, when 30m were left,
    // which the broker's 30m min-remaining then served back as the same session).
    assert.equal(
      refreshDelay(0, 45 * MIN, 30 * MIN, () => 0),
      22.5 * MIN,
    )
    // A 31m session: after 15.5m, not after 1m.
    assert.equal(
      refreshDelay(0, 31 * MIN, 30 * MIN, () => 0),
      15.5 * MIN,
    )
    // Jitter is up to 10% of that point later, as for longer sessions.
    assert.equal(
      refreshDelay(0, 45 * MIN, 30 * MIN, () => 1),
      24.75 * MIN,
    )
  })

  it('refreshes a session shorter than the window at half its remaining life, never in a loop', () => {
    assert.equal(
      refreshDelay(0, 20_000, 30 * MIN, () => 0),
      10_000,
    )
    assert.equal(
      refreshDelay(0, 100, 30 * MIN, () => 0),
      250,
    )
  })
})

describe('backoffDelay', () => {
  it('grows exponentially with equal jitter and a cap', () => {
    assert.equal(
      backoffDelay(0, () => 0),
      500,
    )
    assert.equal(
      backoffDelay(0, () => 1),
      1000,
    )
    assert.equal(
      backoffDelay(3, () => 0),
      4000,
    )
    assert.equal(
      backoffDelay(50, () => 1),
      BACKOFF_CAP_MS,
    )
    assert.equal(
      backoffDelay(50, () => 0),
      BACKOFF_CAP_MS / 2,
    )
  })
})
