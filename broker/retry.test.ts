import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock, settle } from '../lib/fake-clock.ts'
import { retryDelay, withRetry } from './retry.ts'
import { StsError } from './sts.ts'

const throttled = new StsError('throttled', 'Throttling', 'Rate exceeded')
const transient = new StsError('transient', 'ECONNRESET', 'reset')
const denied = new StsError('denied', 'AccessDenied', 'no')
const invalid = new StsError('invalid', 'ValidationError', 'bad')

/** fn that fails with `errors` in order, then returns 'ok'; counts calls. */
function script(...errors: Error[]) {
  const s = { calls: 0, fn: async () => {} }
  s.fn = async () => {
    const e = errors[s.calls++]
    if (e) throw e
  }
  return s
}

describe('retryDelay', () => {
  it('doubles per attempt with equal jitter, and throttling starts 4x higher', () => {
    const lo = { random: () => 0, baseMs: 100, capMs: 100_000 }
    const hi = { ...lo, random: () => 0.999999 }
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => retryDelay('transient', a, lo)),
      [50, 100, 200, 400],
    )
    assert.deepEqual(
      [1, 2, 3].map((a) => retryDelay('transient', a, hi)),
      [99, 199, 399],
    )
    assert.deepEqual(
      [1, 2, 3].map((a) => retryDelay('throttled', a, lo)),
      [200, 400, 800],
    )
  })
  it('is capped', () => {
    assert.equal(retryDelay('throttled', 30, { random: () => 0, baseMs: 100, capMs: 5_000 }), 2_500)
  })
  it('uses 200 ms base and 10 s cap by default', () => {
    assert.equal(retryDelay('transient', 1, { random: () => 0 }), 100)
    assert.equal(retryDelay('transient', 40, { random: () => 0 }), 5_000)
  })
})

describe('withRetry', () => {
  it('retries throttled and transient errors with backoff, then succeeds', async () => {
    const clock = new FakeClock()
    const s = script(throttled, transient)
    const retries: [string, number, number][] = []
    let done = false
    const p = withRetry(s.fn, {
      attempts: 4,
      clock,
      random: () => 0,
      baseMs: 100,
      onRetry: (e, attempt, delay) => retries.push([e.code, attempt, delay]),
    }).then(() => (done = true))
    await settle()
    assert.equal(s.calls, 1)
    await clock.advance(199) // throttled after attempt 1: 4 × 100 / 2 = 200 ms
    assert.equal(s.calls, 1)
    await clock.advance(1)
    assert.equal(s.calls, 2)
    await clock.advance(99) // transient after attempt 2: 100 × 2 / 2 = 100 ms
    assert.equal(s.calls, 2)
    await clock.advance(1)
    await p
    assert.equal(s.calls, 3)
    assert.equal(done, true)
    assert.deepEqual(retries, [
      ['Throttling', 1, 200],
      ['ECONNRESET', 2, 100],
    ])
  })

  it('gives up after exactly `attempts` calls and rethrows the last error', async () => {
    const clock = new FakeClock()
    const last = new StsError('throttled', 'Throttling', 'still')
    const s = script(transient, throttled, last, new StsError('transient', 'X', 'never reached'))
    const p = withRetry(s.fn, { attempts: 3, clock, random: () => 0 })
    const outcome = assert.rejects(p, (e) => e === last)
    await clock.advance(60_000)
    await outcome
    assert.equal(s.calls, 3)
    assert.equal(clock.pending, 0)
  })

  for (const err of [denied, invalid]) {
    it(`never retries '${err.kind}'`, async () => {
      const clock = new FakeClock()
      const s = script(err)
      await assert.rejects(
        withRetry(s.fn, { attempts: 5, clock, random: () => 0 }),
        (e) => e === err,
      )
      assert.equal(s.calls, 1)
      assert.equal(clock.pending, 0)
    })
  }

  it('does not retry errors that are not StsErrors (bugs, not STS weather)', async () => {
    const clock = new FakeClock()
    const bug = new TypeError('x is undefined')
    const s = script(bug)
    await assert.rejects(withRetry(s.fn, { attempts: 5, clock, random: () => 0 }), (e) => e === bug)
    assert.equal(s.calls, 1)
  })

  it('returns the value of the first success without waiting', async () => {
    const clock = new FakeClock()
    const v = await withRetry(async () => 42, { attempts: 3, clock, random: () => 0 })
    assert.equal(v, 42)
    assert.equal(clock.pending, 0)
  })
})
