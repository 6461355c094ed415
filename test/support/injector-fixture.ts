// The real injector in-process against the test API server: its own static identity bound to
// exactly injectorRules() and, in a namespace of its own, injectorNamespaceRules();
// self-bootstrapped TLS (its CA in a Secret there), and a MutatingWebhookConfiguration pointing
// at it on 127.0.0.1 that only selects namespaces carrying this run's label.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1MutatingWebhook,
} from '@kubernetes/client-node'
import { loadInjectorConfig } from '../../injector/config.ts'
import { startInjector, type InjectorRuntime } from '../../injector/main.ts'
import { injectorNamespaceRules, injectorRules } from '../../injector/rbac.ts'
import { createLogger } from '../../lib/log.ts'
import type { TestCluster } from '../peers/cluster.ts'
import { writeKubeconfig } from '../peers/control-plane.ts'
import { freePort } from '../peers/ports.ts'

export interface TestInjector extends InjectorRuntime {
  /** Label to put on a namespace so that the webhook applies to it. */
  readonly selector: Record<string, string>
  readonly webhookConfigName: string
  logs(): string
}

/** A webhook on pod creation, sent to an injector on 127.0.0.1:`port`, for namespaces labelled so. */
export function podWebhook(o: {
  name: string
  port: number
  selector: Record<string, string>
  timeoutSeconds: number
}): V1MutatingWebhook {
  return {
    name: o.name,
    clientConfig: { url: `https://127.0.0.1:${o.port}/mutate` },
    rules: [
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        operations: ['CREATE'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ],
    namespaceSelector: { matchLabels: o.selector },
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    timeoutSeconds: o.timeoutSeconds,
  }
}

export async function startTestInjector(
  cluster: TestCluster,
  flags: readonly string[] = [],
): Promise<TestInjector> {
  const id = randomBytes(4).toString('hex')
  const name = `iam-sidecar-test-${id}`
  const selector = { 'iam-sidecar-test': id }
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api)
  await rbac.createClusterRole({
    body: {
      metadata: { name },
      rules: injectorRules({ webhookConfigName: name, selfBootstrap: true }),
    },
  })
  const subjects = [
    { kind: 'User', name: 'iam-sidecar-injector', apiGroup: 'rbac.authorization.k8s.io' },
  ]
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    },
  })
  // The injector's own namespace, where its CA Secret lives (deleted with the test's namespaces).
  const serviceNamespace = await cluster.freshNamespace('iam-sidecar-injector')
  await rbac.createNamespacedRole({
    namespace: serviceNamespace,
    body: {
      metadata: { name },
      rules: injectorNamespaceRules({ caSecretName: name, selfBootstrap: true }),
    },
  })
  await rbac.createNamespacedRoleBinding({
    namespace: serviceNamespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects,
    },
  })
  const port = await freePort()
  const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api)
  await admission.createMutatingWebhookConfiguration({
    body: {
      metadata: { name },
      webhooks: [podWebhook({ name: 'inject.iam-sidecar.io', port, selector, timeoutSeconds: 10 })],
    },
  })
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-injector-'))
  const kubeconfig = writeKubeconfig(dir, {
    server: cluster.info.apiserverUrl,
    caFile: cluster.info.caCertFile,
    user: 'iam-sidecar-injector',
    token: cluster.info.tokens['iam-sidecar-injector'],
  })
  let out = ''
  const log = createLogger({
    level: 'debug',
    component: 'injector',
    write: (line) => (out += line + '\n'),
  })
  const cfg = loadInjectorConfig(
    [
      `--kubeconfig=${kubeconfig}`,
      '--tls-self-bootstrap',
      `--webhook-config-name=${name}`,
      `--service-namespace=${serviceNamespace}`,
      `--webhook-ca-secret=${name}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--metrics-port=0',
      '--metrics-bind-address=127.0.0.1',
      ...flags,
    ],
    {},
  )
  // RBAC bindings reach the authorizer a moment later: retry the start on 403.
  let rt: InjectorRuntime | undefined
  for (let i = 0; !rt; i++) {
    try {
      rt = await startInjector(cfg, { log })
    } catch (err) {
      if (i > 50 || !/forbidden/i.test((err as Error).message)) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const runtime = rt
  return {
    ...runtime,
    selector,
    webhookConfigName: name,
    logs: () => out,
    async close() {
      await runtime.close()
      await Promise.allSettled([
        admission.deleteMutatingWebhookConfiguration({ name }),
        rbac.deleteClusterRoleBinding({ name }),
        rbac.deleteClusterRole({ name }),
      ])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Waits until the API server calls the webhook for namespace `ns` (configuration changes are
 * picked up asynchronously), using dry-run pod creations as probes. */
export async function waitForWebhook(
  cluster: TestCluster,
  ns: string,
  probe: () => object,
): Promise<void> {
  const core = cluster.kc.makeApiClient(CoreV1Api)
  const deadline = Date.now() + 15_000
  for (;;) {
    const pod = await core.createNamespacedPod({ namespace: ns, body: probe(), dryRun: 'All' })
    if (pod.metadata?.labels?.['iam-sidecar/injected'] === 'true') return
    if (Date.now() > deadline) throw new Error('the webhook never took effect')
    await new Promise((r) => setTimeout(r, 100))
  }
}
