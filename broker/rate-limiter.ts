// A token bucket in front of every STS call the broker makes, so that a broker restart or a mass
// pod rollout (hundreds of cache misses at once) becomes a steady trickle, never an STS storm.
// STS throttles per account and its quotas cannot be raised (reference §5), so the broker must
// be the one to pace itself. Waiters are served in arrival order; the queue is bounded so a
// backlog turns into fast 'throttled' errors (retried by the sidecar with backoff) instead of
// unbounded memory and latency.
import type { Clock } from '../lib/clock.ts'
import { StsError } from './sts.ts'

export interface RateLimiterOptions {
  /** Tokens added per second. */
  readonly ratePerSecond: number
  /** Bucket size: how many calls may go at once after a quiet period. */
  readonly burst: number
  /** Waiters beyond this many are refused at once. */
  readonly maxQueue: number
  readonly clock: Clock
}

interface Waiter {
  readonly resolve: () => void
}

// Floating-point slack, so a timer computed to land on a whole token finds one.
const EPSILON = 1e-9

export class RateLimiter {
  readonly #o: RateLimiterOptions
  #tokens: number
  #refilledAt: number
  readonly #queue: Waiter[] = []
  #timerArmed = false

  constructor(o: RateLimiterOptions) {
    if (!(o.ratePerSecond > 0) || !(o.burst >= 1) || !(o.maxQueue >= 0))
      throw new RangeError('RateLimiter: ratePerSecond > 0, burst >= 1 and maxQueue >= 0 required')
    this.#o = o
    this.#tokens = o.burst
    this.#refilledAt = o.clock.now()
  }

  /** Callers waiting for a token. */
  get waiting(): number {
    return this.#queue.length
  }

  /** Takes a token if one is free and nobody is queued ahead; never waits. */
  tryTake(): boolean {
    if (this.#queue.length > 0) return false
    this.#refill()
    if (this.#tokens < 1 - EPSILON) return false
    this.#tokens -= 1
    return true
  }

  /** Resolves when a token is taken; rejects with StsError 'throttled' when the queue is full. */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve()
    if (this.#queue.length >= this.#o.maxQueue) {
      return Promise.reject(
        new StsError(
          'throttled',
          'LocalRateLimit',
          `broker STS rate limit: ${this.#queue.length} calls already waiting (limit ${this.#o.ratePerSecond}/s)`,
        ),
      )
    }
    return new Promise<void>((resolve) => {
      this.#queue.push({ resolve })
      this.#arm()
    })
  }

  #refill(): void {
    const now = this.#o.clock.now()
    const elapsed = Math.max(0, now - this.#refilledAt)
    this.#tokens = Math.min(this.#o.burst, this.#tokens + (elapsed * this.#o.ratePerSecond) / 1000)
    this.#refilledAt = now
  }

  /** One timer at a time, set for when the next whole token will be in the bucket. */
  #arm(): void {
    if (this.#timerArmed || this.#queue.length === 0) return
    this.#refill()
    const missing = Math.max(0, 1 - this.#tokens)
    const ms = Math.ceil((missing * 1000) / this.#o.ratePerSecond)
    this.#timerArmed = true
    this.#o.clock.setTimer(() => {
      this.#timerArmed = false
      this.#drain()
    }, ms)
  }

  #drain(): void {
    this.#refill()
    while (this.#queue.length > 0 && this.#tokens >= 1 - EPSILON) {
      this.#tokens -= 1
      this.#queue.shift()?.resolve()
    }
    this.#arm()
  }
}
