// One place for the timing of a role session's life: the broker's cache thresholds follow from
// the session duration and the sidecars' refresh window, so every duration the broker accepts
// (15m..12h) works with the defaults. Pure; broker/config.ts applies it, and checks thresholds
// set by hand against the same invariants.
//
//   session duration > prefetch-below > min-remaining > effective sidecar window
//
// - min-remaining above the sidecars' window: a sidecar receives a session with more than its
//   window left, so it does not turn around and ask again at once.
// - prefetch-below above min-remaining: a background refresh has time to succeed before the
//   cached session stops being servable.
// - A session no longer than twice the window (15m, 30m with the 30m default) cannot leave the
//   sidecar its whole window: the effective window is half the session, and the sidecar, given
//   less than its window, refreshes at half the remaining life (sidecar/schedule.ts), never in
//   a loop.

/** The sidecars' default refresh window (sidecar/config.ts --refresh-window). */
export const SIDECAR_REFRESH_WINDOW_MS = 30 * 60_000
/** Role chaining (the broker identity is itself a role session) caps sessions at one hour. */
export const ROLE_CHAINING_MAX_MS = 60 * 60_000

export interface CacheThresholds {
  readonly minRemainingMs: number
  readonly prefetchBelowMs: number
}

/** Defaults: the span between the effective window and the duration, cut in thirds. */
export function cacheThresholds(
  durationMs: number,
  windowMs = SIDECAR_REFRESH_WINDOW_MS,
): CacheThresholds {
  const w = Math.min(windowMs, durationMs / 2)
  const third = (durationMs - w) / 3
  return { minRemainingMs: Math.round(w + third), prefetchBelowMs: Math.round(w + 2 * third) }
}

/** Why thresholds set by hand cannot work with this duration, or undefined. */
export function thresholdProblem(durationMs: number, t: CacheThresholds): string | undefined {
  if (t.minRemainingMs >= durationMs)
    return 'must be shorter than --session-duration, or no session could be served from the cache'
  if (t.prefetchBelowMs < t.minRemainingMs || t.prefetchBelowMs >= durationMs)
    return 'must lie between --cache-min-remaining and --session-duration'
  return undefined
}

/** Whether a caller ARN is itself a role session (role chaining applies to what it assumes). */
export function isRoleSession(callerArn: string): boolean {
  return /^arn:[\w-]+:sts::\d{12}:assumed-role\//.test(callerArn)
}
