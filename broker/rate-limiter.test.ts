import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock, settle } from '../lib/fake-clock.ts'
import { RateLimiter } from './rate-limiter.ts'
import { StsError } from './sts.ts'

function setup(o: { ratePerSecond: number; burst: number; maxQueue?: number }) {
  const clock = new FakeClock()
  const limiter = new RateLimiter({ maxQueue: 100, ...o, clock })
  return { clock, limiter }
}

describe('RateLimiter', () => {
  it('allows a burst, then one token per 1/rate seconds', async () => {
    const { clock, limiter } = setup({ ratePerSecond: 10, burst: 3 })
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.tryTake()),
      [true, true, true, false],
    )
    await clock.advance(99)
    assert.equal(limiter.tryTake(), false)
    await clock.advance(1)
    assert.equal(limiter.tryTake(), true)
    assert.equal(limiter.tryTake(), false)
  })

  it('never holds more than the burst after a quiet period', async () => {
    const { clock, limiter } = setup({ ratePerSecond: 10, burst: 2 })
    await clock.advance(3_600_000)
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.tryTake()),
      [true, true, false],
    )
  })

  it('take() waits for tokens on the clock and serves waiters in arrival order', async () => {
    const { clock, limiter } = setup({ ratePerSecond: 5, burst: 1 })
    const order: number[] = []
    const all = [1, 2, 3, 4].map((n) => limiter.take().then(() => order.push(n)))
    await settle()
    assert.deepEqual(order, [1])
    assert.equal(limiter.waiting, 3)
    await clock.advance(199)
    assert.deepEqual(order, [1])
    await clock.advance(1)
    assert.deepEqual(order, [1, 2])
    await clock.advance(400)
    await Promise.all(all)
    assert.deepEqual(order, [1, 2, 3, 4])
    assert.equal(limiter.waiting, 0)
    assert.equal(clock.pending, 0)
  })

  it('tryTake() does not jump the queue', async () => {
    const { clock, limiter } = setup({ ratePerSecond: 10, burst: 1 })
    assert.equal(limiter.tryTake(), true)
    const waiter = limiter.take()
    await clock.advance(100)
    await waiter
    assert.equal(limiter.tryTake(), false, 'the token went to the waiter')
    const second = limiter.take()
    await clock.advance(50)
    assert.equal(limiter.tryTake(), false, 'a waiter is queued')
    await clock.advance(50)
    await second
  })

  it('rejects at once with StsError throttled when more than maxQueue are waiting', async () => {
    const { clock, limiter } = setup({ ratePerSecond: 1, burst: 1, maxQueue: 2 })
    await limiter.take()
    const queued = [limiter.take(), limiter.take()]
    await assert.rejects(
      limiter.take(),
      (e) => e instanceof StsError && e.kind === 'throttled' && e.code === 'LocalRateLimit',
    )
    assert.equal(limiter.waiting, 2)
    await clock.advance(2_000)
    await Promise.all(queued)
    assert.equal(limiter.waiting, 0)
  })

  it('paces a mass rollout: 100 calls at 10/s with burst 5 finish after 9.5 s, not before', async () => {
    const { clock, limiter } = setup({ ratePerSecond: 10, burst: 5, maxQueue: 1000 })
    let done = 0
    for (let i = 0; i < 100; i++) void limiter.take().then(() => done++)
    await settle()
    assert.equal(done, 5)
    await clock.advance(1_000)
    assert.equal(done, 15)
    await clock.advance(8_499)
    assert.equal(done, 99)
    await clock.advance(1)
    assert.equal(done, 100)
  })

  it('refuses nonsense settings', () => {
    const clock = new FakeClock()
    assert.throws(
      () => new RateLimiter({ ratePerSecond: 0, burst: 1, maxQueue: 1, clock }),
      RangeError,
    )
    assert.throws(
      () => new RateLimiter({ ratePerSecond: 1, burst: 0, maxQueue: 1, clock }),
      RangeError,
    )
  })
})
