// What the broker keeps of each pod in its informer: the fields authorisation reads, nothing
// else. A pod as the API server sends it is 5 to 20 KiB (managedFields, status, every
// container's env, probes and mounts); this view is a few hundred bytes, so a broker that
// watches 50,000 injected pods holds megabytes, not a gigabyte. Authorisation on the view and on
// the full pod must agree (lib/pod-view.test.ts holds them to it).
import type { V1Container, V1Pod } from '@kubernetes/client-node'

export function podView(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {}
  const s = pod.spec
  const names = (cs: V1Container[] | undefined): V1Container[] | undefined =>
    cs?.map((c) => ({
      name: c.name,
      ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
    }))
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      // The informer resumes its watch from the last object's resourceVersion.
      resourceVersion: m.resourceVersion,
      labels: m.labels,
      annotations: m.annotations,
      deletionTimestamp: m.deletionTimestamp,
    },
    spec: s && {
      serviceAccountName: s.serviceAccountName,
      nodeName: s.nodeName,
      hostNetwork: s.hostNetwork,
      shareProcessNamespace: s.shareProcessNamespace,
      initContainers: names(s.initContainers),
      containers: names(s.containers) ?? [],
    },
  }
}
