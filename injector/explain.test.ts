import { it } from 'node:test'
import assert from 'node:assert/strict'
import { loadInjectorConfig } from './config.ts'
import { explain } from './explain.ts'
import { injectionConfigOf } from './plan-injection.ts'

const cfg = injectionConfigOf(
  loadInjectorConfig(
    ['--tls-self-bootstrap', '--base-role-arn=arn:aws:iam::111122223333:role/'],
    {},
  ),
)
const ns = {
  metadata: {
    name: 'team-a',
    annotations: { 'iam-sidecar/permitted': 'arn:aws:iam::111122223333:role/web' },
  },
}

it('explains an injection: containers, role and its source, policy and verdict', () => {
  const out = explain(
    {
      metadata: { name: 'p', annotations: { 'iam-sidecar/inject': 'true' } },
      spec: { serviceAccountName: 'app', containers: [{ name: 'main', image: 'x' }] },
    },
    ns,
    { metadata: { name: 'app', annotations: { 'iam-sidecar/role': 'web' } } },
    cfg,
  )
  assert.deepEqual(out, [
    'pod team-a/p',
    '  injection: would inject (5 JSON Patch operations)',
    '  credentials for containers: main',
    '  role: arn:aws:iam::111122223333:role/web (from ServiceAccount annotation iam-sidecar/role)',
    '  policy: namespace annotation iam-sidecar/permitted = "arn:aws:iam::111122223333:role/web"',
    '  verdict: permitted',
  ])
})

it('explains a denial and an already admitted pod', () => {
  const denied = explain(
    {
      metadata: {
        name: 'p',
        annotations: { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'admin' },
      },
      spec: { containers: [{ name: 'main', image: 'x' }] },
    },
    ns,
    undefined,
    cfg,
  )
  assert.match(
    denied[1]!,
    /^ {2}injection: DENIED: role arn:aws:iam::111122223333:role\/admin is not permitted/,
  )
  assert.match(denied.at(-1)!, /^ {2}verdict: NOT permitted/)
  const admitted = explain(
    {
      metadata: {
        name: 'p',
        labels: { 'iam-sidecar/injected': 'true' },
        annotations: { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' },
      },
      spec: {
        initContainers: [{ name: 'iam-sidecar', image: 'x' }],
        containers: [{ name: 'main', image: 'x' }],
      },
    },
    ns,
    undefined,
    cfg,
  )
  assert.equal(admitted[1], '  injection: done (the pod carries the iam-sidecar/injected label)')
  assert.equal(admitted[2], '  credentials for: (no container)')
})

it("names the pod's sidecar settings that differ from the injector's", () => {
  const out = explain(
    {
      metadata: {
        name: 'p',
        annotations: {
          'iam-sidecar/inject': 'true',
          'iam-sidecar/role': 'web',
          'iam-sidecar/port': '9921',
          'iam-sidecar/log-level': 'info',
        },
      },
      spec: { containers: [{ name: 'main', image: 'x' }] },
    },
    { metadata: { ...ns.metadata, labels: { 'istio-injection': 'enabled' } } },
    undefined,
    cfg,
  )
  assert.ok(
    out.includes(
      '  sidecar settings for this pod: iam-sidecar/port=9921, iam-sidecar/run-as-user=1337',
    ),
    out.join('\n'),
  )
})

const kiamPod = {
  metadata: {
    name: 'p',
    annotations: { 'iam.amazonaws.com/role': 'my-application-user-checkout-db' },
  },
  spec: { containers: [{ name: 'main', image: 'x' }] },
}
const kiamNs = (annotations: Record<string, string>) => ({
  metadata: { name: 'legacy', annotations },
})
const ARN = 'arn:aws:iam::111122223333:role/my-application-user-checkout-db'

it("says when kiam's pattern permits the role only in the pre-v4 meaning, and what to write", () => {
  const ns3 = kiamNs({ 'iam.amazonaws.com/permitted': 'my-application-.*' })
  const strict = explain(kiamPod, ns3, undefined, cfg)
  assert.deepEqual(strict.slice(2), [
    `  role: ${ARN} (from pod annotation iam.amazonaws.com/role)`,
    '  policy: namespace annotation iam.amazonaws.com/permitted = "my-application-.*" (matched anchored, against the full role ARN (kiam v4))',
    `  verdict: NOT permitted: role ${ARN} is not permitted in namespace legacy (its iam.amazonaws.com/permitted annotation does not match it)`,
    '  note: iam.amazonaws.com/permitted would permit this role in kiam\'s older meaning (--legacy-permitted-match=kiam-v3: unanchored, against the role as written in the pod annotation (kiam before v4); --legacy-permitted-match=kiam-v4-unanchored: unanchored, against the full role ARN (kiam v4 with --disable-strict-namespace-regexp)); write iam-sidecar/permitted: "arn:aws:iam::111122223333:role/my-application-.*" (anchored, full ARN)',
  ])
  const legacy = explain(kiamPod, ns3, undefined, {
    ...cfg,
    policy: { ...cfg.policy, legacyPermittedMatch: 'kiam-v3' },
  })
  assert.equal(legacy.at(-2), '  verdict: permitted')
  assert.equal(
    legacy.at(-1),
    '  note: iam.amazonaws.com/permitted permits this role only in the legacy meaning kiam-v3 (unanchored, against the role as written in the pod annotation (kiam before v4)), not anchored against the full ARN; to keep it without the legacy switch, write iam-sidecar/permitted: "arn:aws:iam::111122223333:role/my-application-.*" (anchored, full ARN)',
  )
  // A pattern that already holds anchored gets no note.
  const fine = explain(
    kiamPod,
    kiamNs({ 'iam.amazonaws.com/permitted': 'arn:aws:iam::111122223333:role/my-application-.*' }),
    undefined,
    cfg,
  )
  assert.equal(fine.at(-1), '  verdict: permitted')
})

it("shows kube2iam's allowed-roles as ignored without --namespace-restrictions, deciding with it", () => {
  const ns = kiamNs({ 'iam.amazonaws.com/allowed-roles': '["my-application-*"]' })
  const off = explain(kiamPod, ns, undefined, cfg)
  assert.deepEqual(off.slice(3), [
    '  policy: no namespace annotation; the default policy is deny',
    "  ignored: iam.amazonaws.com/allowed-roles (kube2iam's; honoured only with --namespace-restrictions)",
    '  verdict: NOT permitted: namespace legacy has no iam-sidecar/permitted annotation, so no role is permitted; annotate the namespace with a regular expression matching the role ARNs its pods may use',
  ])
  const on = explain(kiamPod, ns, undefined, {
    ...cfg,
    policy: { ...cfg.policy, namespaceRestrictions: true },
  })
  assert.deepEqual(on.slice(3), [
    '  policy: namespace annotation iam.amazonaws.com/allowed-roles = "[\\"my-application-*\\"]"',
    '  verdict: permitted',
  ])
  const both = explain(
    kiamPod,
    kiamNs({ ...ns.metadata.annotations, 'iam-sidecar/permitted': '.*' }),
    undefined,
    { ...cfg, policy: { ...cfg.policy, namespaceRestrictions: true } },
  )
  assert.equal(
    both[4],
    '  ignored: iam.amazonaws.com/allowed-roles (iam-sidecar/permitted takes precedence)',
  )
})
