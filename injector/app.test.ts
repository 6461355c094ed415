import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { V1Pod } from '@kubernetes/client-node'
import { createLogger } from '../lib/log.ts'
import type { Lookups } from './admission.ts'
import { createInjectorApp, MAX_REVIEW_BYTES } from './app.ts'
import { loadInjectorConfig } from './config.ts'
import { InjectorMetrics } from './metrics.ts'
import { injectionConfigOf } from './plan-injection.ts'

const quiet = createLogger({ level: 'error', component: 'test', write: () => {} })
const decideConfig = injectionConfigOf(
  loadInjectorConfig(
    ['--tls-self-bootstrap', '--base-role-arn=arn:aws:iam::111122223333:role/'],
    {},
  ),
)
const lookups: Lookups = {
  namespace: async (name) => ({
    metadata: {
      name,
      annotations: { 'iam-sidecar/permitted': 'arn:aws:iam::111122223333:role/web' },
    },
  }),
  serviceAccount: async (namespace, name) => ({ metadata: { name, namespace } }),
}
const app = (l: Lookups = lookups) =>
  createInjectorApp({
    lookups: l,
    config: () => decideConfig,
    ready: () => true,
    metrics: new InjectorMetrics(),
    log: quiet,
  })
const pod = (annotations: Record<string, string>): V1Pod => ({
  metadata: { name: 'p', annotations },
  spec: { containers: [{ name: 'main', image: 'x' }] },
})
const review = (object: unknown, over: Record<string, unknown> = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'CREATE',
    namespace: 'team-a',
    object,
    ...over,
  },
})
const post = (a: ReturnType<typeof app>, body: string, type = 'application/json') =>
  a.request('/mutate', { method: 'POST', headers: { 'content-type': type }, body })

describe('injector webhook endpoint', () => {
  it('echoes the uid and returns a base64 JSONPatch with warnings for an annotated pod', async () => {
    const res = await post(
      app(),
      JSON.stringify(
        review({
          ...pod({ 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' }),
          spec: {
            containers: [{ name: 'main', image: 'x', env: [{ name: 'AWS_PROFILE', value: 'p' }] }],
          },
        }),
      ),
    )
    assert.equal(res.status, 200)
    const out = (await res.json()) as {
      kind: string
      response: {
        uid: string
        allowed: boolean
        patchType: string
        patch: string
        warnings: string[]
      }
    }
    assert.equal(out.kind, 'AdmissionReview')
    assert.equal(out.response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002')
    assert.equal(out.response.allowed, true)
    assert.equal(out.response.patchType, 'JSONPatch')
    const ops = JSON.parse(Buffer.from(out.response.patch, 'base64').toString()) as { op: string }[]
    assert.ok(ops.length > 3 && ops.every((o) => o.op === 'add'))
    assert.match(out.response.warnings[0]!, /^iam-sidecar: container main sets AWS_PROFILE/)
  })

  it('denies with a 403 status and the reason, allows what it does not handle without a patch', async () => {
    const denied = (await (
      await post(
        app(),
        JSON.stringify(review(pod({ 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'admin' }))),
      )
    ).json()) as { response: { allowed: boolean; status: { code: number; message: string } } }
    assert.equal(denied.response.allowed, false)
    assert.equal(denied.response.status.code, 403)
    assert.match(
      denied.response.status.message,
      /^iam-sidecar: role arn:aws:iam::111122223333:role\/admin is not permitted/,
    )
    for (const r of [
      review(pod({})),
      review(pod({}), { operation: 'UPDATE' }),
      review({}, { kind: { kind: 'Service' } }),
    ]) {
      const out = (await (await post(app(), JSON.stringify(r))).json()) as {
        response: { allowed: boolean; patch?: string }
      }
      assert.deepEqual([out.response.allowed, out.response.patch], [true, undefined])
    }
  })

  it('answers 503-status (retry) when the namespace cannot be read', async () => {
    const down: Lookups = {
      ...lookups,
      namespace: async () => {
        throw new Error('apiserver down')
      },
    }
    const out = (await (
      await post(
        app(down),
        JSON.stringify(review(pod({ 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' }))),
      )
    ).json()) as { response: { allowed: boolean; status: { code: number } } }
    assert.deepEqual([out.response.allowed, out.response.status.code], [false, 503])
  })

  it('refuses what is not an AdmissionReview with a clear JSON error', async () => {
    const cases: [string, string, number, string][] = [
      ['{', 'application/json', 400, 'InvalidJson'],
      ['[]', 'application/json', 400, 'NotAdmissionReview'],
      [
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1beta1',
          kind: 'AdmissionReview',
          request: {},
        }),
        'application/json',
        400,
        'NotAdmissionReview',
      ],
      [
        JSON.stringify({ ...review(pod({})), request: { uid: '../../etc' } }),
        'application/json',
        400,
        'InvalidRequest',
      ],
      ['x', 'text/plain', 415, 'UnsupportedMediaType'],
      ['x'.repeat(MAX_REVIEW_BYTES + 1), 'application/json', 413, 'TooLarge'],
    ]
    for (const [body, type, status, code] of cases) {
      const res = await post(app(), body, type)
      assert.equal(res.status, status, code)
      assert.equal(((await res.json()) as { code: string }).code, code)
    }
    assert.equal((await app().request('/mutate')).status, 405)
    assert.equal((await app().request('/nope')).status, 404)
  })
})
