// `iam-sidecar explain --pod=pod.yaml [--namespace=ns.yaml] [--service-account=sa.yaml]`
// or `iam-sidecar explain --live --pod-name=web --namespace-name=team-a [--kubeconfig=...]`.
import { readFileSync } from 'node:fs'
import {
  CoreV1Api,
  KubeConfig,
  type V1Namespace,
  type V1Pod,
  type V1ServiceAccount,
} from '@kubernetes/client-node'
import { parse } from 'yaml'
import { ConfigError, boolFlag, parseFlags, stringFlag } from '../lib/flags.ts'
import { INJECTOR_FLAGS, loadInjectorConfig } from './config.ts'
import { explain } from './explain.ts'
import { sidecarSpec } from './sidecar-spec.ts'
import {
  baseRoleArnFlag,
  defaultPolicyFlag,
  kubeconfigFlag,
  policyFlags,
} from '../lib/common-flags.ts'
import { policyOptionsOf } from '../lib/policy.ts'

const X = 'IAM_SIDECAR_EXPLAIN_'

export const EXPLAIN_FLAGS = {
  pod: stringFlag({
    name: 'pod',
    env: 'IAM_SIDECAR_EXPLAIN_POD',
    optional: true,
    description: 'Pod manifest (YAML or JSON file).',
  }),
  namespace: stringFlag({
    name: 'namespace',
    env: 'IAM_SIDECAR_EXPLAIN_NAMESPACE',
    optional: true,
    description: 'Namespace manifest (for its iam-sidecar/permitted policy).',
  }),
  serviceAccount: stringFlag({
    name: 'service-account',
    env: 'IAM_SIDECAR_EXPLAIN_SERVICE_ACCOUNT',
    optional: true,
    description: 'ServiceAccount manifest (for its iam-sidecar/role).',
  }),
  live: boolFlag({
    name: 'live',
    env: 'IAM_SIDECAR_EXPLAIN_LIVE',
    default: 'false',
    description: 'Read the pod, its namespace and ServiceAccount from the cluster.',
  }),
  podName: stringFlag({
    name: 'pod-name',
    env: 'IAM_SIDECAR_EXPLAIN_POD_NAME',
    optional: true,
    description: 'With --live: the pod.',
  }),
  namespaceName: stringFlag({
    name: 'namespace-name',
    env: 'IAM_SIDECAR_EXPLAIN_NAMESPACE_NAME',
    default: 'default',
    description: 'With --live: its namespace.',
  }),
  kubeconfig: kubeconfigFlag(X, 'With --live: kubeconfig (default: the usual kubectl lookup).'),
  baseRoleArn: baseRoleArnFlag(X, "As the injector's and broker's."),
  defaultPolicy: defaultPolicyFlag(X, "As the injector's and broker's."),
  ...policyFlags(X, " As the injector's and broker's."),
  nativeSidecars: boolFlag({
    name: 'native-sidecars',
    env: 'IAM_SIDECAR_EXPLAIN_NATIVE_SIDECARS',
    default: INJECTOR_FLAGS.nativeSidecars.default,
    description: "As the injector's.",
  }),
} as const

function readManifest<T>(file: string | undefined): T | undefined {
  if (file === undefined) return undefined
  try {
    return parse(readFileSync(file, 'utf8')) as T
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`)
  }
}

async function readLive(o: {
  kubeconfig: string | undefined
  namespace: string
  pod: string
}): Promise<[V1Pod, V1Namespace, V1ServiceAccount | undefined]> {
  const kc = new KubeConfig()
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig)
  else kc.loadFromDefault()
  const core = kc.makeApiClient(CoreV1Api)
  const pod = await core.readNamespacedPod({ name: o.pod, namespace: o.namespace })
  const ns = await core.readNamespace({ name: o.namespace })
  const saName = pod.spec?.serviceAccountName ?? 'default'
  const sa = await core
    .readNamespacedServiceAccount({ name: saName, namespace: o.namespace })
    .catch(() => undefined)
  return [pod, ns, sa]
}

export async function main(argv: readonly string[]): Promise<void> {
  // explain takes flags only: it is run by hand, and must not pick up a deployment's env.
  const f = parseFlags(EXPLAIN_FLAGS, argv, {})
  if (f.live && !f.podName) throw new ConfigError('--pod-name is required with --live')
  if (!f.live && !f.pod)
    throw new ConfigError(
      'give --pod=<manifest>, or --live --pod-name=<name> --namespace-name=<namespace>',
    )
  const [pod, ns, sa] = f.live
    ? await readLive({ kubeconfig: f.kubeconfig, namespace: f.namespaceName, pod: f.podName! })
    : [
        readManifest<V1Pod>(f.pod)!,
        readManifest<V1Namespace>(f.namespace),
        readManifest<V1ServiceAccount>(f.serviceAccount),
      ]
  const spec = sidecarSpec(
    loadInjectorConfig(['--tls-self-bootstrap', `--native-sidecars=${f.nativeSidecars}`], {}),
  )
  process.stdout.write(
    explain(pod, ns, sa, { spec, policy: policyOptionsOf(f), baseRoleArn: f.baseRoleArn }).join(
      '\n',
    ) + '\n',
  )
}
