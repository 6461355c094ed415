// The pod settings that would break the sidecar's promise: that only the sidecar can read its
// ServiceAccount token and that 127.0.0.1 is the pod's own. The injector refuses such pods at
// admission; the broker refuses them again from the live pod, since admission alone can be
// bypassed (a pod created with the iam-sidecar/injected label and a container of ours by hand,
// or while the injector was down: its webhook ignores its own failures).
import type { V1Container, V1Pod } from '@kubernetes/client-node'
import { POD_LAYOUT } from './sidecar-pod-layout.ts'

/** Why this pod may not hold the sidecar's token, or undefined when its shape is safe. */
export function unsafePodShape(pod: V1Pod): string | undefined {
  if (pod.spec?.hostNetwork) {
    return "hostNetwork: true is not supported: 127.0.0.1 would be the node's loopback, shared with every host-network pod on the node; run the pod without hostNetwork, or remove the iam-sidecar/inject annotation"
  }
  if (pod.spec?.shareProcessNamespace) {
    return "shareProcessNamespace: true is not supported: other containers could read the sidecar's ServiceAccount token through /proc; turn it off, or remove the iam-sidecar/inject annotation"
  }
  return undefined
}

export function podContainers(pod: V1Pod): V1Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
}

/** Does the pod hold a container by the sidecar's name (ours, or one that claims to be)? */
export function hasSidecarContainer(pod: V1Pod): boolean {
  return podContainers(pod).some((c) => c.name === POD_LAYOUT.containerName)
}
