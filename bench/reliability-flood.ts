// A flood of garbage tokens against the real broker process (real API server for TokenReview and
// pod tokens, moto as STS) while one real pod keeps fetching its credentials: does the flood
// starve the pod? wrk (Debian package) sends the garbage over keep-alive HTTPS connections as
// fast as the broker answers, aiming at FLOOD_TARGET_RPS; the rate it reaches on this machine is
// what is reported, measured twice: by wrk, and by the broker's own refusal counters.
// - cheap flood: tokens that are cheaply wrong (not a JWT, expired, another audience): refused by
//   the pre-check, no TokenReview. Gives garbage_flood_rps and valid_p99_ms_during_flood.
// - forged flood: well-formed forged tokens (right audience, future exp, a signature the cluster
//   never made) on more connections than the TokenReview queue holds (64 in flight + 1024
//   waiting): each costs a TokenReview; the overflow is answered 503 TokenReviewBusy at once.
//   Gives forged_flood_rps and valid_p99_ms_during_forged_flood.
// The pod asks PROBE_RPS times a second on its own keep-alive connections; its latency is from
// request to last byte. The broker runs with --token-review-ttl=0s, so every one of the pod's
// fetches pays its own TokenReview, as a real sidecar's refresh (every half hour or so, long
// after the 60 s review cache let go of it) does; a review refused as busy is answered from the
// stale review (stale-if-error).
// Writes bench/results/reliability-flood.json; bench/reliability.ts merges it.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startControlPlane } from '../test/peers/control-plane.ts'
import { makeTestCluster } from '../test/peers/cluster.ts'
import { startBrokerProcess, type BrokerProcess } from '../test/support/broker-process.ts'
import { createPod, createServiceAccount, podToken } from '../test/support/pods.ts'
import { machine, median, writeResults } from './results.ts'
import { ensureDebianTools } from './tools.ts'

const TARGET_RPS = Number(process.env.FLOOD_TARGET_RPS ?? 10_000)
const FLOOD_SECONDS = Number(process.env.FLOOD_SECONDS ?? 30)
const BASELINE_SECONDS = Number(process.env.FLOOD_BASELINE_SECONDS ?? 10)
/** Baseline and cheap flood are run this many times (this machine's neighbours make them vary). */
const RUNS = Number(process.env.FLOOD_RUNS ?? 3)
const CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 128)
const FORGED_CONNECTIONS = Number(process.env.FLOOD_FORGED_CONNECTIONS ?? 1200)
const PROBE_RPS = Number(process.env.FLOOD_PROBE_RPS ?? 50)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Probe {
  readonly latenciesMs: number[]
  errors: number
  readonly errorKinds: Record<string, number>
}

/** The real pod: PROBE_RPS credential fetches a second, on schedule, until `stop` resolves. */
async function probe(url: string, ca: Buffer, token: string, stop: Promise<void>): Promise<Probe> {
  // Enough sockets that no fetch waits for one here: the latency is the broker's, not this queue's.
  const agent = new Agent({ keepAlive: true, maxSockets: 1024, ca })
  const p: Probe = { latenciesMs: [], errors: 0, errorKinds: {} }
  const fail = (kind: string): void => {
    p.errors++
    p.errorKinds[kind] = (p.errorKinds[kind] ?? 0) + 1
  }
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now()
      const req = request(
        `${url}/v1/credentials`,
        { agent, headers: { authorization: `Bearer ${token}` }, timeout: 5000 },
        (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => {
            p.latenciesMs.push(performance.now() - t0)
            if (res.statusCode !== 200) {
              const code = (JSON.parse(body) as { code?: string }).code ?? ''
              fail(`${res.statusCode} ${code}`)
            }
            resolve()
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (err: NodeJS.ErrnoException) => {
        fail(err.message === 'timeout' ? 'timeout' : `socket ${err.code ?? err.message}`)
        resolve()
      })
      req.end()
    })
  let stopped = false
  void stop.then(() => (stopped = true))
  const pending: Promise<void>[] = []
  const t0 = performance.now()
  for (let i = 0; !stopped; i++) {
    const wait = t0 + (i * 1000) / PROBE_RPS - performance.now()
    if (wait > 0) await Promise.race([sleep(wait), stop])
    if (!stopped) pending.push(one())
  }
  await Promise.all(pending)
  agent.destroy()
  return p
}

function addCounts(all: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const counts of all) for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n
  return out
}

/** Requests the pod made: answered ones, and those that got no answer. */
function asked(p: Probe): number {
  const unanswered = Object.entries(p.errorKinds).filter(([kind]) => !/^\d/.test(kind))
  return p.latenciesMs.length + unanswered.reduce((n, [, count]) => n + count, 0)
}

function rate(f: FloodResult): number {
  return Math.round(f.wrk.requests / f.wrk.seconds)
}

function percentile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b)
  const v = s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN
  return Math.round(v * 100) / 100
}

/** Sums of the broker's counters that the flood should move (its metrics endpoint). */
interface Counters {
  readonly reviews: number
  readonly busy: number
  readonly prechecked: number
  readonly unauthenticated: number
  readonly unavailable: number
}

async function counters(metricsUrl: string): Promise<Counters> {
  const text = await (await fetch(metricsUrl)).text()
  const sum = (re: RegExp): number => {
    let n = 0
    for (const m of text.matchAll(re)) n += Number(m[1])
    return n
  }
  return {
    reviews: sum(
      /^iam_sidecar_broker_token_reviews_total\{outcome="(?:ok|rejected|error)"\} (\d+)$/gm,
    ),
    busy: sum(/^iam_sidecar_broker_token_reviews_total\{outcome="busy"\} (\d+)$/gm),
    prechecked: sum(/^iam_sidecar_broker_token_precheck_refusals_total\{[^}]*\} (\d+)$/gm),
    unauthenticated: sum(
      /^iam_sidecar_broker_requests_total\{outcome="unauthenticated"\} (\d+)$/gm,
    ),
    unavailable: sum(/^iam_sidecar_broker_requests_total\{outcome="unavailable"\} (\d+)$/gm),
  }
}

interface WrkRun {
  readonly requests: number
  readonly seconds: number
  readonly socketErrors: number
  readonly output: string
}

/** wrk cycling through `tokens` (a Lua request hook), one thread per core. */
function startWrk(
  url: string,
  tokens: readonly string[],
  o: { seconds: number; connections: number },
): Promise<WrkRun> {
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-flood-'))
  const script = join(dir, 'garbage.lua')
  writeFileSync(
    script,
    [
      'local tokens = {',
      ...tokens.map((t) => `  ${JSON.stringify(`Bearer ${t}`)},`),
      '}',
      'local i = 0',
      'request = function()',
      '  i = i % #tokens + 1',
      '  return wrk.format(nil, nil, { ["Authorization"] = tokens[i] })',
      'end',
      '',
    ].join('\n'),
  )
  // Two threads reached more answers/s here than one (whose Lua hook and TLS saturate it).
  const threads = Number(process.env.FLOOD_WRK_THREADS ?? 2)
  const child = spawn(
    'wrk',
    [
      `-t${threads}`,
      `-c${o.connections}`,
      `-d${o.seconds}s`,
      '--timeout=10s',
      '-s',
      script,
      `${url}/v1/credentials`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true })
      const total = /(\d+) requests in ([\d.]+)(m|s)/.exec(out)
      if (code !== 0 || !total) return reject(new Error(`wrk failed (${code}):\n${out}`))
      const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
      resolve({
        requests: Number(total[1]),
        seconds: Number(total[2]) * (total[3] === 'm' ? 60 : 1),
        socketErrors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
        output: out,
      })
    })
  })
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/** Cheaply wrong tokens: a third not JWTs, a third expired real tokens, a third for another audience. */
function cheapGarbage(expiredFrom: readonly string[], otherAudience: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < 100; i++) {
    out.push(
      randomBytes(600 + i)
        .toString('base64url')
        .replace(/^(.{300})/, '$1.'),
    )
    const real = expiredFrom[i % expiredFrom.length]!
    const [h, p, s] = real.split('.')
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as { exp: number }
    out.push(`${h}.${b64({ ...claims, exp: claims.exp - 7200 - i })}.${s}`)
    out.push(otherAudience[i % otherAudience.length]!)
  }
  return out
}

/**
 * Well-formed forged tokens: right audience, future exp, a signature the cluster never made;
 * each distinct (the broker makes one review per token at a time, so a repeated one is cheap).
 */
function forgedTokens(real: string): string[] {
  const [h, p] = real.split('.')
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
  return Array.from(
    { length: 20_000 },
    (_, i) =>
      `${h}.${b64({ ...claims, jti: `forged-${i}` })}.${randomBytes(256).toString('base64url')}`,
  )
}

interface FloodResult {
  readonly wrk: WrkRun
  readonly brokerCounted: Counters
  readonly probe: Probe
}

/** wrk for FLOOD_SECONDS; the pod probes from 2 s in to 2 s before the end. */
async function flood(
  b: BrokerProcess,
  ca: Buffer,
  token: string,
  garbage: { tokens: string[]; connections: number },
): Promise<FloodResult> {
  const before = await counters(b.metricsUrl)
  const run = startWrk(b.url, garbage.tokens, {
    seconds: FLOOD_SECONDS,
    connections: garbage.connections,
  })
  await sleep(2000)
  const probed = probe(b.url, ca, token, sleep((FLOOD_SECONDS - 4) * 1000))
  const [wrkRun, p] = await Promise.all([run, probed])
  const after = await counters(b.metricsUrl)
  const keys = Object.keys(after) as (keyof Counters)[]
  const brokerCounted = Object.fromEntries(
    keys.map((k) => [k, after[k] - before[k]]),
  ) as unknown as Counters
  return { wrk: wrkRun, brokerCounted, probe: p }
}

/** What the forged flood showed, in words: it is the case the pre-check cannot take away. */
function forgedNote(f: FloodResult): string {
  const failed = f.probe.errors
  const bound =
    f.brokerCounted.busy > 0
      ? `the TokenReview queue filled and ${f.brokerCounted.busy} reviews were refused at once (503 TokenReviewBusy)`
      : "the TokenReview queue never filled (no 503 TokenReviewBusy): the backlog waited in the broker's sockets, ahead of its queue"
  return (
    `well-formed forged tokens pass the pre-check, so each costs a TokenReview; over ${FORGED_CONNECTIONS} connections the broker answered ${rate(f)}/s and ${bound}. ` +
    `The pod's fetches (known tokens go first in the queue) still waited behind the flood's requests, which the CPU-bound broker reads and answers in arrival order: ` +
    `p50 ${percentile(f.probe.latenciesMs, 0.5)} ms, ${failed} of ${asked(f.probe)} without an answer within 5 s. ` +
    'Not solved here: refusing a source that keeps failing review before any TokenReview would turn this flood into the cheap one.'
  )
}

async function main(): Promise<void> {
  ensureDebianTools({ wrk: 'wrk' })
  console.log('# starting the control plane')
  const plane = await startControlPlane({ controllerManager: false })
  try {
    const { cluster } = makeTestCluster(plane)
    const broker = await startBrokerProcess(cluster, ['--log-level=warn', '--token-review-ttl=0s'])
    try {
      const ca = readFileSync(broker.caFile)
      const ns = await cluster.freshNamespace('flood', {}, { 'iam-sidecar/permitted': '.*' })
      await createServiceAccount(cluster, ns, 'app', { 'iam-sidecar/role': 'bench' })
      const pod = await createPod(cluster, { namespace: ns, name: 'real' })
      const token = await podToken(cluster, pod)
      const others = await Promise.all(
        ['garbage-1', 'garbage-2', 'garbage-3'].map((name) =>
          createPod(cluster, { namespace: ns, name }),
        ),
      )
      const expiredFrom = await Promise.all(others.map((o) => podToken(cluster, o)))
      const otherAudience = await Promise.all(
        others.flatMap((o) =>
          ['sts.amazonaws.com', 'https://kubernetes.default.svc'].map((audience) =>
            podToken(cluster, o, { audience }),
          ),
        ),
      )

      await probe(broker.url, ca, token, sleep(2000)) // warm: session assumed
      const cheapTokens = cheapGarbage(expiredFrom, otherAudience)
      const runs: { baseline: Probe; cheap: FloodResult }[] = []
      for (let run = 1; run <= RUNS; run++) {
        console.log(`# run ${run}: the pod alone, ${PROBE_RPS} fetches/s for ${BASELINE_SECONDS} s`)
        const baseline = await probe(broker.url, ca, token, sleep(BASELINE_SECONDS * 1000))
        console.log(
          `# run ${run}: cheap flood, ${CONNECTIONS} connections for ${FLOOD_SECONDS} s (target ${TARGET_RPS}/s)`,
        )
        const cheap = await flood(broker, ca, token, {
          tokens: cheapTokens,
          connections: CONNECTIONS,
        })
        console.log(
          `# run ${run}: ${rate(cheap)}/s, pod p99 ${percentile(cheap.probe.latenciesMs, 0.99)} ms (alone ${percentile(baseline.latenciesMs, 0.99)} ms); ${JSON.stringify(cheap.brokerCounted)}`,
        )
        runs.push({ baseline, cheap })
      }

      console.log(`# forged flood: ${FORGED_CONNECTIONS} connections for ${FLOOD_SECONDS} s`)
      const forged = await flood(broker, ca, token, {
        tokens: forgedTokens(token),
        connections: FORGED_CONNECTIONS,
      })
      console.log(`# forged flood: ${JSON.stringify(forged.brokerCounted)}`)

      const cheapRps = median(runs.map((r) => rate(r.cheap)))
      const sum = (f: (r: (typeof runs)[number]) => number): number =>
        runs.reduce((n, r) => n + f(r), 0)
      const p = (probes: Probe[], q: number): number =>
        median(probes.map((pr) => percentile(pr.latenciesMs, q)))
      const baselines = runs.map((r) => r.baseline)
      const during = runs.map((r) => r.cheap.probe)
      const results = {
        garbage_flood_target_rps: TARGET_RPS,
        // Medians over the runs; the _runs lists give each.
        garbage_flood_rps: cheapRps,
        garbage_flood_rps_runs: runs.map((r) => rate(r.cheap)),
        garbage_flood_runs: RUNS,
        garbage_flood_seconds: FLOOD_SECONDS,
        garbage_flood_connections: CONNECTIONS,
        // Totals over the runs.
        garbage_flood_requests: sum((r) => r.cheap.wrk.requests),
        garbage_flood_refused_401: sum((r) => r.cheap.brokerCounted.unauthenticated),
        garbage_flood_refused_by_precheck: sum((r) => r.cheap.brokerCounted.prechecked),
        // All TokenReviews while the floods ran: the pod's own fetches (concurrent ones share
        // one review) account for them when this is at most valid_requests_during_flood.
        token_reviews_during_flood: sum((r) => r.cheap.brokerCounted.reviews),
        garbage_flood_token_reviews_at_most: Math.max(
          0,
          sum((r) => r.cheap.brokerCounted.reviews - asked(r.cheap.probe)),
        ),
        garbage_flood_socket_errors: sum((r) => r.cheap.wrk.socketErrors),
        valid_probe_rps: PROBE_RPS,
        valid_p50_ms_no_flood: p(baselines, 0.5),
        valid_p99_ms_no_flood: p(baselines, 0.99),
        valid_p99_ms_no_flood_runs: baselines.map((b) => percentile(b.latenciesMs, 0.99)),
        valid_requests_no_flood: baselines.reduce((n, b) => n + asked(b), 0),
        valid_errors_no_flood: baselines.reduce((n, b) => n + b.errors, 0),
        valid_p50_ms_during_flood: p(during, 0.5),
        valid_p99_ms_during_flood: p(during, 0.99),
        valid_p99_ms_during_flood_runs: during.map((d) => percentile(d.latenciesMs, 0.99)),
        valid_max_ms_during_flood: Math.round(Math.max(...during.flatMap((d) => d.latenciesMs))),
        valid_requests_during_flood: during.reduce((n, d) => n + asked(d), 0),
        valid_errors_during_flood: during.reduce((n, d) => n + d.errors, 0),
        valid_error_kinds_during_flood: addCounts(during.map((d) => d.errorKinds)),
        forged_flood_rps: rate(forged),
        forged_flood_seconds: forged.wrk.seconds,
        forged_flood_connections: FORGED_CONNECTIONS,
        forged_flood_token_reviews: forged.brokerCounted.reviews,
        forged_flood_busy_503: forged.brokerCounted.busy,
        forged_flood_socket_errors: forged.wrk.socketErrors,
        valid_p50_ms_during_forged_flood: percentile(forged.probe.latenciesMs, 0.5),
        valid_p99_ms_during_forged_flood: percentile(forged.probe.latenciesMs, 0.99),
        valid_requests_during_forged_flood: asked(forged.probe),
        valid_errors_during_forged_flood: forged.probe.errors,
        valid_error_kinds_during_forged_flood: forged.probe.errorKinds,
        garbage_flood_note:
          cheapRps >= TARGET_RPS
            ? `the target of ${TARGET_RPS} garbage requests/s was reached`
            : `the target of ${TARGET_RPS} garbage requests/s was NOT reached on this machine (${cpus().length} cores shared by wrk, the broker, the API server, etcd and moto): wrk over ${CONNECTIONS} keep-alive connections got a median of ${cheapRps} answers/s from the broker (it is CPU-bound), and the pod's figures are at that rate`,
        forged_flood_note: forgedNote(forged),
        node_version: process.version,
        machine: machine(),
      }
      writeResults('reliability-flood.json', results)
    } finally {
      await broker.stop()
    }
  } finally {
    await plane.stop()
  }
}

await main()
