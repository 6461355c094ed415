// `npm run bench:policy`: the worst-case time of one namespace-policy match, over the hostile
// patterns the tests use (test/support/fuzz.ts HOSTILE_POLICIES) and realistic ARN patterns, on
// realistic and worst-case role ARNs. Writes bench/results/policy.json.
//
// Measured for the engine in use (re2js via lib/tenant-regex.ts) and, as the reference before it
// replaced our own Pike VM, for lib/linear-regex.ts as of commit acb61f3: the bench takes that file
// out of git into a temporary folder and runs the same measurement on it. Without git history the
// previously recorded `before` figures are kept, labelled with their commit.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileTenantRegex } from '../lib/tenant-regex.ts'
import { HOSTILE_POLICIES } from '../test/support/fuzz.ts'
import { repoRoot } from '../test/peers/paths.ts'
import { RESULTS_DIR, machine, median, writeResults } from './results.ts'

const BEFORE_COMMIT = 'acb61f3'
const REPS = Number(process.env.POLICY_BENCH_REPS ?? 5)

const BASE = 'arn:aws:iam::123456789012:role/'
const REALISTIC = [
  `${BASE}team-a-.*`,
  'arn:aws:iam::\\d{12}:role/(app|worker)-[a-z]+',
  '^arn:aws:iam::111122223333:role/ns1/.*$',
  'arn:aws:iam::[0-9]{12}:role/[\\w+=,.@-]+',
  'arn:aws:iam::(111122223333|444455556666):role/.+',
  'arn:aws:iam::\\d{12}:role/team-a/(app|worker)(-\\w+)?',
  'arn:aws:iam::\\d{12}:role/(?:ns1|ns2)/.{1,64}',
  '.*:role/kube-system/.*',
]
/** Role ARNs: ordinary ones, and the longest an ARN may be, built to make engines work. */
const INPUTS = [
  `${BASE}team-a-web`,
  'arn:aws:iam::111122223333:role/ns1/reader',
  `${BASE}${'a'.repeat(60)}@`,
  `${BASE}${'x'.repeat(60)}@`,
  `${BASE}${'a/'.repeat(975)}${'a'.repeat(64)}`,
  `${BASE}${'x/'.repeat(975)}${'x'.repeat(64)}`,
  `${BASE}${'a'.repeat(1950)}/${'a'.repeat(60)}`,
  // kiam-v3 matches the role as written: a short name (with a path) of the same lengths.
  'a'.repeat(64),
  `${'a'.repeat(1980)}/${'a'.repeat(64)}`,
].map((arn) => arn.slice(0, 2048))

interface Engine {
  /** A matcher, or an Error when the engine refuses the pattern. */
  compile(pattern: string): ((input: string) => boolean) | Error
}

/** The engine in use, anchored (iam-sidecar/permitted) or unanchored (kiam's legacy meanings). */
function current(how: 'fullMatch' | 'find'): Engine {
  return {
    compile(pattern) {
      try {
        const re = compileTenantRegex(pattern)
        return (input) => re[how](input)
      } catch (err) {
        return err as Error
      }
    },
  }
}

/** lib/linear-regex.ts at BEFORE_COMMIT, imported from a temporary copy outside the repo. */
async function engineBefore(): Promise<{ engine: Engine; cleanup: () => void } | undefined> {
  let source: string
  try {
    source = execFileSync('git', ['show', `${BEFORE_COMMIT}:lib/linear-regex.ts`], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
  } catch {
    return undefined
  }
  const dir = mkdtempSync(join(tmpdir(), 'policy-bench-'))
  writeFileSync(join(dir, 'linear-regex.ts'), source)
  const mod = (await import(join(dir, 'linear-regex.ts'))) as {
    compileAnchored(p: string): { test(s: string): boolean }
  }
  const engine: Engine = {
    compile(pattern) {
      try {
        const re = mod.compileAnchored(pattern)
        return (input) => re.test(input)
      } catch (err) {
        return err as Error
      }
    },
  }
  return { engine, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

interface Worst {
  readonly ms: number
  readonly pattern: string
  readonly input: string
}

interface Measurement {
  /** Worst median time of one match (compiled pattern, one role ARN). */
  readonly worst_match_ms: number
  readonly worst_match: { pattern: string; input_length: number }
  /** Worst time to compile a pattern, the first time a namespace's policy is checked. */
  readonly worst_compile_ms: number
  readonly worst_compile_pattern: string
  readonly worst_realistic_match_ms: number
  readonly refused_patterns: number
}

const short = (p: string): string => (p.length > 40 ? `${p.slice(0, 40)}… (${p.length} chars)` : p)

function timeOnce(f: () => unknown): number {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}

function measure(
  engine: Engine,
  patterns: readonly string[],
): Omit<Measurement, 'worst_realistic_match_ms'> {
  let match: Worst = { ms: 0, pattern: '', input: '' }
  let compile: Worst = { ms: 0, pattern: '', input: '' }
  let refused = 0
  for (const pattern of patterns) {
    const compileMs = median(
      Array.from({ length: REPS }, () => timeOnce(() => engine.compile(pattern))),
    )
    if (compileMs > compile.ms) compile = { ms: compileMs, pattern, input: '' }
    const matcher = engine.compile(pattern)
    if (matcher instanceof Error) {
      refused++
      continue
    }
    const m = matcher
    for (const input of INPUTS) {
      const ms = median(Array.from({ length: REPS }, () => timeOnce(() => m(input))))
      if (ms > match.ms) match = { ms, pattern, input }
    }
  }
  return {
    worst_match_ms: round(match.ms),
    worst_match: { pattern: short(match.pattern), input_length: match.input.length },
    worst_compile_ms: round(compile.ms),
    worst_compile_pattern: short(compile.pattern),
    refused_patterns: refused,
  }
}

function measureAll(engine: Engine): Measurement {
  const hostile = measure(engine, HOSTILE_POLICIES)
  const realistic = measure(engine, REALISTIC)
  return { ...hostile, worst_realistic_match_ms: realistic.worst_match_ms }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000

function recordedBefore(): unknown {
  const file = join(RESULTS_DIR, 'policy.json')
  if (!existsSync(file)) return undefined
  return (JSON.parse(readFileSync(file, 'utf8')) as { before?: unknown }).before
}

async function main(): Promise<void> {
  const fullMatch = current('fullMatch')
  // Warm both engines up so that the first pattern does not pay for the JIT.
  for (const p of REALISTIC)
    for (const s of INPUTS) void (fullMatch.compile(p) as (s: string) => boolean)(s)
  const anchored = measureAll(fullMatch)
  const unanchored = measureAll(current('find'))
  const old = await engineBefore()
  let before: unknown
  let common: number | undefined
  if (old) {
    for (const p of REALISTIC)
      for (const s of INPUTS) void (old.engine.compile(p) as (s: string) => boolean)(s)
    before = {
      engine: `lib/linear-regex.ts at ${BEFORE_COMMIT}`,
      measured: 'now, same machine',
      ...measureAll(old.engine),
    }
    // The same comparison on the hostile patterns the old engine accepted at all.
    const accepted = HOSTILE_POLICIES.filter((p) => !(old.engine.compile(p) instanceof Error))
    common = measure(fullMatch, accepted).worst_match_ms
    old.cleanup()
  } else {
    before = recordedBefore() ?? {
      engine: `lib/linear-regex.ts at ${BEFORE_COMMIT}`,
      note: 'not measured: no git history',
    }
  }
  writeResults('policy.json', {
    machine: machine(),
    date: new Date().toISOString().slice(0, 10),
    patterns: { hostile: HOSTILE_POLICIES.length, realistic: REALISTIC.length },
    inputs: INPUTS.map((s) => s.length),
    repetitions: REPS,
    after: {
      engine: 're2js 2.10.0 via lib/tenant-regex.ts',
      ...anchored,
      worst_match_ms_on_patterns_the_old_engine_accepted: common,
      // kiam's annotation with --legacy-permitted-match=kiam-v3 or kiam-v4-unanchored.
      unanchored,
    },
    before,
  })
}

await main()
