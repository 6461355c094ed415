import { it } from 'node:test'
import assert from 'node:assert/strict'
import type { V1Namespace, V1Pod } from '@kubernetes/client-node'
import { ISTIO, LINKERD, meshOf } from './mesh.ts'

const pod = (o: { labels?: object; annotations?: object; inits?: string[] } = {}): V1Pod => ({
  metadata: { labels: o.labels as never, annotations: o.annotations as never },
  spec: { containers: [], initContainers: (o.inits ?? []).map((name) => ({ name })) },
})
const ns = (o: { labels?: object; annotations?: object }): V1Namespace => ({
  metadata: { name: 'n', labels: o.labels as never, annotations: o.annotations as never },
})

it("recognises each mesh by its own opt-in rules, the pod's before the namespace's", () => {
  const cases: [V1Pod, V1Namespace | undefined, unknown][] = [
    [pod(), undefined, undefined],
    [pod(), ns({ labels: { 'istio-injection': 'enabled' } }), ISTIO],
    [pod(), ns({ labels: { 'istio-injection': 'disabled', 'istio.io/rev': 'x' } }), undefined],
    [pod(), ns({ labels: { 'istio.io/rev': 'canary' } }), ISTIO],
    [
      pod({ labels: { 'sidecar.istio.io/inject': 'false' } }),
      ns({ labels: { 'istio-injection': 'enabled' } }),
      undefined,
    ],
    [pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), undefined, ISTIO],
    [pod({ annotations: { 'sidecar.istio.io/inject': 'true' } }), undefined, ISTIO],
    [pod({ inits: ['istio-validation'] }), undefined, ISTIO],
    [pod(), ns({ annotations: { 'linkerd.io/inject': 'enabled' } }), LINKERD],
    [
      pod({ annotations: { 'linkerd.io/inject': 'disabled' } }),
      ns({ annotations: { 'linkerd.io/inject': 'enabled' } }),
      undefined,
    ],
    [pod({ inits: ['linkerd-init'] }), undefined, LINKERD],
  ]
  for (const [p, n, want] of cases)
    assert.equal(
      meshOf(p, n),
      want,
      JSON.stringify([p.metadata, n?.metadata, p.spec?.initContainers]),
    )
})
