import { describe, it } from 'node:test'
import { DEFAULT_POLICY_OPTIONS } from '../lib/policy.ts'
import assert from 'node:assert/strict'
import type { V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { FakeClock } from '../lib/fake-clock.ts'
import type { HttpError } from '../lib/errors.ts'
import { createLogger } from '../lib/log.ts'
import { limitedAssume } from './assume.ts'
import type { AuthoriseConfig } from './authorise.ts'
import { FakeEvents } from './events.ts'
import { FakeAssumer, fakeSession } from './fake-assumer.ts'
import { FakeTokenReviewer } from './fake-token-reviewer.ts'
import { issueCredentials, type IssueDeps } from './issue-credentials.ts'
import type { ObjectLookup } from '../lib/kube-objects.ts'
import { SessionCache } from './session-cache.ts'
import { StsError } from './sts.ts'
import { BrokerIdentityHealth } from './broker-identity.ts'

const quiet = createLogger({ level: 'error', component: 'test', write: () => {} })
const cfg: AuthoriseConfig = {
  mode: 'cluster',
  nodeName: undefined,
  policy: DEFAULT_POLICY_OPTIONS,
  baseRoleArn: 'arn:aws:iam::123456789012:role/',
  clusterName: 'c',
  sessionTags: true,
  sourceIdentity: false,
  sessionDurationSeconds: 3600,
}
const pod = (name: string, uid: string): V1Pod => ({
  metadata: {
    name,
    namespace: 'ns',
    uid,
    annotations: { 'iam-sidecar/role': 'web' },
    labels: { 'iam-sidecar/injected': 'true' },
  },
  spec: {
    serviceAccountName: 'app',
    initContainers: [{ name: 'iam-sidecar', image: 'iam-sidecar:1', restartPolicy: 'Always' }],
    containers: [],
  },
})
const objects: ObjectLookup = {
  pod: async (_ns, name, uid) => pod(name, uid),
  namespace: async (): Promise<V1Namespace> => ({
    metadata: { name: 'ns', annotations: { 'iam-sidecar/permitted': '.*' } },
  }),
  serviceAccount: async (): Promise<V1ServiceAccount> => ({ metadata: { name: 'app' } }),
}
const counter = () => ({
  n: 0,
  inc() {
    this.n++
  },
})
const metrics = { stsCalls: counter(), stsSeconds: { startTimer: () => () => 0 } } as never

function setup(scope: 'pod' | 'shared' = 'pod') {
  const clock = new FakeClock()
  const reviewer = new FakeTokenReviewer()
  for (const i of [1, 2])
    reviewer.tokens.set(`t${i}`, {
      namespace: 'ns',
      serviceAccount: 'app',
      podName: `p${i}`,
      podUid: `u${i}`,
      nodeName: 'n',
    })
  const assumer = new FakeAssumer()
  const events = new FakeEvents()
  const deps: IssueDeps = {
    reviewer,
    objects,
    authoriseConfig: () => cfg,
    scope,
    events,
    log: quiet,
    identity: new BrokerIdentityHealth({
      probe: () => assumer.callerIdentity(),
      clock,
      random: () => 0,
      log: quiet,
    }),
    sessions: new SessionCache({
      max: 100,
      clock,
      minRemainingMs: 40 * 60_000,
      prefetchBelowMs: 50 * 60_000,
      log: quiet,
    }),
    assume: limitedAssume(assumer, {
      stsRate: 100,
      stsBurst: 100,
      stsAttempts: 3,
      clock,
      random: () => 0,
      metrics,
      log: quiet,
    }),
  }
  return { clock, assumer, events, deps }
}

describe('issueCredentials', () => {
  it('caches per pod in pod scope and per ServiceAccount in shared scope', async () => {
    for (const [scope, calls] of [
      ['pod', 2],
      ['shared', 1],
    ] as const) {
      const { clock, assumer, deps } = setup(scope)
      assumer.push(fakeSession(1, clock.now() + 3_600_000), fakeSession(2, clock.now() + 3_600_000))
      await Promise.all([
        issueCredentials('t1', deps),
        issueCredentials('t2', deps),
        issueCredentials('t1', deps),
      ])
      assert.equal(assumer.calls, calls, scope)
    }
  })

  it('turns an STS denial into 403 with what to do, an Event, and no retry', async () => {
    const { assumer, events, deps } = setup()
    assumer.push(new StsError('denied', 'AccessDenied', 'not authorized to perform sts:AssumeRole'))
    await assert.rejects(
      issueCredentials('t1', deps),
      (e: HttpError) =>
        e.status === 403 &&
        e.code === 'AssumeRoleDenied' &&
        /trust policy must trust the broker/.test(e.message),
    )
    assert.equal(assumer.calls, 1)
    assert.deepEqual(
      events.events.map((e) => e.event.reason),
      ['IamSidecarAssumeRoleDenied'],
    )
  })

  it("answers a fault of the broker's own identity with 503 and what to fix, never a denial", async () => {
    const { assumer, events, deps } = setup()
    assumer.push(
      new StsError(
        'identity',
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
      ),
    )
    await assert.rejects(
      issueCredentials('t1', deps),
      (e: HttpError) =>
        e.status === 503 &&
        e.code === 'BrokerIdentityFault' &&
        /not this pod/.test(e.message) &&
        /access key/.test(e.message),
    )
    assert.equal(assumer.calls, 1, 'not retried at once: the same call fails the same way')
    assert.deepEqual(
      events.events.map((e) => e.event.reason),
      ['IamSidecarBrokerIdentityFault'],
    )
  })

  it('AccessDenied for three different roles in a row is answered as the broker identity fault', async () => {
    const { assumer, deps } = setup()
    const role = (name: string): IssueDeps => ({
      ...deps,
      objects: {
        ...objects,
        pod: async (_ns, n, uid) => {
          const p = pod(n, uid)
          p.metadata!.annotations = { 'iam-sidecar/role': name }
          return p
        },
      },
    })
    const outcomes: string[] = []
    for (const name of ['a', 'b', 'b', 'c', 'd']) {
      assumer.push(
        new StsError('denied', 'AccessDenied', 'not authorized to perform sts:AssumeRole'),
      )
      await issueCredentials('t1', role(name)).catch((e: HttpError) =>
        outcomes.push(`${name} ${e.status} ${e.code}`),
      )
    }
    assert.deepEqual(outcomes, [
      'a 403 AssumeRoleDenied',
      'b 403 AssumeRoleDenied',
      'b 403 AssumeRoleDenied',
      'c 503 BrokerIdentityFault',
      'd 503 BrokerIdentityFault',
    ])
  })

  it('retries throttling up to the attempt limit, then answers 503 and records an Event', async () => {
    const { clock, assumer, events, deps } = setup()
    const throttled = new StsError('throttled', 'Throttling', 'Rate exceeded')
    assumer.push(throttled, throttled, throttled)
    const p = issueCredentials('t1', deps)
    const outcome = p.then(
      () => 'ok',
      (e: HttpError) => `${e.status} ${e.code}`,
    )
    await clock.advance(60_000)
    assert.equal(await outcome, '503 StsUnavailable')
    assert.equal(assumer.calls, 3)
    assert.equal(events.events[0]?.event.reason, 'IamSidecarStsUnavailable')
  })

  it('records an Event for a denial of a live pod', async () => {
    const { events, deps } = setup()
    const denyAll: IssueDeps = {
      ...deps,
      objects: { ...objects, namespace: async () => ({ metadata: { name: 'ns' } }) },
    }
    await assert.rejects(
      issueCredentials('t1', denyAll),
      (e: HttpError) => e.code === 'NamespaceHasNoPolicy',
    )
    assert.equal(events.events.length, 1)
    assert.equal(events.events[0]?.pod.uid, 'u1')
  })
})
