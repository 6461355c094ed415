// Service meshes that redirect a pod's outbound traffic with iptables (Istio, Linkerd) install the
// rules before any container of ours runs (an init container, or their CNI plugin), but their
// proxy may start only after our native sidecar is ready: the sidecar's first broker call would be
// redirected to a proxy that is not listening, and the pod would never start. Both meshes leave
// the traffic of their proxy's UID alone, so a sidecar running as that UID reaches the broker
// directly, whatever the container order. This file only recognises the meshes; pure.
import type { V1Namespace, V1Pod } from '@kubernetes/client-node'

export interface Mesh {
  readonly name: 'Istio' | 'Linkerd'
  /** The UID the mesh's iptables rules exempt: Istio's --proxy-uid 1337, Linkerd's 2102. */
  readonly proxyUid: number
}

export const ISTIO: Mesh = { name: 'Istio', proxyUid: 1337 }
export const LINKERD: Mesh = { name: 'Linkerd', proxyUid: 2102 }

/** Init containers the meshes add (iptables, or the CNI plugin's check). */
const MESH_INIT_CONTAINERS: Readonly<Record<string, Mesh>> = {
  'istio-init': ISTIO,
  'istio-validation': ISTIO,
  'linkerd-init': LINKERD,
  'linkerd-network-validator': LINKERD,
}

/** The mesh that will redirect this pod's traffic, if any, by the meshes' own opt-in rules. */
export function meshOf(pod: V1Pod, namespace: V1Namespace | undefined): Mesh | undefined {
  const present = (pod.spec?.initContainers ?? []).find((c) => MESH_INIT_CONTAINERS[c.name])
  if (present) return MESH_INIT_CONTAINERS[present.name]
  const podLabels = pod.metadata?.labels ?? {}
  const podAnn = pod.metadata?.annotations ?? {}
  const nsLabels = namespace?.metadata?.labels ?? {}
  const nsAnn = namespace?.metadata?.annotations ?? {}
  // Istio: the pod label or annotation sidecar.istio.io/inject decides; else the namespace label.
  const istioPod = podLabels['sidecar.istio.io/inject'] ?? podAnn['sidecar.istio.io/inject']
  if (istioPod === 'true') return ISTIO
  if (istioPod !== 'false') {
    if (nsLabels['istio-injection'] === 'enabled') return ISTIO
    if (nsLabels['istio-injection'] !== 'disabled' && nsLabels['istio.io/rev'] !== undefined)
      return ISTIO
  }
  // Linkerd: linkerd.io/inject on the pod wins over the namespace's.
  const linkerd = podAnn['linkerd.io/inject'] ?? nsAnn['linkerd.io/inject']
  if (linkerd === 'enabled' || linkerd === 'ingress') return LINKERD
  return undefined
}
