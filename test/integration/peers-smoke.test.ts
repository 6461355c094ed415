// Proves every test peer is the real thing: a pod-bound token issued and reviewed by a real
// kube-apiserver (RBAC enforced), AssumeRole + GetCallerIdentity against moto through the real
// AWS SDK, and helm answering.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import {
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { useCluster } from '../peers/cluster.ts'

const cluster = await useCluster()

describe('test peers are real', () => {
  it('runs on Node 24', () => {
    assert.match(process.version, /^v24\./)
  })

  it('kube-apiserver issues a pod-bound token and TokenReview returns the pod and node', async () => {
    const core = cluster.kc.makeApiClient(CoreV1Api)
    const namespace = await cluster.freshNamespace('smoke')
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'app' } } })
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'p1' },
        spec: {
          serviceAccountName: 'app',
          nodeName: 'node-a',
          containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }],
        },
      },
    })
    const tr = await core.createNamespacedServiceAccountToken({
      name: 'app',
      namespace,
      body: {
        spec: {
          audiences: ['iam-sidecar'],
          expirationSeconds: 600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p1', uid: pod.metadata!.uid! },
        },
      },
    })
    const token = tr.status?.token ?? assert.fail('TokenRequest returned no token')
    assert.ok(token.split('.').length === 3, 'a JWT')

    // RBAC is on: a fresh reviewer identity (a ServiceAccount of this namespace, so no other test
    // file can have bound it) may not review tokens until it is bound to auth-delegator.
    await core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: 'reviewer' } },
    })
    const reviewerToken =
      (
        await core.createNamespacedServiceAccountToken({
          name: 'reviewer',
          namespace,
          body: { spec: { expirationSeconds: 600 } },
        })
      ).status?.token ?? ''
    const asBroker = bearerClient(reviewerToken).makeApiClient(AuthenticationV1Api)
    const review = { body: { spec: { token, audiences: ['iam-sidecar'] } } }
    await assert.rejects(
      asBroker.createTokenReview(review),
      (e: { code?: number }) => e.code === 403,
    )
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api)
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `smoke-${namespace}` },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'system:auth-delegator',
        },
        subjects: [{ kind: 'ServiceAccount', name: 'reviewer', namespace }],
      },
    })
    const result = await retry(() => asBroker.createTokenReview(review))
    assert.equal(result.status?.authenticated, true, result.status?.error)
    assert.equal(result.status?.user?.username, `system:serviceaccount:${namespace}:app`)
    const extra = result.status?.user?.extra ?? {}
    assert.deepEqual(extra['authentication.kubernetes.io/pod-name'], ['p1'])
    assert.deepEqual(extra['authentication.kubernetes.io/pod-uid'], [pod.metadata?.uid ?? ''])
    assert.deepEqual(extra['authentication.kubernetes.io/node-name'], ['node-a'])

    // Another audience is refused by the real authenticator.
    const wrong = await asBroker.createTokenReview({
      body: { spec: { token, audiences: ['sts.amazonaws.com'] } },
    })
    assert.notEqual(wrong.status?.authenticated, true)
    assert.ok(wrong.status?.error, 'the review says why')
    await rbac.deleteClusterRoleBinding({ name: `smoke-${namespace}` })
  })

  it('moto answers AssumeRole and GetCallerIdentity through the AWS SDK', async () => {
    const endpoint = cluster.info.stsEndpoint
    const region = 'us-east-1'
    const broker = new STSClient({
      endpoint,
      region,
      credentials: { accessKeyId: 'AKIDBROKER', secretAccessKey: 'broker-secret' },
    })
    const assumed = await broker.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::123456789012:role/smoke-role',
        RoleSessionName: 'smoke-session',
      }),
    )
    const c = assumed.Credentials!
    assert.match(c.AccessKeyId!, /^ASIA/)
    const asRole = new STSClient({
      endpoint,
      region,
      credentials: {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      },
    })
    const me = await asRole.send(new GetCallerIdentityCommand({}))
    assert.equal(me.Arn, 'arn:aws:sts::123456789012:assumed-role/smoke-role/smoke-session')
  })

  it('helm and kubectl are real binaries', () => {
    const helm = execFileSync(cluster.bins.helm, ['version', '--short'], { encoding: 'utf8' })
    assert.match(helm, /^v\d+\.\d+\.\d+/)
    const kubectl = execFileSync(cluster.bins.kubectl, ['version', '--client', '-o', 'json'], {
      encoding: 'utf8',
    })
    assert.match(JSON.parse(kubectl).clientVersion.gitVersion, /^v1\.\d+\.\d+$/)
  })
})

function bearerClient(token: string): KubeConfig {
  const kc = new KubeConfig()
  const admin = cluster.kc.getCurrentCluster()!
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: admin.server, caData: admin.caData }],
    users: [{ name: 'reviewer', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'reviewer' }],
    currentContext: 'test',
  })
  return kc
}

/** RBAC bindings reach the authorizer through an informer; retry briefly on 403. */
async function retry<T>(fn: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (e) {
      if (i >= attempts || (e as { code?: number }).code !== 403) throw e
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}
