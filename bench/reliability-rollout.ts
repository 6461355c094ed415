// A rolling restart of the injector and the broker on the real node (a kubelet, containerd, runc;
// `helm install ./chart` with its defaults), under a steady stream of admissions, credential
// fetches and SDK calls (test/node/rollout.ts, which the node test also runs and asserts on):
//   rollout_failed_admissions  admissions that failed or came back without the sidecar
//   rollout_sdk_errors         SDK calls that failed (pods started cold during the rollout, and a
//                              running app) plus credential fetches from the broker Service that
//                              the sidecar's client would have passed on as a failure
// Writes bench/results/reliability-rollout.json; bench/reliability.ts merges it.
import { loadImages, startNodeCluster } from '../test/node/node-cluster.ts'
import { kubeFor, until } from '../test/node/kubectl.ts'
import { rolloutUnderLoad } from '../test/node/rollout.ts'
import { appDeployment, installChart, podsOf, tenantNamespace } from '../test/node/tenant.ts'
import { writeResults } from './results.ts'

const node = await startNodeCluster({ log: (l) => console.log(`# node: ${l}`) })
try {
  const kube = kubeFor(node)
  await loadImages(node, ['iam-sidecar', 'sdk-js-v3', 'sdk-go-v2'])
  await installChart(kube, node)
  const ns = await tenantNamespace(kube, 'rollout', 'arn:aws:iam::123456789012:role/bench-.*')
  await kube.apply([appDeployment(node, ns, { name: 'running', role: 'bench-running' })])
  const runningApp = await until(
    'running app Ready',
    async () =>
      (await podsOf(kube, ns, 'app=running')).find((p) =>
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ),
    240_000,
  )
  const r = await rolloutUnderLoad(kube, node, {
    tenant: ns,
    runningApp,
    role: (name) => `bench-${name}`,
  })
  for (const line of [...r.failedAdmissions, ...r.failedFetches, ...r.sdkErrors])
    console.log(`# failure: ${line}`)
  writeResults('reliability-rollout.json', {
    rollout_seconds: Math.round(r.rolloutMs / 100) / 10,
    rollout_admissions: r.admissions,
    rollout_failed_admissions: r.failedAdmissions.length,
    rollout_broker_fetches: r.fetches,
    rollout_broker_fetches_failed: r.failedFetchCount,
    rollout_cold_pods: r.coldPods,
    rollout_sdk_errors: r.sdkErrors.length + r.failedFetchCount,
  })
} finally {
  await node.stop()
}
