// The shared webhook CA's Secret on a real API server, as the injector with exactly
// injectorCaSecretRules: created once however replicas race, written only over the version read,
// an empty Secret filled, someone else's refused, every other Secret out of reach.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node'
import { CaSecretConflict, kubeCaSecretStore } from '../../injector/ca-secret-store.ts'
import { parseCa, type CaPolicy, type StoredCa } from '../../injector/ca-state.ts'
import { injectorCaSecretRules } from '../../injector/rbac.ts'
import { ensureSharedCa } from '../../injector/shared-ca.ts'
import { makeCa } from '../../lib/self-signed.ts'
import { useCluster } from '../peers/cluster.ts'

const cluster = await useCluster()
const core = cluster.kc.makeApiClient(CoreV1Api)
const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api)
const injectorKc = cluster.kubeConfigAs('iam-sidecar-injector')
const id = randomBytes(4).toString('hex')
const OURS = `webhook-ca-${id}`
const POLICY: CaPolicy = { validityMs: 90 * 3_600_000, checkIntervalMs: 3_600_000 }
let ns = ''

async function newCa(): Promise<StoredCa> {
  const pair = await makeCa({
    commonName: 'test webhook CA',
    validUntil: new Date(Date.now() + POLICY.validityMs),
  })
  return parseCa(pair.certPem, pair.keyPem, 'new CA')
}
const ensure = (name: string) =>
  ensureSharedCa({
    store: kubeCaSecretStore(injectorKc, { namespace: ns, name }),
    policy: POLICY,
    now: Date.now,
    newCa,
  })

before(async () => {
  ns = await cluster.freshNamespace('iam-sidecar-ca-store')
  const name = `iam-sidecar-injector-${id}`
  await rbac.createNamespacedRole({
    namespace: ns,
    body: { metadata: { name }, rules: injectorCaSecretRules(OURS) },
  })
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [
        { kind: 'User', name: 'iam-sidecar-injector', apiGroup: 'rbac.authorization.k8s.io' },
      ],
    },
  })
  // RBAC reaches the authorizer a moment later.
  const store = kubeCaSecretStore(injectorKc, { namespace: ns, name: OURS })
  for (let deadline = Date.now() + 10_000; ;) {
    const settled = await store.read().then(
      () => true,
      () => false,
    )
    if (settled) break
    if (Date.now() > deadline) throw new Error('RBAC never took effect')
    await new Promise((r) => setTimeout(r, 100))
  }
})

describe('the webhook CA Secret on a real API server', () => {
  it('is created once when replicas race; every one gets the winner’s CA', async () => {
    const results = await Promise.all([ensure(OURS), ensure(OURS), ensure(OURS)])
    assert.deepEqual(results.map((r) => r.wrote).sort(), ['create', 'keep', 'keep'])
    const secret = await core.readNamespacedSecret({ name: OURS, namespace: ns })
    const ca = Buffer.from(secret.data!['ca.crt']!, 'base64').toString('utf8')
    for (const r of results) assert.equal(r.state.current.certPem, ca)
    assert.equal(secret.type, 'Opaque')
    assert.deepEqual(secret.metadata?.labels, {
      'app.kubernetes.io/managed-by': 'iam-sidecar-injector',
    })
    const again = await ensure(OURS)
    assert.equal(again.wrote, 'keep')
    const after = await core.readNamespacedSecret({ name: OURS, namespace: ns })
    assert.equal(after.metadata?.resourceVersion, secret.metadata?.resourceVersion, 'only read')
  })

  it('writes only over the version it read', async () => {
    const store = kubeCaSecretStore(injectorKc, { namespace: ns, name: OURS })
    const read = (await store.read())!
    const state = { current: await newCa(), previous: read.state!.current }
    await store.replace(state, read)
    await assert.rejects(store.replace(state, read), CaSecretConflict)
    assert.deepEqual((await store.read())?.state, state)
    await assert.rejects(store.create(state, undefined), CaSecretConflict)
  })

  it('fills a Secret made empty for it, keeping its metadata and type', async () => {
    const name = `${OURS}-empty`
    await rbac.patchNamespacedRole({
      namespace: ns,
      name: `iam-sidecar-injector-${id}`,
      body: [{ op: 'add', path: '/rules/0/resourceNames/-', value: name }],
    })
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name, annotations: { 'made-by': 'the chart' } },
        type: 'iam-sidecar.io/webhook-ca',
      },
    })
    let r: Awaited<ReturnType<typeof ensure>> | undefined
    for (let deadline = Date.now() + 10_000; !r;) {
      r = await ensure(name).catch((err: Error) => {
        if (!/forbidden/.test(err.message) || Date.now() > deadline) throw err
        return undefined
      })
    }
    assert.equal(r.wrote, 'create')
    const secret = await core.readNamespacedSecret({ name, namespace: ns })
    assert.equal(secret.type, 'iam-sidecar.io/webhook-ca')
    assert.equal(secret.metadata?.annotations?.['made-by'], 'the chart')
    assert.ok(secret.data?.['ca.key'])
  })

  it('refuses a Secret of that name with other data, and leaves it alone', async () => {
    const name = `${OURS}-foreign`
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name }, stringData: { password: 'not ours' } },
    })
    // Readable for this test only: the admin's client reads it as the injector would.
    const store = kubeCaSecretStore(cluster.kc, { namespace: ns, name })
    await assert.rejects(
      ensureSharedCa({ store, policy: POLICY, now: Date.now, newCa }),
      new RegExp(`^Error: Secret ${ns}/${name} holds no webhook CA \\(keys ca.crt and ca.key\\)`),
    )
    const secret = await core.readNamespacedSecret({ name, namespace: ns })
    assert.deepEqual(Object.keys(secret.data ?? {}), ['password'])
  })

  it('cannot read or change any other Secret in the namespace', async () => {
    const name = `${OURS}-other`
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name }, stringData: { token: 'someone else’s' } },
    })
    await assert.rejects(
      ensure(name),
      new RegExp(
        `^Error: cannot read Secret ${ns}/${name}: forbidden — the injector needs get and update ` +
          'on it and create on Secrets in its namespace \\(injectorCaSecretRules\\)$',
      ),
    )
    const asInjector = injectorKc.makeApiClient(CoreV1Api)
    await assert.rejects(
      asInjector.replaceNamespacedSecret({
        name,
        namespace: ns,
        body: { metadata: { name }, stringData: { token: 'overwritten' } },
      }),
      { code: 403 },
    )
    await assert.rejects(asInjector.listNamespacedSecret({ namespace: ns }), { code: 403 })
  })
})
