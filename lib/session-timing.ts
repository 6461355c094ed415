// One place for the timing of a role session's life. From the session duration and the sidecars'
// refresh window it derives when a sidecar refreshes (sidecar/schedule.ts) and the broker's cache
// thresholds (broker/config.ts), so every duration the broker accepts (15m..12h) works with the
// defaults, and it says why thresholds set by hand cannot work. Pure.
//
//   session duration > prefetch-below ≥ min-remaining > refresh point
//
// - The refresh point: a sidecar refreshes once the remaining lifetime falls under its window,
//   or at half the lifetime it was handed, whichever comes later; so a session shorter than two
//   windows (15m, 30m, 45m with the 30m default) is refreshed at half its life, never at once.
// - min-remaining above the refresh point: when a sidecar comes back, the broker's copy of the
//   session it holds is no longer servable, so it gets a newer one instead of the same one again.
// - prefetch-below between min-remaining and the duration: a background refresh has time to
//   succeed before the cached session stops being servable (equal: no prefetch).
import { formatDuration as fmt } from './flags.ts'

const MIN = 60_000
/**
 * The sidecars' refresh window unless set: the sidecar's --refresh-window, and the injector's and
 * the broker's --sidecar-refresh-window (lib/common-flags.ts refreshWindowFlag).
 */
export const DEFAULT_REFRESH_WINDOW_MS = 30 * MIN
/** Handing out credentials with 15 minutes or less left makes botocore refresh on every call. */
export const MIN_REFRESH_WINDOW_MS = 15 * MIN
/** Role chaining (the broker identity is itself a role session) caps sessions at one hour. */
export const ROLE_CHAINING_MAX_MS = 60 * MIN

/** Why a refresh window cannot be used, or undefined. */
export function refreshWindowProblem(windowMs: number): string | undefined {
  return windowMs <= MIN_REFRESH_WINDOW_MS
    ? 'must be more than 15m, or SDKs would refresh on every call'
    : undefined
}

/**
 * The remaining lifetime at which a sidecar refreshes credentials it was handed with
 * `remainingMs` left (before jitter, which only makes it later, by up to 10% of this).
 */
export function refreshPoint(remainingMs: number, windowMs: number): number {
  return Math.min(windowMs, remainingMs / 2)
}

export interface SessionSettings {
  readonly durationMs: number
  /** The sidecars' --refresh-window. */
  readonly refreshWindowMs: number
  /** Set by hand, or undefined: derived. */
  readonly minRemainingMs?: number | undefined
  readonly prefetchBelowMs?: number | undefined
}

export interface SessionTiming {
  readonly durationMs: number
  readonly refreshWindowMs: number
  readonly minRemainingMs: number
  readonly prefetchBelowMs: number
}

export type TimingResult =
  | { readonly ok: true; readonly timing: SessionTiming }
  | { readonly ok: false; readonly message: string }

const mid = (a: number, b: number): number => Math.round((a + b) / 2)

/**
 * The settings with the cache thresholds not set by hand derived: spread evenly between their
 * neighbours in `refresh point < min-remaining < prefetch-below < duration` (thirds when both are
 * unset: 40m and 50m for 1h sessions and the 30m window).
 */
export function sessionTiming(s: SessionSettings): TimingResult {
  const d = s.durationMs
  const p = refreshPoint(d, s.refreshWindowMs)
  const min =
    s.minRemainingMs ??
    (s.prefetchBelowMs === undefined ? Math.round(p + (d - p) / 3) : mid(p, s.prefetchBelowMs))
  const pre = s.prefetchBelowMs ?? mid(min, d)
  const problem = thresholdProblem(s, p, { min, pre })
  if (problem === undefined)
    return {
      ok: true,
      timing: {
        durationMs: d,
        refreshWindowMs: s.refreshWindowMs,
        minRemainingMs: min,
        prefetchBelowMs: pre,
      },
    }
  const derived = sessionTiming({ durationMs: d, refreshWindowMs: s.refreshWindowMs })
  const fix = derived.ok
    ? `; or leave --cache-min-remaining and --cache-prefetch-below unset to derive them (${fmt(derived.timing.minRemainingMs)} and ${fmt(derived.timing.prefetchBelowMs)} here)`
    : ''
  return { ok: false, message: problem + fix }
}

function thresholdProblem(
  s: SessionSettings,
  p: number,
  t: { min: number; pre: number },
): string | undefined {
  const d = `--session-duration ${fmt(s.durationMs)}`
  const point = `the sidecars refresh once ${fmt(p)} is left (the smaller of --sidecar-refresh-window ${fmt(s.refreshWindowMs)} and half the session)`
  if (s.minRemainingMs !== undefined && (t.min <= p || t.min >= s.durationMs))
    return (
      `--cache-min-remaining ${fmt(t.min)}: set it above ${fmt(p)} and below ${d}; ${point}, ` +
      'so a session handed out with no more than that left would be asked for again at once, and a new session must be servable from the cache'
    )
  if (s.prefetchBelowMs === undefined) return undefined
  const from =
    s.minRemainingMs === undefined
      ? `above ${fmt(p)} (${point})`
      : `at or above --cache-min-remaining ${fmt(s.minRemainingMs)}`
  if (t.pre < t.min || t.pre <= p || t.pre >= s.durationMs)
    return (
      `--cache-prefetch-below ${fmt(t.pre)}: set it ${from} and below ${d}, ` +
      'so a background refresh starts while the cached session is still servable, and not on every hit'
    )
  return undefined
}

/** Whether a caller ARN is itself a role session (role chaining applies to what it assumes). */
export function isRoleSession(callerArn: string): boolean {
  return /^arn:[\w-]+:sts::\d{12}:assumed-role\//.test(callerArn)
}

export type CapResult =
  | { readonly ok: true; readonly timing: SessionTiming; readonly capped: boolean }
  | { readonly ok: false; readonly message: string }

/**
 * The timing for a broker whose identity is `callerArn` (undefined: GetCallerIdentity failed).
 * Over 1h, a role session (IRSA, an instance role, Pod Identity) or an identity that cannot be
 * told is capped at 1h, which STS allows every identity; thresholds not set by hand follow the
 * hour, and thresholds set by hand that do not fit it are refused.
 */
export function capForIdentity(s: SessionSettings, callerArn: string | undefined): CapResult {
  const fits = s.durationMs <= ROLE_CHAINING_MAX_MS
  if (fits || (callerArn !== undefined && !isRoleSession(callerArn))) {
    const r = sessionTiming(s)
    return r.ok ? { ...r, capped: false } : r
  }
  const r = sessionTiming({ ...s, durationMs: ROLE_CHAINING_MAX_MS })
  if (r.ok) return { ...r, capped: true }
  const who =
    callerArn === undefined
      ? 'the broker cannot tell whether its identity is a role session (GetCallerIdentity failed)'
      : `the broker identity ${callerArn} is a role session`
  return {
    ok: false,
    message: `--session-duration ${fmt(s.durationMs)} is capped at 1h because ${who}, and STS refuses chained sessions over 1h: ${r.message}`,
  }
}
