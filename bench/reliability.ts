// npm run bench:reliability: runs the load, fault, fuzz, identity and rollout (real node) benchmarks (each its own script and
// process, each writing bench/results/reliability-<part>.json) and merges them into
// bench/results/reliability.json. `npm run soak` runs the same with a 10-minute load.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../test/peers/paths.ts'

const PARTS = ['load', 'faults', 'fuzz', 'identity', 'rollout'] as const
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
] as const

const results: Record<string, number | string> = {}
for (const part of PARTS) {
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
const out = Object.fromEntries(KEYS.map((k) => [k, results[k]]))
out.node_version = process.version
out.machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`
writeFileSync(
  join(repoRoot, 'bench', 'results', 'reliability.json'),
  JSON.stringify(out, null, 2) + '\n',
)
console.log(JSON.stringify(out, null, 2))
