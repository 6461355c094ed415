// STS calls per session per hour, measured on a compressed clock: real sidecar caches (refresh
// window, jitter) asking the real broker flow (token review cache, decide, session cache), with a
// fake clock and a fake STS that issues sessions on that clock. Hours pass in milliseconds.
import { DEFAULT_POLICY_OPTIONS } from '../lib/policy.ts'
import type { V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { FakeClock } from '../lib/fake-clock.ts'
import { createLogger } from '../lib/log.ts'
import { limitedAssume } from '../broker/assume.ts'
import { FakeEvents } from '../broker/events.ts'
import { FakeAssumer, fakeSession } from '../broker/fake-assumer.ts'
import { FakeTokenReviewer } from '../broker/fake-token-reviewer.ts'
import { issueCredentials, type IssueDeps } from '../broker/issue-credentials.ts'
import { SessionCache } from '../broker/session-cache.ts'
import { CredentialCache } from '../sidecar/credential-cache.ts'
import { UpstreamError } from '../sidecar/credential-source.ts'
import { toStsError } from '../broker/aws-assumer.ts'
import { classifyBrokerStatus } from '../lib/broker-wire.ts'
import type { HttpError } from '../lib/errors.ts'
import { BrokerIdentityHealth } from '../broker/broker-identity.ts'
import {
  DEFAULT_REFRESH_WINDOW_MS,
  sessionTiming,
  type SessionTiming,
} from '../lib/session-timing.ts'

const MIN = 60_000
const quiet = createLogger({ level: 'error', component: 'sim', write: () => {} })
const counter = { inc: () => {}, startTimer: () => () => 0 }

/**
 * STS calls per session-hour. `replicas` brokers behind one Service, each with its own session
 * cache: every sidecar fetch goes to one of them at random (a new connection each time: the
 * broker closes keep-alive connections after 5 s idle, and fetches are minutes apart).
 */
export async function stsCallsPerSessionHour(o: {
  pods: number
  hours: number
  sessionMinutes?: number
  replicas?: number
  scope?: 'pod' | 'shared'
}): Promise<{ calls: number; perSessionHour: number }> {
  const sim = simulation(o)
  // Advance in one-minute steps so every timer fires in order.
  for (let m = 0; m < o.hours * 60; m++) await sim.clock.advance(MIN)
  sim.stop()
  const calls = sim.assumer.inputs.length
  return { calls, perSessionHour: calls / (o.pods * o.hours) }
}

/**
 * What one session duration costs with the derived defaults (lib/session-timing.ts): STS calls
 * and sidecar fetches per pod-hour, the least lifetime a sidecar was handed, and how often a
 * sidecar was handed the session it already held (it then asks again at once).
 */
export async function sessionTimingCosts(o: {
  pods: number
  hours: number
  sessionMinutes: number
  scope: 'pod' | 'shared'
}): Promise<{
  timing: SessionTiming
  stsPerPodHour: number
  fetchesPerPodHour: number
  leastHandedOutMin: number
  sameSessionAgain: number
}> {
  const sim = simulation(o)
  for (let m = 0; m < o.hours * 60; m++) await sim.clock.advance(MIN)
  sim.stop()
  const podHours = o.pods * o.hours
  return {
    timing: sim.timing,
    stsPerPodHour: sim.assumer.inputs.length / podHours,
    fetchesPerPodHour: sim.handedOut.count / podHours,
    leastHandedOutMin: sim.handedOut.leastMs / MIN,
    sameSessionAgain: sim.handedOut.sameAgain,
  }
}

/**
 * Pods that stopped serving credentials that were still valid while the broker's own identity
 * was broken (STS answering InvalidClientTokenId to AssumeRole and GetCallerIdentity, through
 * the real error classification) from minute `faultFrom` for `faultMinutes`.
 */
export async function podsDroppedDuringIdentityFault(o: {
  pods: number
  faultFrom: number
  faultMinutes: number
  hours: number
}): Promise<{ dropped: number; refreshesFailed: number }> {
  let broken = false
  const sim = simulation({
    pods: o.pods,
    fail: () =>
      broken
        ? toStsError({
            name: 'InvalidClientTokenId',
            Code: 'InvalidClientTokenId',
            message: 'The security token included in the request is invalid.',
            $metadata: { httpStatusCode: 403 },
          })
        : undefined,
  })
  const dropped = new Set<number>()
  for (let m = 0; m < o.hours * 60; m++) {
    broken = m >= o.faultFrom && m < o.faultFrom + o.faultMinutes
    await sim.clock.advance(MIN)
    sim.caches.forEach((c, i) => {
      const valid = (sim.held[i] ?? 0) - 2_000 > sim.clock.now()
      if (valid && c.snapshot().kind !== 'ok') dropped.add(i)
    })
  }
  sim.stop()
  return { dropped: dropped.size, refreshesFailed: sim.failures() }
}

interface Simulation {
  readonly timing: SessionTiming
  /** What sidecars were handed: how many times, the least lifetime, the same session again. */
  readonly handedOut: { count: number; leastMs: number; sameAgain: number }
  readonly clock: FakeClock
  readonly assumer: FakeAssumer
  readonly caches: readonly CredentialCache[]
  /** Expiry of the credentials each pod last received. */
  readonly held: readonly number[]
  failures(): number
  stop(): void
}

function simulation(o: {
  pods: number
  sessionMinutes?: number
  scope?: 'pod' | 'shared'
  replicas?: number
  fail?: () => unknown
}): Simulation {
  const clock = new FakeClock()
  const duration = (o.sessionMinutes ?? 60) * MIN
  // The broker's defaults for this duration and the sidecars' default window.
  const derived = sessionTiming({
    durationMs: duration,
    refreshWindowMs: DEFAULT_REFRESH_WINDOW_MS,
  })
  if (!derived.ok) throw new Error(derived.message)
  const timing = derived.timing
  const handedOut = { count: 0, leastMs: Infinity, sameAgain: 0 }
  let n = 0
  let failures = 0
  const assumer = new FakeAssumer()
  // Every AssumeRole answers with a fresh session on the simulated clock, unless `fail` says.
  assumer.assumeRole = async (input) => {
    assumer.inputs.push(input)
    const err = o.fail?.()
    if (err) throw err
    return fakeSession(++n, clock.now() + duration, input.roleArn)
  }
  assumer.callerIdentity = async () => {
    const err = o.fail?.()
    if (err) throw err
    return { account: '123456789012', arn: 'arn:aws:iam::123456789012:user/broker' }
  }
  const reviewer = new FakeTokenReviewer()
  /** One broker replica: its own session cache, identity health and STS limiter. */
  const replica = (): IssueDeps => ({
    reviewer,
    objects: {
      pod: async (ns, name, uid): Promise<V1Pod> => ({
        metadata: {
          name,
          namespace: ns,
          uid,
          annotations: { 'iam-sidecar/role': 'app' },
          labels: { 'iam-sidecar/injected': 'true' },
        },
        spec: {
          serviceAccountName: 'app',
          initContainers: [{ name: 'iam-sidecar', image: 'iam-sidecar', restartPolicy: 'Always' }],
          containers: [],
        },
      }),
      namespace: async (): Promise<V1Namespace> => ({
        metadata: { name: 'ns', annotations: { 'iam-sidecar/permitted': '.*' } },
      }),
      serviceAccount: async (): Promise<V1ServiceAccount> => ({ metadata: { name: 'app' } }),
    },
    authoriseConfig: () => ({
      mode: 'cluster',
      nodeName: undefined,
      policy: DEFAULT_POLICY_OPTIONS,
      baseRoleArn: 'arn:aws:iam::123456789012:role/',
      clusterName: 'sim',
      sessionTags: true,
      sourceIdentity: true,
      sessionDurationSeconds: duration / 1000,
    }),
    sessions: new SessionCache({
      max: 100_000,
      clock,
      minRemainingMs: timing.minRemainingMs,
      prefetchBelowMs: timing.prefetchBelowMs,
      log: quiet,
    }),
    scope: o.scope ?? 'pod',
    identity: new BrokerIdentityHealth({
      probe: () => assumer.callerIdentity(),
      clock,
      random: Math.random,
      log: quiet,
    }),
    assume: limitedAssume(assumer, {
      stsRate: 1000,
      stsBurst: 1000,
      stsAttempts: 4,
      clock,
      random: Math.random,
      metrics: { stsCalls: counter, stsSeconds: counter } as never,
      log: quiet,
    }),
    events: new FakeEvents(),
    log: quiet,
  })
  const replicas = Array.from({ length: o.replicas ?? 1 }, replica)
  const anyReplica = (): IssueDeps => replicas[Math.floor(Math.random() * replicas.length)]!
  const caches: CredentialCache[] = []
  /** Expiry of the credentials each pod last received. */
  const held: number[] = []
  const heldKeys: string[] = []
  for (let i = 0; i < o.pods; i++) {
    const token = `token-${i}`
    reviewer.tokens.set(token, {
      namespace: 'ns',
      serviceAccount: 'app',
      podName: `pod-${i}`,
      podUid: `uid-${i}`,
      nodeName: 'node',
    })
    const cache = new CredentialCache({
      source: {
        // What the sidecar's BrokerClient makes of the broker's answer (lib/broker-wire.ts).
        fetch: () =>
          issueCredentials(token, anyReplica()).then(
            (creds) => {
              handedOut.count++
              handedOut.leastMs = Math.min(handedOut.leastMs, creds.expiresAt - clock.now())
              if (heldKeys[i] === creds.accessKeyId) handedOut.sameAgain++
              heldKeys[i] = creds.accessKeyId
              held[i] = creds.expiresAt
              return creds
            },
            (err: HttpError) => {
              failures++
              const kind = classifyBrokerStatus(err.status)
              throw new UpstreamError(kind === 'ok' ? 'transient' : kind, err.code, err.message)
            },
          ),
      },
      clock,
      random: Math.random,
      refreshWindowMs: timing.refreshWindowMs,
      log: quiet,
    })
    cache.start()
    caches.push(cache)
  }
  return {
    timing,
    handedOut,
    clock,
    assumer,
    caches,
    held,
    failures: () => failures,
    stop: () => caches.forEach((c) => c.stop()),
  }
}
