import { it } from 'node:test'
import { DEFAULT_POLICY_OPTIONS } from '../lib/policy.ts'
import assert from 'node:assert/strict'
import { loadInjectorConfig } from './config.ts'
import { explain } from './explain.ts'
import { sidecarSpec } from './sidecar-spec.ts'

const cfg = {
  spec: sidecarSpec(loadInjectorConfig(['--tls-self-bootstrap'], {})),
  policy: DEFAULT_POLICY_OPTIONS,
  baseRoleArn: 'arn:aws:iam::111122223333:role/',
}
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
