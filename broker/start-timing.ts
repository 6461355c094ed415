// The session timing a broker runs with, decided at start from what STS says the broker identity
// is. Role chaining caps sessions at 1h: over 1h, a broker whose identity is a role session
// (IRSA, an instance role, Pod Identity) would be refused every AssumeRole. The duration is
// capped with a warning rather than refused, because the cap is the only value that works with
// that identity, and a broker that refuses to start would take credentials from every pod for a
// setting it can correct itself; the identity can change (a node role, IRSA added) without the
// chart's values changing. Thresholds set by hand that do not fit the hour are refused: they were
// asked for explicitly and no value of them is implied.
import { ConfigError, formatDuration } from '../lib/flags.ts'
import type { Logger } from '../lib/log.ts'
import { capForIdentity, ROLE_CHAINING_MAX_MS, type SessionTiming } from '../lib/session-timing.ts'
import { sessionSettingsOf, type BrokerConfig } from './config.ts'
import type { Assumer } from './sts.ts'

/**
 * `cfg.sessionTiming`, capped at 1h over 1h when GetCallerIdentity names a role session, or
 * fails (1h works for every identity; the broker cannot wait for STS before it serves).
 * Throws ConfigError when thresholds set by hand do not fit the cap.
 */
export async function sessionTimingAtStart(
  cfg: BrokerConfig,
  sts: Pick<Assumer, 'callerIdentity'>,
  log: Logger,
): Promise<SessionTiming> {
  if (cfg.sessionTiming.durationMs <= ROLE_CHAINING_MAX_MS) return cfg.sessionTiming
  const me = await sts.callerIdentity().catch((err: unknown) => {
    log.warn(
      'GetCallerIdentity failed at start; cannot tell whether the broker identity is a role session',
      {
        error: err as Error,
      },
    )
    return undefined
  })
  const r = capForIdentity(sessionSettingsOf(cfg), me?.arn)
  if (!r.ok) throw new ConfigError(r.message)
  if (r.capped)
    log.warn(
      me === undefined
        ? '--session-duration capped at 1h: the broker cannot tell whether its identity is a role session, and STS refuses chained sessions over 1h; restart once STS answers to use the configured duration'
        : '--session-duration capped at 1h: the broker identity is a role session, and STS refuses chained sessions over 1h; set --session-duration to 1h or less (only an identity that is not a role session, such as IAM user keys, can be given longer sessions)',
      {
        identity: me?.arn,
        configured: formatDuration(cfg.sessionDuration),
        sessionDuration: formatDuration(r.timing.durationMs),
        cacheMinRemaining: formatDuration(r.timing.minRemainingMs),
        cachePrefetchBelow: formatDuration(r.timing.prefetchBelowMs),
      },
    )
  return r.timing
}
