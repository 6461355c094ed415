// The broker on real peers: tokens issued and reviewed by the real API server, pods read through
// informers, sessions assumed from moto; every refusal checked with its message.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { useCluster } from '../peers/cluster.ts'
import {
  httpsGet,
  startRealBroker,
  BROKER_AWS_CREDENTIALS,
  type TestBrokerRuntime,
} from '../support/broker-fixture.ts'
import { createPod, createServiceAccount, podToken } from '../support/pods.ts'
import { recordedAssumeRoles, startRecording } from '../support/moto-recording.ts'
import { readSecret, startSidecar } from '../support/sidecar-process.ts'

const cluster = await useCluster()
const core = cluster.kc.makeApiClient(CoreV1Api)
const ACCOUNT = '123456789012' // moto's account for any caller: the auto-detected base ARN
const POLICY = `arn:aws:iam::${ACCOUNT}:role/(web|api)`

let broker: TestBrokerRuntime
let ns: string
const issued: string[] = []
const tokens: string[] = []

before(async () => {
  broker = await startRealBroker(cluster)
  ns = await cluster.freshNamespace('broker', {}, { 'iam-sidecar/permitted': POLICY })
  await createServiceAccount(cluster, ns)
})
after(() => broker?.close())

async function credentialsFor(
  token: string,
  b: TestBrokerRuntime = broker,
): Promise<{ status: number; json: Record<string, string> }> {
  tokens.push(token)
  const res = await httpsGet(`${b.url}/v1/credentials`, b.caFile, {
    authorization: `Bearer ${token}`,
  })
  const json = JSON.parse(res.body) as Record<string, string>
  if (json.SecretAccessKey) issued.push(json.SecretAccessKey, json.Token!)
  return { status: res.status, json }
}

async function metricsText(b: TestBrokerRuntime = broker): Promise<string> {
  return (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text()
}

/** TokenReview calls the broker made (its metrics endpoint: ok + rejected + error). */
async function tokenReviewCalls(b: TestBrokerRuntime = broker): Promise<number> {
  const text = await metricsText(b)
  let n = 0
  for (const m of text.matchAll(
    /^iam_sidecar_broker_token_reviews_total\{outcome="(ok|rejected|error)"\} (\d+)$/gm,
  ))
    n += Number(m[2])
  return n
}

async function podWith(
  name: string,
  annotations: Record<string, string>,
  extra: Partial<Parameters<typeof createPod>[1]> = {},
): Promise<{ pod: V1Pod; token: string }> {
  const pod = await createPod(cluster, { namespace: ns, name, annotations, ...extra })
  return { pod, token: await podToken(cluster, pod) }
}

async function expectRefused(
  token: string,
  [status, code, message]: [number, string, RegExp],
  b?: TestBrokerRuntime,
): Promise<void> {
  const res = await credentialsFor(token, b)
  assert.equal(res.status, status, JSON.stringify(res.json))
  assert.equal(res.json.code, code)
  assert.match(res.json.message!, message)
  assert.equal(res.json.SecretAccessKey, undefined)
}

describe('broker on a real API server and moto', () => {
  it('gives a permitted pod its role: GetCallerIdentity shows assumed-role/<role>/<session of that pod>', async () => {
    const { token } = await podWith('web-1', { 'iam-sidecar/role': 'web' })
    const res = await credentialsFor(token)
    assert.equal(res.status, 200, JSON.stringify(res.json))
    assert.equal(res.json.RoleArn, `arn:aws:iam::${ACCOUNT}:role/web`)
    const sts = new STSClient({
      endpoint: cluster.info.stsEndpoint,
      region: 'us-east-1',
      credentials: {
        accessKeyId: res.json.AccessKeyId!,
        secretAccessKey: res.json.SecretAccessKey!,
        sessionToken: res.json.Token!,
      },
    })
    const me = await sts.send(new GetCallerIdentityCommand({}))
    assert.match(
      me.Arn!,
      new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/web/${ns}\\.web-1-[0-9a-f]{8}$`),
    )
  })

  it('sends STS the session name, SourceIdentity, ExternalId and session tags of the pod', async () => {
    await startRecording(cluster.info.stsEndpoint)
    const { pod, token } = await podWith('tagged', {
      'iam-sidecar/role': 'web',
      'iam-sidecar/external-id': 'ext-42',
    })
    assert.equal((await credentialsFor(token)).status, 200)
    const [sent, ...more] = await recordedAssumeRoles(cluster.info.stsEndpoint, (name) =>
      name.startsWith(`${ns}.tagged-`),
    )
    assert.ok(sent, 'the AssumeRole call is in the recording')
    assert.equal(more.length, 0)
    assert.match(sent.get('RoleSessionName')!, new RegExp(`^${ns}\\.tagged-[0-9a-f]{8}$`))
    assert.equal(sent.get('RoleArn'), `arn:aws:iam::${ACCOUNT}:role/web`)
    assert.equal(sent.get('DurationSeconds'), '3600')
    assert.equal(sent.get('SourceIdentity'), `${ns}@app`)
    assert.equal(sent.get('ExternalId'), 'ext-42')
    const tags = Object.fromEntries(
      [1, 2, 3, 4, 5, 6].map((i) => [
        sent.get(`Tags.member.${i}.Key`),
        sent.get(`Tags.member.${i}.Value`),
      ]),
    )
    assert.deepEqual(tags, {
      'kubernetes-namespace': ns,
      'kubernetes-service-account': 'app',
      'kubernetes-pod-name': 'tagged',
      'kubernetes-pod-uid': pod.metadata!.uid,
      'kubernetes-node-name': 'node-a',
      'cluster-name': 'test-cluster',
    })
  })

  it('answers a second request from its cache, without another STS call', async () => {
    const { token } = await podWith('web-2', { 'iam-sidecar/role': 'web' })
    const first = await credentialsFor(token)
    const calls = (await broker.metrics.stsCalls.get()).values.reduce((a, v) => a + v.value, 0)
    const second = await credentialsFor(token)
    assert.equal(second.json.AccessKeyId, first.json.AccessKeyId)
    assert.equal(
      (await broker.metrics.stsCalls.get()).values.reduce((a, v) => a + v.value, 0),
      calls,
    )
  })

  it('takes the role from the ServiceAccount, or from the kube2iam/kiam annotation', async () => {
    await createServiceAccount(cluster, ns, 'api-sa', { 'iam-sidecar/role': 'api' })
    const viaSa = await podWith('sa-role', {}, { serviceAccount: 'api-sa' })
    assert.equal(
      (await credentialsFor(viaSa.token)).json.RoleArn,
      `arn:aws:iam::${ACCOUNT}:role/api`,
    )
    const legacy = await podWith('kube2iam', {
      'iam.amazonaws.com/role': `arn:aws:iam::${ACCOUNT}:role/web`,
    })
    assert.equal(
      (await credentialsFor(legacy.token)).json.RoleArn,
      `arn:aws:iam::${ACCOUNT}:role/web`,
    )
  })

  it('refuses a role the namespace does not permit, and records an Event on the pod', async () => {
    const { pod, token } = await podWith('admin-1', { 'iam-sidecar/role': 'admin' })
    await expectRefused(token, [
      403,
      'RoleNotPermitted',
      new RegExp(`role arn:aws:iam::${ACCOUNT}:role/admin is not permitted in namespace ${ns}`),
    ])
    const deadline = Date.now() + 5000
    let reasons: string[] = []
    while (Date.now() < deadline) {
      const evs = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: `involvedObject.uid=${pod.metadata!.uid}`,
      })
      reasons = evs.items.map((e) => `${e.type}/${e.reason}: ${e.message}`)
      if (reasons.length > 0) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(reasons.length, 1, 'one Event')
    assert.match(reasons[0]!, /^Warning\/IamSidecarRoleNotPermitted: role .* is not permitted/)
  })

  it('refuses every pod of a namespace without a policy', async () => {
    const bare = await cluster.freshNamespace('nopolicy')
    await createServiceAccount(cluster, bare)
    const pod = await createPod(cluster, {
      namespace: bare,
      name: 'p',
      annotations: { 'iam-sidecar/role': 'web' },
    })
    await expectRefused(await podToken(cluster, pod), [
      403,
      'NamespaceHasNoPolicy',
      /has no iam-sidecar\/permitted annotation/,
    ])
  })

  it('refuses the token of a deleted pod', async () => {
    const { token } = await podWith('gone', { 'iam-sidecar/role': 'web' })
    await core.deleteNamespacedPod({ name: 'gone', namespace: ns, gracePeriodSeconds: 0 })
    await expectRefused(token, [401, 'InvalidToken', /rejected by TokenReview/])
  })

  it('refuses a token for another audience and a token not bound to a pod', async () => {
    const { pod } = await podWith('aud', { 'iam-sidecar/role': 'web' })
    await expectRefused(await podToken(cluster, pod, { audience: 'sts.amazonaws.com' }), [
      401,
      'WrongAudience',
      /not issued for the audience "iam-sidecar"/,
    ])
    await expectRefused(await podToken(cluster, pod, { bound: false }), [
      401,
      'TokenNotPodBound',
      /not bound to a pod/,
    ])
  })

  it('refuses forged, malformed and missing tokens', async () => {
    const { token } = await podWith('forge', { 'iam-sidecar/role': 'web' })
    const [h, p] = token.split('.')
    await expectRefused(`${h}.${p}.${'A'.repeat(342)}`, [401, 'InvalidToken', /rejected/])
    await expectRefused('not a token', [401, 'MissingToken', /Bearer/])
    const res = await httpsGet(`${broker.url}/v1/credentials`, broker.caFile)
    assert.equal(res.status, 401)
  })

  it('refuses cheaply wrong tokens (not a JWT, expired, another audience) with the reason, without a TokenReview', async () => {
    const { pod, token } = await podWith('cheap', { 'iam-sidecar/role': 'web' })
    const [h, p, s] = token.split('.')
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as { exp: number }
    const expired = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp - 7200 })).toString('base64url')}.${s}`
    const otherAudience = await podToken(cluster, pod, { audience: 'sts.amazonaws.com' })
    const reviewsBefore = await tokenReviewCalls()
    await expectRefused('abc.def', [401, 'TokenNotJwt', /not a JWT: it has 2 segment/])
    await expectRefused(expired, [401, 'TokenExpired', /expired at .* s ago/])
    await expectRefused(otherAudience, [401, 'WrongAudience', /not issued for the audience/])
    assert.equal(await tokenReviewCalls(), reviewsBefore, 'no TokenReview was made for them')
    const text = await metricsText()
    for (const reason of ['TokenNotJwt', 'TokenExpired', 'WrongAudience'])
      assert.match(text, new RegExp(`token_precheck_refusals_total\\{reason="${reason}"\\} [1-9]`))
    // The genuine token is still reviewed and served.
    assert.equal((await credentialsFor(token)).status, 200)
    assert.equal(await tokenReviewCalls(), reviewsBefore + 1)
  })

  it('refuses a pod that the injector did not admit', async () => {
    const { token } = await podWith('raw', { 'iam-sidecar/role': 'web' }, { labels: {} })
    await expectRefused(token, [403, 'PodNotInjected', /not admitted by the iam-sidecar injector/])
  })

  it('checks the live pod itself: a forged iam-sidecar/injected label does not pass', async () => {
    // Written by hand, as the API server stores it when no webhook checks it (the injector was
    // down, or the pod does not ask for injection): the label, but no sidecar.
    const bare = await podWith(
      'forged-bare',
      { 'iam-sidecar/role': 'web' },
      { withoutSidecar: true },
    )
    await expectRefused(bare.token, [403, 'PodNotInjected', /container iam-sidecar missing/])
    // The label and a container of our name, with the settings that expose the sidecar's token.
    const hostNet = await podWith(
      'forged-hostnet',
      { 'iam-sidecar/role': 'web' },
      {
        spec: { hostNetwork: true },
      },
    )
    await expectRefused(hostNet.token, [403, 'UnsafePodShape', /hostNetwork: true/])
    const sharedPid = await podWith(
      'forged-pid',
      { 'iam-sidecar/role': 'web' },
      {
        spec: { shareProcessNamespace: true },
      },
    )
    await expectRefused(sharedPid.token, [403, 'UnsafePodShape', /through \/proc/])
  })

  it('refuses once the role annotation is changed to a forbidden role after creation', async () => {
    const { token } = await podWith('switch', { 'iam-sidecar/role': 'web' })
    assert.equal((await credentialsFor(token)).status, 200)
    await core.patchNamespacedPod({
      name: 'switch',
      namespace: ns,
      body: [{ op: 'replace', path: '/metadata/annotations/iam-sidecar~1role', value: 'admin' }],
    })
    const deadline = Date.now() + 5000
    let res = await credentialsFor(token)
    while (res.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      res = await credentialsFor(token)
    }
    assert.equal(res.status, 403)
    assert.equal(res.json.code, 'RoleNotPermitted')
  })

  it('answers a pathological permitted pattern within a bounded time', async () => {
    const evil = await cluster.freshNamespace(
      'evil',
      {},
      { 'iam-sidecar/permitted': '(a+)+$|((a|a)*)*b' },
    )
    await createServiceAccount(cluster, evil)
    const pod = await createPod(cluster, {
      namespace: evil,
      name: 'p',
      annotations: { 'iam-sidecar/role': 'a'.repeat(64) },
    })
    const token = await podToken(cluster, pod)
    const t0 = performance.now()
    await expectRefused(token, [403, 'RoleNotPermitted', /is not permitted/])
    assert.ok(performance.now() - t0 < 2000)
  })

  it('serves kiam v3 and kube2iam namespaces only when started with their switches', async () => {
    const kiamNs = await cluster.freshNamespace(
      'kiam-v3',
      {},
      { 'iam.amazonaws.com/permitted': 'my-application-.*' },
    )
    const kube2iamNs = await cluster.freshNamespace(
      'kube2iam',
      {},
      { 'iam.amazonaws.com/allowed-roles': '["team-k-*"]' },
    )
    const tokenIn = async (namespace: string, role: string) => {
      await createServiceAccount(cluster, namespace)
      const pod = await createPod(cluster, {
        namespace,
        name: 'p',
        annotations: { 'iam.amazonaws.com/role': role },
      })
      return podToken(cluster, pod)
    }
    const kiamToken = await tokenIn(kiamNs, 'my-application-user-checkout-db')
    const kube2iamToken = await tokenIn(kube2iamNs, 'team-k-web')
    await expectRefused(kiamToken, [
      403,
      'RoleNotPermitted',
      /iam\.amazonaws\.com\/permitted annotation does not match it/,
    ])
    await expectRefused(kube2iamToken, [
      403,
      'NamespaceHasNoPolicy',
      /has no iam-sidecar\/permitted/,
    ])
    const legacy = await startRealBroker(cluster, [
      '--legacy-permitted-match=kiam-v3',
      '--namespace-restrictions=true',
    ])
    try {
      for (const [token, role] of [
        [kiamToken, 'my-application-user-checkout-db'],
        [kube2iamToken, 'team-k-web'],
      ]) {
        const res = await credentialsFor(token!, legacy)
        assert.equal(res.status, 200, JSON.stringify(res.json))
        assert.equal(res.json.RoleArn, `arn:aws:iam::${ACCOUNT}:role/${role}`)
      }
    } finally {
      await legacy.close()
    }
  })

  it('in node mode, refuses a token whose pod is on another node', async () => {
    const nodeBroker = await startRealBroker(cluster, ['--mode=node', '--node-name=node-b'])
    try {
      const here = await podWith('on-b', { 'iam-sidecar/role': 'web' }, { nodeName: 'node-b' })
      assert.equal((await credentialsFor(here.token, nodeBroker)).status, 200)
      const there = await podWith('on-a', { 'iam-sidecar/role': 'web' }, { nodeName: 'node-a' })
      await expectRefused(
        there.token,
        [403, 'WrongNode', /serves node node-b only; pod .* runs on node-a/],
        nodeBroker,
      )
    } finally {
      await nodeBroker.close()
    }
  })

  it('feeds a real sidecar: the sidecar bundle serves the pod its role through the broker', async () => {
    const { token } = await podWith('with-sidecar', { 'iam-sidecar/role': 'web' })
    const sp = await startSidecar({ brokerUrl: broker.url, caFile: broker.caFile, token })
    try {
      const res = await fetch(`${sp.url}/v1/credentials`, {
        headers: { authorization: readSecret(sp) },
      })
      assert.equal(res.status, 200)
      const body = (await res.json()) as Record<string, string>
      assert.equal(body.RoleArn, `arn:aws:iam::${ACCOUNT}:role/web`)
      issued.push(body.SecretAccessKey!, body.Token!)
    } finally {
      await sp.stop()
    }
  })

  it('exposes Prometheus metrics on its own port', async () => {
    const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text()
    for (const name of [
      'iam_sidecar_broker_requests_total{outcome="ok"}',
      'iam_sidecar_broker_requests_total{outcome="denied"}',
      'iam_sidecar_broker_token_reviews_total',
      'iam_sidecar_broker_token_precheck_refusals_total{reason="TokenNotJwt"}',
      'iam_sidecar_broker_sts_calls_total{outcome="ok"}',
      'iam_sidecar_broker_session_cache_hits_total',
      'iam_sidecar_broker_sts_duration_seconds_bucket',
    ]) {
      assert.ok(text.includes(name), name)
    }
  })

  it('never logs a token or an issued secret', () => {
    const logs = broker.logs()
    assert.match(logs, /credentials issued/)
    for (const s of [...issued, ...tokens, BROKER_AWS_CREDENTIALS.secretAccessKey]) {
      if (s.length > 8) assert.ok(!logs.includes(s), 'secret found in the broker log')
    }
  })
})
