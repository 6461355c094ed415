// Pure timing decisions of the credential cache: when to refresh and how long to back off.
import type { Random } from '../lib/clock.ts'
import { refreshPoint } from '../lib/session-timing.ts'

/** Never hand out credentials this close to expiry: an SDK could not use them in time. */
export const EXPIRY_MARGIN_MS = 2_000
const MAX_JITTER_MS = 5 * 60_000
const MIN_DELAY_MS = 250

/**
 * Delay until the next refresh of credentials that expire at `expiresAt`: once the remaining
 * lifetime falls under the window, or at half the lifetime left now if that comes later
 * (refreshPoint, lib/session-timing.ts, where the broker's cache thresholds are derived from the
 * same rule). So a session shorter than two windows (a broker set to 15m..45m sessions, or a
 * test) is refreshed at half its life: a 45m session after 22.5m, not after 15m, and never in a
 * loop. Jitter spreads pods started together: the refresh comes up to 10% of that point (at most
 * 5 minutes) later, so at least 90% of it is always left, and a pod refreshes no more often than
 * once per (session − point): twice an hour for 60-minute sessions and the 30-minute default.
 */
export function refreshDelay(
  now: number,
  expiresAt: number,
  windowMs: number,
  random: Random,
): number {
  const remaining = expiresAt - now
  const point = refreshPoint(remaining, windowMs)
  const jitter = Math.min(point * 0.1, MAX_JITTER_MS) * random()
  return Math.max(MIN_DELAY_MS, Math.floor(remaining - point + jitter))
}

export const BACKOFF_BASE_MS = 1_000
export const BACKOFF_CAP_MS = 60_000

/**
 * Exponential backoff with equal jitter for retry `attempt` (0-based): half of the step is
 * fixed, half random, so retries spread out but never collapse to zero.
 */
export function backoffDelay(attempt: number, random: Random): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16))
  return Math.floor(step / 2 + (step / 2) * random())
}
