import { describe, it } from 'node:test'
import { DEFAULT_POLICY_OPTIONS } from '../lib/policy.ts'
import assert from 'node:assert/strict'
import type { V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { authorise, type AuthoriseConfig, type AuthoriseInput } from './authorise.ts'

const cfg: AuthoriseConfig = {
  mode: 'cluster',
  nodeName: undefined,
  policy: DEFAULT_POLICY_OPTIONS,
  baseRoleArn: 'arn:aws:iam::123456789012:role/',
  clusterName: 'test-cluster',
  sessionTags: true,
  sourceIdentity: true,
  sessionDurationSeconds: 3600,
}
const reviewed = {
  namespace: 'team-a',
  serviceAccount: 'app',
  podName: 'web-1',
  podUid: 'uid-1',
  nodeName: 'node-a',
}
const pod = (
  annotations: Record<string, string> = { 'iam-sidecar/role': 'web' },
  labels: Record<string, string> = { 'iam-sidecar/injected': 'true' },
): V1Pod => ({
  metadata: { name: 'web-1', namespace: 'team-a', uid: 'uid-1', annotations, labels },
  spec: {
    serviceAccountName: 'app',
    initContainers: [{ name: 'iam-sidecar', image: 'iam-sidecar:1', restartPolicy: 'Always' }],
    containers: [],
  },
})
const ns = (
  annotations: Record<string, string> = {
    'iam-sidecar/permitted': 'arn:aws:iam::123456789012:role/(web|api)',
  },
): V1Namespace => ({ metadata: { name: 'team-a', annotations } })
const sa = (annotations: Record<string, string> = {}): V1ServiceAccount => ({
  metadata: { name: 'app', annotations },
})
const input = (o: Partial<AuthoriseInput> = {}): AuthoriseInput => ({
  reviewed,
  pod: pod(),
  namespace: ns(),
  serviceAccount: sa(),
  ...o,
})

describe('authorise', () => {
  it('grants a permitted role with session name, tags, source identity and duration', () => {
    const d = authorise(input(), cfg)
    assert.ok(d.ok)
    assert.equal(d.grant.role.arn, 'arn:aws:iam::123456789012:role/web')
    assert.match(d.grant.assume.sessionName, /^team-a\.web-1-[0-9a-f]{8}$/)
    assert.equal(d.grant.assume.durationSeconds, 3600)
    assert.equal(d.grant.assume.sourceIdentity, 'team-a@app')
    assert.deepEqual(
      d.grant.assume.tags.map((t) => `${t.Key}=${t.Value}`),
      [
        'kubernetes-namespace=team-a',
        'kubernetes-service-account=app',
        'kubernetes-pod-name=web-1',
        'kubernetes-pod-uid=uid-1',
        'kubernetes-node-name=node-a',
        'cluster-name=test-cluster',
      ],
    )
  })

  it('takes the role from the pod, then the ServiceAccount, then the kube2iam/kiam annotation', () => {
    const roleOf = (i: AuthoriseInput): string | undefined => {
      const d = authorise(i, {
        ...cfg,
        policy: { ...DEFAULT_POLICY_OPTIONS, defaultPolicy: 'allow' },
      })
      return d.ok ? d.grant.role.arn : d.error.code
    }
    const base = 'arn:aws:iam::123456789012:role/'
    assert.equal(
      roleOf(
        input({
          pod: pod({ 'iam-sidecar/role': 'a', 'iam.amazonaws.com/role': 'c' }),
          serviceAccount: sa({ 'iam-sidecar/role': 'b' }),
          namespace: ns({}),
        }),
      ),
      base + 'a',
    )
    assert.equal(
      roleOf(
        input({
          pod: pod({ 'iam.amazonaws.com/role': 'c' }),
          serviceAccount: sa({ 'iam-sidecar/role': 'b' }),
          namespace: ns({}),
        }),
      ),
      base + 'b',
    )
    assert.equal(
      roleOf(
        input({
          pod: pod({ 'iam.amazonaws.com/role': 'arn:aws:iam::999999999999:role/c' }),
          namespace: ns({}),
        }),
      ),
      'arn:aws:iam::999999999999:role/c',
    )
  })

  const refusals: [string, AuthoriseInput, Partial<AuthoriseConfig>, number, string, RegExp][] = [
    [
      'another node in node mode',
      input(),
      { mode: 'node', nodeName: 'node-b' },
      403,
      'WrongNode',
      /serves node node-b only/,
    ],
    ['a deleted pod', input({ pod: undefined }), {}, 401, 'PodNotFound', /does not exist/],
    [
      'a recreated pod',
      input({ pod: { ...pod(), metadata: { ...pod().metadata, uid: 'uid-2' } } }),
      {},
      401,
      'PodUidMismatch',
      /replaced/,
    ],
    [
      'another ServiceAccount',
      input({ pod: { ...pod(), spec: { ...pod().spec!, serviceAccountName: 'other' } } }),
      {},
      403,
      'ServiceAccountMismatch',
      /does not run as/,
    ],
    [
      'a pod not injected',
      input({ pod: pod(undefined, {}) }),
      {},
      403,
      'PodNotInjected',
      /not admitted by the iam-sidecar injector/,
    ],
    [
      'a pod labelled injected by hand, without the sidecar',
      input({ pod: { ...pod(), spec: { serviceAccountName: 'app', containers: [] } } }),
      {},
      403,
      'PodNotInjected',
      /container iam-sidecar missing/,
    ],
    [
      'a labelled pod with the sidecar and hostNetwork (written by hand, or admitted while the injector was down)',
      input({ pod: { ...pod(), spec: { ...pod().spec!, hostNetwork: true } } }),
      {},
      403,
      'UnsafePodShape',
      /hostNetwork: true is not supported/,
    ],
    [
      'a labelled pod with the sidecar and shareProcessNamespace',
      input({ pod: { ...pod(), spec: { ...pod().spec!, shareProcessNamespace: true } } }),
      {},
      403,
      'UnsafePodShape',
      /through \/proc/,
    ],
    [
      'no role anywhere',
      input({ pod: pod({}) }),
      {},
      403,
      'NoRole',
      /set the iam-sidecar\/role annotation/,
    ],
    [
      'a malformed role',
      input({ pod: pod({ 'iam-sidecar/role': 'arn:aws:s3:::x' }) }),
      {},
      403,
      'InvalidRole',
      /not a valid IAM role ARN/,
    ],
    [
      'a short name without base ARN',
      input(),
      { baseRoleArn: undefined },
      403,
      'InvalidRole',
      /no base role ARN/,
    ],
    [
      'a role the namespace does not permit',
      input({ pod: pod({ 'iam-sidecar/role': 'admin' }) }),
      {},
      403,
      'RoleNotPermitted',
      /role arn:aws:iam::123456789012:role\/admin is not permitted in namespace team-a/,
    ],
    [
      'a namespace without policy',
      input({ namespace: ns({}) }),
      {},
      403,
      'NamespaceHasNoPolicy',
      /has no iam-sidecar\/permitted annotation/,
    ],
    [
      'a broken policy',
      input({ namespace: ns({ 'iam-sidecar/permitted': '(unclosed' }) }),
      {},
      403,
      'InvalidNamespacePolicy',
      /not a valid pattern/,
    ],
    [
      'a bad ExternalId',
      input({ pod: pod({ 'iam-sidecar/role': 'web', 'iam-sidecar/external-id': 'x' }) }),
      {},
      403,
      'InvalidExternalId',
      /2–1224/,
    ],
  ]
  for (const [name, i, c, status, code, message] of refusals) {
    it(`refuses ${name}`, () => {
      const d = authorise(i, { ...cfg, ...c })
      assert.ok(!d.ok, 'denied')
      assert.equal(d.error.status, status)
      assert.equal(d.error.code, code)
      assert.match(d.error.message, message)
    })
  }

  it("honours kiam's iam.amazonaws.com/permitted and an operator default of allow", () => {
    assert.ok(
      authorise(input({ namespace: ns({ 'iam.amazonaws.com/permitted': '.*web' }) }), cfg).ok,
    )
    assert.ok(
      authorise(input({ namespace: ns({}) }), {
        ...cfg,
        policy: { ...DEFAULT_POLICY_OPTIONS, defaultPolicy: 'allow' },
      }).ok,
    )
  })

  it('matches the policy anchored on the full ARN', () => {
    const d = authorise(input({ namespace: ns({ 'iam-sidecar/permitted': 'web' }) }), cfg)
    assert.ok(!d.ok && d.error.code === 'RoleNotPermitted')
  })

  it("matches kiam's annotation against the role as written with --legacy-permitted-match=kiam-v3", () => {
    const kiamV3 = (o: Partial<typeof DEFAULT_POLICY_OPTIONS>) => ({
      ...cfg,
      policy: { ...DEFAULT_POLICY_OPTIONS, ...o },
    })
    const i = input({
      pod: pod({ 'iam.amazonaws.com/role': 'my-application-user-checkout-db' }),
      namespace: ns({ 'iam.amazonaws.com/permitted': 'my-application-.*' }),
    })
    const strict = authorise(i, cfg)
    assert.ok(!strict.ok && strict.error.code === 'RoleNotPermitted')
    const legacy = authorise(i, kiamV3({ legacyPermittedMatch: 'kiam-v3' }))
    assert.ok(legacy.ok)
    assert.equal(
      legacy.grant.role.arn,
      'arn:aws:iam::123456789012:role/my-application-user-checkout-db',
    )
    // Never for our own annotation.
    const ours = input({ ...i, namespace: ns({ 'iam-sidecar/permitted': 'my-application-.*' }) })
    assert.ok(!authorise(ours, kiamV3({ legacyPermittedMatch: 'kiam-v3' })).ok)
  })

  it("honours kube2iam's iam.amazonaws.com/allowed-roles with --namespace-restrictions", () => {
    const restricted = (format: 'glob' | 'regexp') => ({
      ...cfg,
      policy: {
        ...DEFAULT_POLICY_OPTIONS,
        namespaceRestrictions: true,
        namespaceRestrictionFormat: format,
      },
    })
    const i = (list: string) =>
      input({ namespace: ns({ 'iam.amazonaws.com/allowed-roles': list }) })
    const off = authorise(i('["w*"]'), cfg)
    assert.ok(!off.ok && off.error.code === 'NamespaceHasNoPolicy')
    assert.ok(authorise(i('["w*"]'), restricted('glob')).ok)
    assert.ok(!authorise(i('["we"]'), restricted('glob')).ok)
    assert.ok(authorise(i('["we"]'), restricted('regexp')).ok) // unanchored, as kube2iam
    const bad = authorise(i('["w*"'), restricted('glob'))
    assert.ok(!bad.ok && bad.error.code === 'InvalidNamespacePolicy' && bad.error.status === 403)
    assert.match(
      bad.error.message,
      /allowed-roles annotation of namespace team-a is not valid: not JSON/,
    )
  })

  it('answers a pathological policy in bounded time', () => {
    const t0 = performance.now()
    const d = authorise(
      input({
        pod: pod({ 'iam-sidecar/role': 'arn:aws:iam::123456789012:role/' + 'a'.repeat(60) }),
        namespace: ns({ 'iam-sidecar/permitted': '(a+)+$' }),
      }),
      cfg,
    )
    assert.ok(!d.ok)
    assert.ok(performance.now() - t0 < 500)
    for (const pattern of [
      '(a+)+$|((a|a)*)*b',
      '(?:\\pL{100}){10}',
      `(?:${'a'.repeat(900)}){1000}`,
    ]) {
      const t1 = performance.now()
      const hostile = authorise(
        input({
          pod: pod({ 'iam-sidecar/role': 'a'.repeat(64) }),
          namespace: ns({ 'iam.amazonaws.com/permitted': pattern }),
        }),
        { ...cfg, policy: { ...DEFAULT_POLICY_OPTIONS, legacyPermittedMatch: 'kiam-v3' } },
      )
      assert.ok(!hostile.ok || hostile.ok)
      assert.ok(performance.now() - t1 < 1000, pattern.slice(0, 30))
    }
  })

  it("takes ExternalId from iam-sidecar/external-id, else kube2iam/kiam's iam.amazonaws.com/external-id", () => {
    const of = (a: Record<string, string>) => {
      const d = authorise(input({ pod: pod({ 'iam-sidecar/role': 'web', ...a }) }), cfg)
      return d.ok ? d.grant.assume.externalId : d.error.code
    }
    assert.equal(
      of({ 'iam-sidecar/external-id': 'ours', 'iam.amazonaws.com/external-id': 'theirs' }),
      'ours',
    )
    assert.equal(of({ 'iam.amazonaws.com/external-id': 'theirs' }), 'theirs')
    assert.equal(of({}), undefined)
  })

  it('switches tags and source identity off', () => {
    const d = authorise(input(), { ...cfg, sessionTags: false, sourceIdentity: false })
    assert.ok(d.ok)
    assert.deepEqual(d.grant.assume.tags, [])
    assert.equal(d.grant.assume.sourceIdentity, undefined)
  })
})
