// Pure timing decisions of the credential cache: when to refresh and how long to back off.
import type { Random } from '../lib/clock.ts'

/** Never hand out credentials this close to expiry: an SDK could not use them in time. */
export const EXPIRY_MARGIN_MS = 2_000
const MAX_JITTER_MS = 5 * 60_000
const MIN_DELAY_MS = 250

/**
 * Delay until the next refresh of credentials that expire at `expiresAt`.
 * Normally: when the remaining lifetime falls under the refresh window. A session shorter than
 * the window (a broker set to short sessions, or a test) refreshes at half its remaining life
 * instead, so it never turns into a refresh loop. Jitter spreads pods started together: the
 * refresh comes up to 10% of the window (at most 5 minutes) after the lifetime crosses into the
 * window, so at least 90% of the window is always left, and a pod refreshes no more often than
 * once per (session − window): twice an hour for 60-minute sessions and the 30-minute default.
 */
export function refreshDelay(
  now: number,
  expiresAt: number,
  windowMs: number,
  random: Random,
): number {
  const remaining = expiresAt - now
  if (remaining > windowMs) {
    const jitter = Math.min(windowMs * 0.1, MAX_JITTER_MS) * random()
    return Math.floor(remaining - windowMs + jitter)
  }
  const half = remaining / 2
  return Math.max(MIN_DELAY_MS, Math.floor(half - half * 0.1 * random()))
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
