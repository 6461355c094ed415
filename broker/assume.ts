// AssumeRole as the broker calls it: behind a token-bucket rate limit (so a restart or a mass
// rollout never becomes an STS storm), retried with backoff and jitter on throttling and 5xx,
// never retried on a denial, every attempt counted in the metrics.
import type { Clock, Random } from '../lib/clock.ts'
import type { Credentials } from '../lib/credentials.ts'
import type { Logger } from '../lib/log.ts'
import type { BrokerMetrics } from './metrics.ts'
import { Semaphore } from '../lib/semaphore.ts'
import { RateLimiter } from './rate-limiter.ts'
import { withRetry } from './retry.ts'
import { StsError, type Assumer, type AssumeRoleInput } from './sts.ts'

/** AssumeRole calls in flight at once; at 50 ms each that is over 1,000 a second. */
export const MAX_STS_IN_FLIGHT = 64

export interface LimitedAssumeOptions {
  readonly stsRate: number
  readonly stsBurst: number
  readonly stsAttempts: number
  readonly clock: Clock
  readonly random: Random
  readonly metrics: Pick<BrokerMetrics, 'stsCalls' | 'stsSeconds'>
  readonly log: Logger
}

export function limitedAssume(
  assumer: Assumer,
  o: LimitedAssumeOptions,
): (input: AssumeRoleInput) => Promise<Credentials> {
  const limiter = new RateLimiter({
    ratePerSecond: o.stsRate,
    burst: o.stsBurst,
    // Waiting costs a closure each; a mass rollout must queue, not fail.
    maxQueue: 100_000,
    clock: o.clock,
  })
  // Calls in flight are bounded too: a burst of hundreds at once would wait on STS's side, hit
  // the request timeout and be retried, each retry a second session for the same pod.
  const inFlight = new Semaphore(MAX_STS_IN_FLIGHT)
  const attempt = async (input: AssumeRoleInput): Promise<Credentials> => {
    await limiter.take()
    return inFlight.run(async () => {
      const end = o.metrics.stsSeconds.startTimer()
      try {
        const creds = await assumer.assumeRole(input)
        o.metrics.stsCalls.inc({ outcome: 'ok' })
        return creds
      } catch (err) {
        o.metrics.stsCalls.inc({ outcome: err instanceof StsError ? err.kind : 'transient' })
        throw err
      } finally {
        end()
      }
    })
  }
  return (input) =>
    withRetry(() => attempt(input), {
      attempts: o.stsAttempts,
      clock: o.clock,
      random: o.random,
      onRetry: (err, n, delayMs) =>
        o.log.warn('AssumeRole retry', {
          roleArn: input.roleArn,
          code: err.code,
          attempt: n,
          delayMs,
        }),
    })
}
