// Builders for test pods and their tokens on the real API server.
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node'
import type { TestCluster } from '../peers/cluster.ts'

export interface PodSpec {
  readonly namespace: string
  readonly name: string
  readonly serviceAccount?: string
  readonly annotations?: Record<string, string>
  readonly labels?: Record<string, string>
  readonly nodeName?: string
}

/** A pod as the injector leaves it: labelled injected, bound to a node, never run (no kubelet). */
export async function createPod(cluster: TestCluster, p: PodSpec): Promise<V1Pod> {
  const core = cluster.kc.makeApiClient(CoreV1Api)
  return core.createNamespacedPod({
    namespace: p.namespace,
    body: {
      metadata: {
        name: p.name,
        annotations: p.annotations ?? {},
        labels: p.labels ?? { 'iam-sidecar/injected': 'true' },
      },
      spec: {
        serviceAccountName: p.serviceAccount ?? 'app',
        nodeName: p.nodeName ?? 'node-a',
        containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }],
      },
    },
  })
}

export async function createServiceAccount(
  cluster: TestCluster,
  namespace: string,
  name = 'app',
  annotations: Record<string, string> = {},
): Promise<void> {
  await cluster.kc
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name, annotations } } })
}

/** A projected-style token: TokenRequest bound to the pod (or to nothing), with an audience. */
export async function podToken(
  cluster: TestCluster,
  pod: V1Pod,
  o: { audience?: string; bound?: boolean } = {},
): Promise<string> {
  const core = cluster.kc.makeApiClient(CoreV1Api)
  const tr = await core.createNamespacedServiceAccountToken({
    name: pod.spec!.serviceAccountName!,
    namespace: pod.metadata!.namespace!,
    body: {
      spec: {
        audiences: [o.audience ?? 'iam-sidecar'],
        expirationSeconds: 3600,
        ...(o.bound === false
          ? {}
          : {
              boundObjectRef: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: pod.metadata!.name!,
                uid: pod.metadata!.uid!,
              },
            }),
      },
    },
  })
  return tr.status?.token ?? ''
}
