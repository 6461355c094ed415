// The Kubernetes permissions the broker needs, and why. Tests bind exactly these to the broker's
// identity, so a missing rule fails a test; the chart grants the same.
import type { V1PolicyRule } from '@kubernetes/client-node'

export const BROKER_RULES: readonly V1PolicyRule[] = [
  // Authenticate pods: review their projected ServiceAccount tokens.
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  // Authorise: read the live pod, its namespace's policy and its ServiceAccount's role.
  {
    apiGroups: [''],
    resources: ['pods', 'namespaces', 'serviceaccounts'],
    verbs: ['get', 'list', 'watch'],
  },
  // Explain denials and STS failures on the pod.
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
]
