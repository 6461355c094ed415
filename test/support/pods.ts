// Builders for test pods and their tokens on the real API server.
import { CoreV1Api, type V1Pod, type V1PodSpec } from '@kubernetes/client-node'
import type { TestCluster } from '../peers/cluster.ts'

export interface PodSpec {
  readonly namespace: string
  readonly name: string
  readonly serviceAccount?: string
  readonly annotations?: Record<string, string>
  readonly labels?: Record<string, string>
  readonly nodeName?: string
  /** Spec fields to add or override (hostNetwork, say). */
  readonly spec?: Partial<V1PodSpec>
  /** Leave out the sidecar container (a pod labelled injected by hand). */
  readonly withoutSidecar?: boolean
}

/**
 * A pod as the injector leaves it: labelled injected, with a container of the sidecar's name,
 * bound to a node, never run (no kubelet).
 */
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
        initContainers: p.withoutSidecar
          ? []
          : [{ name: 'iam-sidecar', image: 'registry.k8s.io/pause:3.10', restartPolicy: 'Always' }],
        containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }],
        ...p.spec,
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
