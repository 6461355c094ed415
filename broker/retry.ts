// Bounded retries of STS calls, by StsError kind: 'throttled' and 'transient' are retried with
// exponential backoff and jitter; 'denied' and 'invalid' are permanent and rethrown at once,
// since repeating them only adds load. Throttling backs off longer: STS asked us to slow down,
// and every broker replica hitting it again at the same pace would keep the bucket empty.
import type { Clock, Random } from '../lib/clock.ts'
import { StsError, type StsFailureKind } from './sts.ts'

export interface RetryOptions {
  /** Total attempts, including the first (1 = no retry). */
  readonly attempts: number
  readonly clock: Clock
  readonly random: Random
  /** First backoff step for 'transient'; default 200 ms. 'throttled' uses 4× this. */
  readonly baseMs?: number | undefined
  /** Largest backoff step; default 10 s. */
  readonly capMs?: number | undefined
  /** Called before each wait, e.g. to log or count retries. `attempt` is the one that failed. */
  readonly onRetry?: ((err: StsError, attempt: number, delayMs: number) => void) | undefined
}

export const RETRY_BASE_MS = 200
export const RETRY_CAP_MS = 10_000
export const THROTTLED_FACTOR = 4

export function isRetryable(err: unknown): err is StsError {
  return err instanceof StsError && (err.kind === 'throttled' || err.kind === 'transient')
}

/**
 * Delay after failed attempt `attempt` (1-based). Equal jitter: half of the step is fixed and
 * half random, so replicas spread out but never retry immediately.
 */
export function retryDelay(
  kind: StsFailureKind,
  attempt: number,
  o: Pick<RetryOptions, 'random' | 'baseMs' | 'capMs'>,
): number {
  const base = (o.baseMs ?? RETRY_BASE_MS) * (kind === 'throttled' ? THROTTLED_FACTOR : 1)
  const step = Math.min(o.capMs ?? RETRY_CAP_MS, base * 2 ** Math.min(attempt - 1, 16))
  return Math.floor(step / 2 + (step / 2) * o.random())
}

export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      // Non-StsErrors are bugs, not STS weather: they are not retried either.
      if (!isRetryable(err) || attempt >= o.attempts) throw err
      const delay = retryDelay(err.kind, attempt, o)
      o.onRetry?.(err, attempt, delay)
      await new Promise<void>((resolve) => o.clock.setTimer(resolve, delay))
    }
  }
}
