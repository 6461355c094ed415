// What each session duration the broker accepts costs with the derived defaults
// (lib/session-timing.ts): STS calls and sidecar fetches per pod-hour, the least lifetime a
// sidecar was handed, and how often a sidecar was handed the session it already held. On a
// compressed clock (bench/compressed-clock.ts): the real sidecar cache and schedule and the real
// broker flow and session cache; STS is a fake that answers on the simulated clock.
// Writes bench/results/session-timing.json.
import { formatDuration } from '../lib/flags.ts'
import { sessionTimingCosts } from './compressed-clock.ts'
import { writeResults } from './results.ts'

const PODS = 20
const round = (x: number): number => Math.round(x * 1000) / 1000
const results: Record<string, unknown> = {}
for (const minutes of [15, 30, 45, 60, 120, 720]) {
  for (const scope of ['pod', 'shared'] as const) {
    const hours = Math.max(12, (4 * minutes) / 60)
    const r = await sessionTimingCosts({ pods: PODS, hours, sessionMinutes: minutes, scope })
    const row = {
      min_remaining: formatDuration(r.timing.minRemainingMs),
      prefetch_below: formatDuration(r.timing.prefetchBelowMs),
      sts_per_pod_hour: round(r.stsPerPodHour),
      fetches_per_pod_hour: round(r.fetchesPerPodHour),
      least_handed_out_min: round(r.leastHandedOutMin),
      same_session_again: r.sameSessionAgain,
    }
    console.log(`${formatDuration(minutes * 60_000)} ${scope}`, JSON.stringify(row))
    results[`session_${formatDuration(minutes * 60_000)}_${scope}`] = row
  }
}
writeResults('session-timing.json', { pods: PODS, ...results })
