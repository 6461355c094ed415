// What the node tests, the demo and the node benchmark install and create: the chart as a platform
// engineer installs it, and tenants' namespaces and workloads as application teams write them.
import { join } from 'node:path'
import { repoRoot } from '../peers/paths.ts'
import { RESTRICTED_SECURITY_CONTEXT } from '../../injector/sidecar-spec.ts'
import type { NodeClusterInfo } from './node-cluster.ts'
import type { Kube } from './kubectl.ts'

export const RELEASE = 'iam-sidecar'
export const RELEASE_NS = 'iam-sidecar'
/** App images holding real SDK clients (scripts/image/images.ts builds them). */
export const SDK_JS = 'docker.io/library/iam-sidecar-sdk-js-v3:test'
export const SDK_GO = 'docker.io/library/iam-sidecar-sdk-go-v2:test'

export interface Pod {
  metadata: {
    name: string
    uid: string
    deletionTimestamp?: string
    creationTimestamp?: string
    labels?: Record<string, string>
  }
  spec: {
    nodeName?: string
    initContainers?: PodContainer[]
    containers: PodContainer[]
  }
  status: {
    phase?: string
    startTime?: string
    conditions?: { type: string; status: string; lastTransitionTime?: string }[]
    initContainerStatuses?: ContainerStatus[]
    containerStatuses?: ContainerStatus[]
  }
}
export interface PodContainer {
  name: string
  args?: string[]
  env?: { name: string; value?: string }[]
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean }
}
export interface ContainerStatus {
  name: string
  ready: boolean
  restartCount: number
  containerID?: string
  started?: boolean
  state?: { running?: { startedAt: string }; terminated?: { exitCode: number } }
}

export async function podsOf(kube: Kube, ns: string, selector: string): Promise<Pod[]> {
  return (await kube.json<{ items: Pod[] }>(['get', 'pods', '-n', ns, '-l', selector])).items
}

const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
}

/**
 * helm install (or upgrade) of ./chart into a restricted namespace. Overrides: none for the image
 * (its default reference is what `npm run image` writes), and what a cluster without AWS needs:
 * the STS emulator's endpoint and fake keys for the broker identity, from a Secret.
 */
export async function installChart(
  kube: Kube,
  node: NodeClusterInfo,
  extra: readonly string[] = [],
): Promise<void> {
  await kube.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE_NS, labels: RESTRICTED } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'broker-aws-keys', namespace: RELEASE_NS },
      // moto accepts any keys; these are not credentials.
      stringData: { id: 'AKIAIOSFODNN7EXAMPLE', secret: 'not-a-secret-moto-accepts-anything' },
    },
  ])
  const keyRef = (name: string, key: string): object => ({
    name,
    valueFrom: { secretKeyRef: { name: 'broker-aws-keys', key } },
  })
  await kube.helm([
    'upgrade',
    '--install',
    RELEASE,
    join(repoRoot, 'chart'),
    '--namespace',
    RELEASE_NS,
    '--set',
    `broker.stsEndpoint=${node.stsEndpoint}`,
    '--set-json',
    `broker.extraEnv=${JSON.stringify([keyRef('AWS_ACCESS_KEY_ID', 'id'), keyRef('AWS_SECRET_ACCESS_KEY', 'secret')])}`,
    ...extra,
    '--wait',
    '--timeout=5m',
  ])
}

/** A tenant namespace with a role policy, Pod Security restricted, and a ServiceAccount `app`. */
export async function tenantNamespace(
  kube: Kube,
  name: string,
  permitted: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<string> {
  await kube.apply([
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { ...RESTRICTED, ...labels },
        annotations: { 'iam-sidecar/permitted': permitted },
      },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: name } },
  ])
  return name
}

/** What an app needs to reach the STS emulator (a real cluster's apps reach AWS's own STS). */
export function stsEnv(node: NodeClusterInfo): { name: string; value: string }[] {
  return [
    { name: 'AWS_REGION', value: 'us-east-1' },
    { name: 'AWS_ENDPOINT_URL_STS', value: node.stsEndpoint },
  ]
}

/** PEM of the broker CA the chart generated (its TLS Secret's ca.crt). */
export async function brokerCaPem(kube: Kube): Promise<string> {
  const secret = await kube.json<{ data: Record<string, string> }>([
    'get',
    'secret',
    '-n',
    RELEASE_NS,
    `${RELEASE}-broker-tls`,
  ])
  return Buffer.from(secret.data['ca.crt']!, 'base64').toString()
}

/** An app container's context under Pod Security restricted: the sidecar's, as user 1000. */
export const RESTRICTED_CONTAINER = {
  ...RESTRICTED_SECURITY_CONTEXT,
  runAsUser: 1000,
  runAsGroup: 1000,
}

/**
 * A Deployment as an application team writes it: an annotated pod, a restricted security
 * context, an init container of its own that calls STS once (Go SDK v2), and an app that calls
 * sts:GetCallerIdentity every 2 s (JavaScript SDK v3 unless `image` says otherwise).
 */
export function appDeployment(
  node: NodeClusterInfo,
  ns: string,
  app: { name: string; role: string; image?: string; inject?: boolean; initContainer?: boolean },
) {
  const { name, role } = app
  const opts = app
  const image = opts.image ?? SDK_JS
  const env = [
    ...stsEnv(node),
    { name: 'IAM_SIDECAR_CLIENT_LOOP', value: '1000000' },
    { name: 'IAM_SIDECAR_CLIENT_INTERVAL_MS', value: '2000' },
  ]
  const inject = opts.inject ?? true
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: {
          labels: { app: name },
          annotations: inject ? { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': role } : {},
        },
        spec: {
          serviceAccountName: 'app',
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 5,
          initContainers:
            (opts.initContainer ?? inject)
              ? [
                  {
                    name: 'sts-init',
                    image: SDK_GO,
                    imagePullPolicy: 'IfNotPresent',
                    env: env.slice(0, 2),
                    securityContext: RESTRICTED_CONTAINER,
                  },
                ]
              : ([] as object[]),
          containers: [
            {
              name: 'app',
              image,
              imagePullPolicy: 'IfNotPresent',
              env: image === SDK_JS ? env : env.slice(0, 2),
              securityContext: RESTRICTED_CONTAINER,
              resources: { requests: { cpu: '10m', memory: '32Mi' } },
            },
          ],
        },
      },
    },
  }
}

/** The same pod as appDeployment's, as a bare Pod named `app.name` (for admission checks). */
export function appPod(
  node: NodeClusterInfo,
  ns: string,
  app: Parameters<typeof appDeployment>[2],
) {
  const template = appDeployment(node, ns, app).spec.template
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: app.name, namespace: ns, ...template.metadata },
    spec: template.spec,
  }
}
