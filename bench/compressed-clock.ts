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

const MIN = 60_000
const quiet = createLogger({ level: 'error', component: 'sim', write: () => {} })
const counter = { inc: () => {}, startTimer: () => () => 0 }

export async function stsCallsPerSessionHour(o: {
  pods: number
  hours: number
  sessionMinutes?: number
}): Promise<{ calls: number; perSessionHour: number }> {
  const clock = new FakeClock()
  const duration = (o.sessionMinutes ?? 60) * MIN
  let n = 0
  const assumer = new FakeAssumer()
  // Every AssumeRole answers with a fresh session on the simulated clock.
  assumer.assumeRole = async (input) => {
    assumer.inputs.push(input)
    return fakeSession(++n, clock.now() + duration, input.roleArn)
  }
  const reviewer = new FakeTokenReviewer()
  const deps: IssueDeps = {
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
        spec: { serviceAccountName: 'app', containers: [] },
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
      minRemainingMs: 40 * MIN,
      prefetchBelowMs: 50 * MIN,
      log: quiet,
    }),
    scope: 'pod',
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
  }
  const caches: CredentialCache[] = []
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
      source: { fetch: () => issueCredentials(token, deps) },
      clock,
      random: Math.random,
      refreshWindowMs: 30 * MIN,
      log: quiet,
    })
    cache.start()
    caches.push(cache)
  }
  // Advance in one-minute steps so every timer fires in order.
  for (let m = 0; m < o.hours * 60; m++) await clock.advance(MIN)
  for (const c of caches) c.stop()
  const calls = assumer.inputs.length
  return { calls, perSessionHour: calls / (o.pods * o.hours) }
}
