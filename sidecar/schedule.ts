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
 * instead, so it never turns into a refresh loop. Jitter moves the refresh earlier by up to 10%
 * of the wait (at most 5 minutes) so pods started together do not refresh together.
 */
export function refreshDelay(
  now: number,
  expiresAt: number,
  windowMs: number,
  random: Random,
): number {
  const remaining = expiresAt - now
  const base = remaining > windowMs ? remaining - windowMs : remaining / 2
  const jitter = Math.min(base * 0.1, MAX_JITTER_MS) * random()
  return Math.max(MIN_DELAY_MS, Math.floor(base - jitter))
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
