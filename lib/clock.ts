// The outside world's time and randomness, injected so that refresh, expiry and jitter logic is
// testable without sleeping.

export interface Clock {
  now(): number
  /** Calls fn after ms; returns a cancel function. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): () => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref()
    return () => clearTimeout(t)
  },
}

/** A uniform random number in [0, 1). */
export type Random = () => number
export const systemRandom: Random = Math.random
