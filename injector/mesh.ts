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
  if (istioInjects(pod, namespace)) return ISTIO
  if (linkerdInjects(pod, namespace)) return LINKERD
  return undefined
}

/** Istio: the pod's label (or annotation) sidecar.istio.io/inject decides, else the namespace's. */
function istioInjects(pod: V1Pod, namespace: V1Namespace | undefined): boolean {
  const key = 'sidecar.istio.io/inject'
  const onPod = pod.metadata?.labels?.[key] ?? pod.metadata?.annotations?.[key]
  if (onPod !== undefined) return onPod === 'true'
  const ns = namespace?.metadata?.labels ?? {}
  if (ns['istio-injection'] !== undefined) return ns['istio-injection'] === 'enabled'
  return ns['istio.io/rev'] !== undefined
}

/** Linkerd: linkerd.io/inject on the pod wins over the namespace's. */
function linkerdInjects(pod: V1Pod, namespace: V1Namespace | undefined): boolean {
  const key = 'linkerd.io/inject'
  const value = pod.metadata?.annotations?.[key] ?? namespace?.metadata?.annotations?.[key]
  return value === 'enabled' || value === 'ingress'
}
