// npm run bench:reliability: runs the load, fault, fuzz, identity, rollout (real node) and flood
// benchmarks (each its own script and process, each writing bench/results/reliability-<part>.json)
// and merges them into bench/results/reliability.json. `npm run soak` runs the same with a 10-minute load.
// `node bench/reliability.ts flood` runs only the parts named and keeps the other figures.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../test/peers/paths.ts'

const PARTS = ['load', 'faults', 'fuzz', 'identity', 'rollout', 'flood'] as const
const KEYS = [
  'sdk_errors_during_faults',
  'fuzz_inputs',
  'fuzz_crashes',
  'secrets_leaked',
  'load_rps',
  'load_seconds',
  'load_errors',
  'rss_start_mb',
  'rss_end_mb',
  'sts_calls_per_min_healthy',
  'sts_calls_per_min_throttled',
  'recovery_seconds',
  'broker_identity_fault_pods_dropped',
  'rollout_failed_admissions',
  'rollout_sdk_errors',
  'garbage_flood_target_rps',
  'garbage_flood_rps',
  'valid_p99_ms_no_flood',
  'valid_p99_ms_during_flood',
  'valid_errors_during_flood',
  'garbage_flood_token_reviews_at_most',
] as const
/** Figures that are sentences (a benchmark saying what it could not do here). */
const NOTES = ['garbage_flood_note'] as const

const OUT = join(repoRoot, 'bench', 'results', 'reliability.json')
const asked = process.argv.slice(2)
const unknown = asked.filter((p) => !(PARTS as readonly string[]).includes(p))
if (unknown.length > 0) throw new Error(`no such part: ${unknown.join(', ')} (${PARTS.join(', ')})`)
const parts = asked.length > 0 ? asked : PARTS
const results: Record<string, number | string> =
  asked.length > 0 && existsSync(OUT)
    ? (JSON.parse(readFileSync(OUT, 'utf8')) as Record<string, number | string>)
    : {}
for (const part of parts) {
  console.log(`# reliability: ${part}`)
  const r = spawnSync(process.execPath, [join(repoRoot, 'bench', `reliability-${part}.ts`)], {
    stdio: 'inherit',
  })
  if (r.status !== 0) throw new Error(`bench/reliability-${part}.ts failed (${r.status})`)
  Object.assign(
    results,
    JSON.parse(
      readFileSync(join(repoRoot, 'bench', 'results', `reliability-${part}.json`), 'utf8'),
    ) as Record<string, number>,
  )
}
const missing = KEYS.filter((k) => typeof results[k] !== 'number')
if (missing.length > 0) throw new Error(`missing figures: ${missing.join(', ')}`)
const out: Record<string, number | string | undefined> = Object.fromEntries(
  [...KEYS, ...NOTES].map((k) => [k, results[k]]),
)
out.node_version = process.version
out.machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`
writeFileSync(OUT, JSON.stringify(out, null, 2) + '\n')
console.log(JSON.stringify(out, null, 2))
