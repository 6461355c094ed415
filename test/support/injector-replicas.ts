// Several injector processes behind one MutatingWebhookConfiguration, as the replicas of one
// Deployment: one CA Secret in their namespace, RBAC exactly as the programs declare, and one
// webhook per replica (each selecting a namespace of its own), so that a test can route a real
// admission call to any one replica and check each replica's TLS against the caBundle.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:tls'
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1MutatingWebhook,
} from '@kubernetes/client-node'
import { injectorNamespaceRules, injectorRules } from '../../injector/rbac.ts'
import type { TestCluster } from '../peers/cluster.ts'
import { freePort } from '../peers/ports.ts'
import { podWebhook } from './injector-fixture.ts'
import { startInjectorProcess, type InjectorProcess } from './injector-process.ts'

export const SERVICE = 'iam-sidecar-injector'

export interface InjectorReplicas {
  readonly webhookConfigName: string
  readonly caSecret: { readonly namespace: string; readonly name: string }
  /** The live processes, by replica index (restart() replaces one). */
  readonly live: InjectorProcess[]
  /** Output of every process ever started, restarted ones included. */
  outputs(): string[]
  start(i: number): Promise<InjectorProcess>
  /** Stops (SIGTERM) or kills (SIGKILL) replica i and starts it again on its port. */
  restart(i: number, how: 'stop' | 'kill'): Promise<void>
  /** The CA certificates (PEM) of each webhook's caBundle, in replica order. */
  bundles(): Promise<string[]>
  /** Undefined when replica i's TLS is trusted by `ca` for the Service name, else the error. */
  handshake(i: number, ca: string): Promise<string | undefined>
  /** Undefined once a dry-run pod create routed to replica i is admitted (retried while the
   * API server loads a new caBundle), else the last error. */
  admittedVia(i: number): Promise<string | undefined>
  close(): Promise<void>
}

function webhookFor(i: number, port: number, label: string): V1MutatingWebhook {
  return podWebhook({
    name: `replica-${i}.iam-sidecar.io`,
    port,
    selector: { [label]: String(i) },
    timeoutSeconds: 5,
  })
}

async function grantRbac(
  cluster: TestCluster,
  o: { name: string; namespace: string; caSecretName: string },
): Promise<() => Promise<void>> {
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api)
  const { name, namespace } = o
  const subjects = [
    { kind: 'User', name: 'iam-sidecar-injector', apiGroup: 'rbac.authorization.k8s.io' },
  ]
  await rbac.createClusterRole({
    body: {
      metadata: { name },
      rules: injectorRules({ webhookConfigName: name, selfBootstrap: true }),
    },
  })
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    },
  })
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name },
      rules: injectorNamespaceRules({ caSecretName: o.caSecretName, selfBootstrap: true }),
    },
  })
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects,
    },
  })
  // RBAC reaches the authorizer a moment later; a replica that starts before exits on 403.
  const asInjector = cluster.kubeConfigAs('iam-sidecar-injector')
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await Promise.all([
      asInjector
        .makeApiClient(AdmissionregistrationV1Api)
        .readMutatingWebhookConfiguration({ name })
        .then(() => true),
      asInjector
        .makeApiClient(CoreV1Api)
        .readNamespacedSecret({ name: o.caSecretName, namespace })
        .then(
          () => true,
          (err: { code?: number }) => err.code === 404,
        ),
    ]).catch(() => [false])
    if (ok.every(Boolean)) break
    if (Date.now() > deadline) throw new Error('RBAC for the injector never took effect')
    await new Promise((r) => setTimeout(r, 100))
  }
  return async () =>
    void (await Promise.allSettled([
      rbac.deleteClusterRoleBinding({ name }),
      rbac.deleteClusterRole({ name }),
    ]))
}

export async function injectorReplicas(
  cluster: TestCluster,
  o: { replicas: number; flags?: readonly string[] },
): Promise<InjectorReplicas> {
  const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api)
  const core = cluster.kc.makeApiClient(CoreV1Api)
  const id = randomBytes(4).toString('hex')
  const name = `iam-sidecar-test-replicas-${id}`
  const label = `iam-sidecar-test-replica-${id}`
  const namespace = await cluster.freshNamespace('iam-sidecar-ca')
  const caSecret = { namespace, name: `iam-sidecar-test-webhook-ca-${id}` }
  const routeNs: string[] = []
  const ports: number[] = []
  for (let i = 0; i < o.replicas; i++) {
    routeNs.push(await cluster.freshNamespace(`iam-sidecar-route-${i}`, { [label]: `${i}` }))
    ports.push(await freePort())
  }
  await admission.createMutatingWebhookConfiguration({
    body: { metadata: { name }, webhooks: ports.map((p, i) => webhookFor(i, p, label)) },
  })
  const revoke = await grantRbac(cluster, { name, namespace, caSecretName: caSecret.name })
  const live: InjectorProcess[] = []
  const outputs: (() => string)[] = []

  const r: InjectorReplicas = {
    webhookConfigName: name,
    caSecret,
    live,
    outputs: () => outputs.map((out) => out()),
    async start(i) {
      const p = await startInjectorProcess(cluster, {
        port: ports[i]!,
        flags: [
          `--webhook-config-name=${name}`,
          `--service-name=${SERVICE}`,
          `--service-namespace=${namespace}`,
          `--webhook-ca-secret=${caSecret.name}`,
          '--log-level=debug',
          ...(o.flags ?? []),
        ],
      })
      outputs.push(() => p.output())
      live[i] = p
      return p
    },
    async restart(i, how) {
      await (how === 'kill' ? live[i]!.kill() : live[i]!.stop())
      await r.start(i)
    },
    async bundles() {
      const mwc = await admission.readMutatingWebhookConfiguration({ name })
      return (mwc.webhooks ?? []).map((w) =>
        Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'),
      )
    },
    handshake(i, ca) {
      return new Promise((resolve) => {
        const socket = connect({
          host: '127.0.0.1',
          port: ports[i]!,
          ca,
          servername: `${SERVICE}.${namespace}.svc`,
          timeout: 5000,
        })
        socket.once('secureConnect', () => {
          socket.destroy()
          resolve(undefined)
        })
        socket.once('timeout', () => {
          socket.destroy()
          resolve('timeout')
        })
        socket.once('error', (err) => resolve(err.message))
      })
    },
    async admittedVia(i) {
      const deadline = Date.now() + 10_000
      for (;;) {
        try {
          await core.createNamespacedPod({
            namespace: routeNs[i]!,
            dryRun: 'All',
            body: {
              metadata: { name: `probe-${randomBytes(3).toString('hex')}` },
              spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
            },
          })
          return undefined
        } catch (err) {
          const body = (err as { body?: string }).body ?? String(err)
          let message = body
          try {
            message = (JSON.parse(body) as { message?: string }).message ?? body
          } catch {
            // not a Status
          }
          if (Date.now() > deadline) return message
          await new Promise((res) => setTimeout(res, 200))
        }
      }
    },
    async close() {
      await Promise.allSettled(live.map((p) => p.kill()))
      await Promise.allSettled([admission.deleteMutatingWebhookConfiguration({ name }), revoke()])
    },
  }
  return r
}

export const certCount = (pem: string): number =>
  pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0

/** Every live replica trusted by its webhook's caBundle: a TLS handshake with it, then (with
 * `admission`) a real admission call routed to each; the problems found, empty when none. */
export async function untrustedReplicas(
  r: InjectorReplicas,
  o: { admission: boolean },
): Promise<string[]> {
  const bundles = await r.bundles()
  const tls = await Promise.all(r.live.map((_, i) => r.handshake(i, bundles[i]!)))
  const problems = tls.flatMap((e, i) =>
    e === undefined
      ? []
      : [`replica ${i}: TLS with a caBundle of ${certCount(bundles[i]!)} CAs: ${e}`],
  )
  if (problems.length > 0 || !o.admission) return problems
  const admitted = await Promise.all(r.live.map((_, i) => r.admittedVia(i)))
  return admitted.flatMap((e, i) => (e === undefined ? [] : [`replica ${i}: admission: ${e}`]))
}
