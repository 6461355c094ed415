// The injector publishes the shared CA as the caBundle on a real API server, with RBAC limited
// to its own MutatingWebhookConfiguration by name.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  AdmissionregistrationV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1MutatingWebhook,
} from '@kubernetes/client-node'
import { useCluster } from '../peers/cluster.ts'
import { injectorWebhookRules, patchWebhookCaBundle } from '../../injector/webhook-ca.ts'
import { makeCa } from '../../lib/self-signed.ts'

const cluster = await useCluster()
const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api)
const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api)
const suffix = randomBytes(4).toString('hex')
const OURS = `iam-sidecar-test-${suffix}`
const OTHER = `iam-sidecar-test-other-${suffix}`
const EMPTY = `iam-sidecar-test-empty-${suffix}`
const injectorKc = cluster.kubeConfigAs('iam-sidecar-injector')

/** A webhook that can never fire: it selects namespaces by a label nobody has. */
function inertWebhook(name: string): V1MutatingWebhook {
  return {
    name,
    clientConfig: { url: 'https://127.0.0.1:1/mutate' },
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Ignore',
    namespaceSelector: { matchLabels: { [`iam-sidecar-test-${suffix}`]: 'never' } },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
  }
}

async function createMwc(name: string, webhooks: string[]): Promise<void> {
  await admission.createMutatingWebhookConfiguration({
    body: {
      metadata: { name },
      webhooks: webhooks.map((w) => inertWebhook(`${w}.iam-sidecar.io`)),
    },
  })
}

async function caBundles(name: string): Promise<(string | undefined)[]> {
  const mwc = await admission.readMutatingWebhookConfiguration({ name })
  return (mwc.webhooks ?? []).map((w) => w.clientConfig.caBundle)
}

const b64 = (pem: string) => Buffer.from(pem).toString('base64')
/** The CA certificates in a caBundle, in order. */
const certsIn = (bundle: string | undefined): string[] =>
  [
    ...Buffer.from(bundle ?? '', 'base64')
      .toString('utf8')
      .matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g),
  ].map((m) => m[0])
async function bundledCas(name: string): Promise<string[][]> {
  return (await caBundles(name)).map(certsIn)
}

/** RBAC authorizers see a new binding only after their informers catch up: retry 403 a while. */
async function once403Settles<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (!/forbidden/.test(String(err)) || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** A KubeConfig whose first read of the configuration is followed by someone else's edit. */
function withConcurrentEditAfterFirstRead(
  kc: KubeConfig,
  edit: () => Promise<unknown>,
): { kc: KubeConfig; reads: () => number } {
  let reads = 0
  const wrapped = Object.create(kc) as KubeConfig
  wrapped.makeApiClient = ((cls: new (...args: never[]) => unknown) => {
    const api = kc.makeApiClient(cls as typeof AdmissionregistrationV1Api)
    const read = api.readMutatingWebhookConfiguration.bind(api)
    api.readMutatingWebhookConfiguration = async (param, options) => {
      const mwc = await read(param, options)
      if (++reads === 1) await edit()
      return mwc
    }
    return api
  }) as KubeConfig['makeApiClient']
  return { kc: wrapped, reads: () => reads }
}

before(async () => {
  await createMwc(OURS, ['first', 'second'])
  await createMwc(OTHER, ['unrelated'])
  const name = `iam-sidecar-injector-webhook-test-${suffix}`
  await rbac.createClusterRole({ body: { metadata: { name }, rules: injectorWebhookRules(OURS) } })
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [
        { kind: 'User', name: 'iam-sidecar-injector', apiGroup: 'rbac.authorization.k8s.io' },
      ],
    },
  })
})

after(async () => {
  const name = `iam-sidecar-injector-webhook-test-${suffix}`
  await Promise.allSettled([
    admission.deleteMutatingWebhookConfiguration({ name: OURS }),
    admission.deleteMutatingWebhookConfiguration({ name: OTHER }),
    admission.deleteMutatingWebhookConfiguration({ name: EMPTY }),
    rbac.deleteClusterRoleBinding({ name }),
    rbac.deleteClusterRole({ name }),
  ])
})

/** patchWebhookCaBundle with a fixed set of CAs. */
const publish = (kc: KubeConfig, name: string, pems: string[]): Promise<number> =>
  patchWebhookCaBundle(kc, { webhookConfigName: name, caPems: async () => pems })
const newCaPem = async (name: string): Promise<string> =>
  (await makeCa({ commonName: name, days: 1 })).certPem.trim()

describe('webhook caBundle on a real API server', () => {
  let first = ''

  it('sets the caBundle of every webhook of its own configuration, as the injector', async () => {
    first = await newCaPem('webhook-ca-1')
    const patched = await once403Settles(() => publish(injectorKc, OURS, [first]))
    assert.equal(patched, 2)
    assert.deepEqual(await bundledCas(OURS), [[first], [first]])
  })

  it('replaces the bundle with exactly the CAs given, and writes nothing when it holds them', async () => {
    const next = await newCaPem('webhook-ca-2')
    assert.equal(await publish(injectorKc, OURS, [next, first]), 2)
    assert.deepEqual(await bundledCas(OURS), [
      [next, first],
      [next, first],
    ])
    assert.equal(await publish(injectorKc, OURS, [next]), 2)
    assert.deepEqual(await bundledCas(OURS), [[next], [next]], 'the old CA left')
    const before = await admission.readMutatingWebhookConfiguration({ name: OURS })
    assert.equal(await publish(injectorKc, OURS, [next]), 0)
    const now = await admission.readMutatingWebhookConfiguration({ name: OURS })
    assert.equal(now.metadata?.resourceVersion, before.metadata?.resourceVersion, 'no write')
  })

  it('re-reads and retries when the configuration changes between its read and its patch, asking for the CAs again', async () => {
    const ca = await newCaPem('webhook-ca-3')
    const edited = withConcurrentEditAfterFirstRead(injectorKc, () =>
      admission.patchMutatingWebhookConfiguration({
        name: OURS,
        body: [{ op: 'add', path: '/metadata/labels', value: { edited: 'concurrently' } }],
      }),
    )
    let asked = 0
    await patchWebhookCaBundle(edited.kc, {
      webhookConfigName: OURS,
      caPems: async () => (asked++, [ca]),
    })
    assert.equal(edited.reads(), 2, 'the guarded patch failed once, then succeeded on a re-read')
    assert.equal(asked, 2, 'the CAs were read again after the configuration')
    assert.deepEqual(await bundledCas(OURS), [[ca], [ca]])
    const mwc = await admission.readMutatingWebhookConfiguration({ name: OURS })
    assert.deepEqual(mwc.metadata?.labels, { edited: 'concurrently' }, 'the other edit survived')
  })

  it('is forbidden to touch any other configuration: RBAC is limited by name', async () => {
    const ca = await newCaPem('webhook-ca-4')
    await assert.rejects(
      publish(injectorKc, OTHER, [ca]),
      new RegExp(
        `^Error: cannot read MutatingWebhookConfiguration ${OTHER}: forbidden — ` +
          'the injector needs get and patch on it \\(RBAC resourceNames\\)$',
      ),
    )
    // Not even a blind patch without reading first gets through.
    await assert.rejects(
      injectorKc.makeApiClient(AdmissionregistrationV1Api).patchMutatingWebhookConfiguration({
        name: OTHER,
        body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: b64(ca) }],
      }),
      { code: 403 },
    )
    assert.deepEqual(await caBundles(OTHER), [undefined])
  })

  it('patches nothing in a configuration without webhooks', async () => {
    await createMwc(EMPTY, [])
    const before = await admission.readMutatingWebhookConfiguration({ name: EMPTY })
    assert.equal(await publish(cluster.kc, EMPTY, [await newCaPem('webhook-ca-6')]), 0)
    const now = await admission.readMutatingWebhookConfiguration({ name: EMPTY })
    assert.equal(now.metadata?.resourceVersion, before.metadata?.resourceVersion, 'no write')
  })

  it('names the missing configuration when it does not exist', async () => {
    await assert.rejects(
      publish(cluster.kc, `${OURS}-absent`, [await newCaPem('webhook-ca-5')]),
      new RegExp(`cannot read MutatingWebhookConfiguration ${OURS}-absent: not found`),
    )
  })
})
