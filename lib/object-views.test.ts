import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { authorise, type AuthoriseConfig } from '../broker/authorise.ts'
import { DEFAULT_POLICY_OPTIONS } from './policy.ts'
import { namespaceView, podView, serviceAccountView } from './object-views.ts'

const cfg: AuthoriseConfig = {
  mode: 'node',
  nodeName: 'node-a',
  policy: DEFAULT_POLICY_OPTIONS,
  baseRoleArn: 'arn:aws:iam::123456789012:role/',
  clusterName: 'c',
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
const namespace: V1Namespace = {
  metadata: {
    name: 'team-a',
    labels: { 'istio-injection': 'enabled' },
    annotations: { 'iam-sidecar/permitted': 'arn:aws:iam::123456789012:role/(web|sa-role)' },
    managedFields: [{ manager: 'kubectl', operation: 'Update' }],
  },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Active' },
}
const serviceAccount: V1ServiceAccount = {
  metadata: {
    name: 'app',
    namespace: 'team-a',
    annotations: { 'iam-sidecar/role': 'sa-role' },
  },
  secrets: [{ name: 'app-token' }],
}

/** An injected pod as the API server returns it: status, managedFields, env, mounts, probes. */
function fullPod(
  spec: Partial<V1Pod['spec']> = {},
  labels = { 'iam-sidecar/injected': 'true' },
): V1Pod {
  const env = Array.from({ length: 30 }, (_, i) => ({ name: `VAR_${i}`, value: 'x'.repeat(40) }))
  return {
    metadata: {
      name: 'web-1',
      namespace: 'team-a',
      uid: 'uid-1',
      resourceVersion: '42',
      labels: { app: 'web', ...labels },
      annotations: { 'iam-sidecar/role': 'web', 'iam-sidecar/external-id': 'ext-1' },
      managedFields: Array.from({ length: 4 }, () => ({
        manager: 'kube-controller-manager',
        operation: 'Update',
        fieldsV1: { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {} } } } },
      })),
    },
    spec: {
      serviceAccountName: 'app',
      nodeName: 'node-a',
      initContainers: [
        {
          name: 'iam-sidecar',
          image: 'iam-sidecar:1',
          restartPolicy: 'Always',
          env,
          args: ['--port=9911'],
        },
      ],
      containers: [
        {
          name: 'app',
          image: 'app:1',
          env,
          volumeMounts: [{ name: 'iam-sidecar-secret', mountPath: '/var/run/iam-sidecar/secret' }],
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
        },
      ],
      ...spec,
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          restartCount: 0,
          image: 'app:1',
          imageID: 'sha256:' + 'a'.repeat(64),
        },
      ],
    },
  }
}

function noRole(): V1Pod {
  const pod = fullPod()
  return { ...pod, metadata: { ...pod.metadata, annotations: {} } }
}

describe('object views', () => {
  const cases: [string, V1Pod][] = [
    ['an injected pod', fullPod()],
    ['hostNetwork', fullPod({ hostNetwork: true })],
    ['shareProcessNamespace', fullPod({ shareProcessNamespace: true })],
    ['no sidecar container', fullPod({ initContainers: [] })],
    ['no label', fullPod({}, {} as { 'iam-sidecar/injected': string })],
    ['another ServiceAccount', fullPod({ serviceAccountName: 'other' })],
    ['no role on the pod (the ServiceAccount names one)', noRole()],
  ]
  for (const [name, pod] of cases) {
    it(`authorises ${name} as the full pod does`, () => {
      const whole = authorise({ reviewed, pod, namespace, serviceAccount }, cfg)
      const view = authorise(
        {
          reviewed,
          pod: podView(pod),
          namespace: namespaceView(namespace),
          serviceAccount: serviceAccountView(serviceAccount),
        },
        cfg,
      )
      assert.deepEqual(view, whole)
      if (name === 'an injected pod' || name.startsWith('no role')) assert.equal(whole.ok, true)
    })
  }

  it('keeps a small part of the pod', () => {
    const pod = fullPod()
    const full = JSON.stringify(pod).length
    const kept = JSON.stringify(podView(pod)).length
    assert.ok(kept * 5 < full, `${kept} of ${full} bytes kept`)
    assert.equal(podView(pod).metadata?.resourceVersion, '42')
  })
})
