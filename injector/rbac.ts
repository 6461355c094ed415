// The Kubernetes permissions the injector needs, and why. Tests bind exactly these to the
// injector's identity; the chart grants the same.
import type { V1PolicyRule } from '@kubernetes/client-node'
import { injectorCaSecretRules } from './ca-secret-store.ts'
import { injectorWebhookRules } from './webhook-ca.ts'

export { injectorCaSecretRules }

/** Cluster-wide (a ClusterRole). */
export function injectorRules(o: {
  webhookConfigName: string
  selfBootstrap: boolean
}): V1PolicyRule[] {
  return [
    // Read each namespace's policy and each ServiceAccount's role annotation (informers).
    {
      apiGroups: [''],
      resources: ['namespaces', 'serviceaccounts'],
      verbs: ['get', 'list', 'watch'],
    },
    // Self-bootstrapped TLS: publish our CA in our own webhook configuration, and nothing else.
    ...(o.selfBootstrap ? injectorWebhookRules(o.webhookConfigName) : []),
  ]
}

/** In the injector's own namespace (a Role), with self-bootstrapped TLS only: the Secret that
 * holds the CA every replica shares. */
export function injectorNamespaceRules(o: {
  caSecretName: string
  selfBootstrap: boolean
}): V1PolicyRule[] {
  return o.selfBootstrap ? injectorCaSecretRules(o.caSecretName) : []
}
