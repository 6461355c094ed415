// What the informers keep of each object: the fields the decisions read, nothing else. A pod as
// the API server sends it is 5 to 20 KiB (managedFields, status, every container's env, probes
// and mounts); its view is a few hundred bytes, so a broker that watches 50,000 injected pods
// holds megabytes, not a gigabyte. Namespaces and ServiceAccounts keep their names, labels and
// annotations (policy, roles, mesh detection). Decisions on a view and on the whole object must
// agree (lib/object-views.test.ts holds them to it).
import type {
  V1Container,
  V1Namespace,
  V1ObjectMeta,
  V1Pod,
  V1ServiceAccount,
} from '@kubernetes/client-node'

/** Identity, the informer's resume point, labels and annotations. */
function metaView(m: V1ObjectMeta | undefined): V1ObjectMeta {
  return {
    name: m?.name,
    namespace: m?.namespace,
    uid: m?.uid,
    // The informer resumes its watch from the last object's resourceVersion.
    resourceVersion: m?.resourceVersion,
    labels: m?.labels,
    annotations: m?.annotations,
    deletionTimestamp: m?.deletionTimestamp,
  }
}

export function namespaceView(ns: V1Namespace): V1Namespace {
  return { metadata: metaView(ns.metadata) }
}

export function serviceAccountView(sa: V1ServiceAccount): V1ServiceAccount {
  return { metadata: metaView(sa.metadata) }
}

export function podView(pod: V1Pod): V1Pod {
  const s = pod.spec
  const names = (cs: V1Container[] | undefined): V1Container[] | undefined =>
    cs?.map((c) => ({
      name: c.name,
      ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
    }))
  return {
    metadata: metaView(pod.metadata),
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
