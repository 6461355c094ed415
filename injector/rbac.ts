// The Kubernetes permissions the injector needs, and why. Tests bind exactly these to the
// injector's identity; the chart grants the same.
import type { V1PolicyRule } from '@kubernetes/client-node'
import { injectorWebhookRules } from './webhook-ca.ts'

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
