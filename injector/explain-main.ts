// `iam-sidecar explain --pod=pod.yaml [--namespace=ns.yaml] [--service-account=sa.yaml]`
// or `iam-sidecar explain --live --pod-name=web [--namespace-name=team-a] [--context=...]
// [--kubeconfig=...]`; namespace and context default as kubectl's do.
import { readFileSync } from 'node:fs'
import {
  ApiException,
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
import { injectionConfigOf } from './plan-injection.ts'
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
    optional: true,
    description: "With --live: its namespace (default: the kubeconfig context's, else default).",
  }),
  context: stringFlag({
    name: 'context',
    env: 'IAM_SIDECAR_EXPLAIN_CONTEXT',
    optional: true,
    description: "With --live: kubeconfig context (default: the kubeconfig's current context).",
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

/** The kubeconfig as kubectl reads it: --kubeconfig, else KUBECONFIG, else ~/.kube/config. */
function loadKubeConfig(file: string | undefined, context: string | undefined): KubeConfig {
  const kc = new KubeConfig()
  try {
    if (file) kc.loadFromFile(file)
    else kc.loadFromDefault()
  } catch (err) {
    throw new ConfigError(`cannot read the kubeconfig: ${(err as Error).message}`)
  }
  if (context !== undefined) {
    // setCurrentContext accepts any name; an unknown one would surface later as a vague error.
    if (!kc.getContextObject(context))
      throw new ConfigError(`--context: context ${JSON.stringify(context)} not in the kubeconfig`)
    kc.setCurrentContext(context)
  }
  return kc
}

async function readLive(o: {
  kubeconfig: string | undefined
  context: string | undefined
  namespace: string | undefined
  pod: string
}): Promise<[V1Pod, V1Namespace, V1ServiceAccount | undefined]> {
  const kc = loadKubeConfig(o.kubeconfig, o.context)
  // As kubectl: the namespace given, else the context's, else default.
  const namespace =
    o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default'
  const core = kc.makeApiClient(CoreV1Api)
  const pod = await core.readNamespacedPod({ name: o.pod, namespace })
  const ns = await core.readNamespace({ name: namespace })
  const saName = pod.spec?.serviceAccountName ?? 'default'
  const sa = await core
    .readNamespacedServiceAccount({ name: saName, namespace })
    .catch(() => undefined)
  return [pod, ns, sa]
}

/**
 * `iam-sidecar explain` and the kubectl plugin: a cluster error (or a failure to reach it) is one
 * line, as kubectl prints it, with exit 1; usage errors stay ConfigErrors (exit 2).
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await explainCommand(argv)
  } catch (err) {
    if (err instanceof ConfigError || !(err instanceof Error)) throw err
    // fetch's own message is only "fetch failed"; its cause names the host and the errno.
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
    const line = err instanceof ApiException ? serverError(err) : `error: ${err.message}${cause}`
    process.stderr.write(`${line}\n`)
    process.exitCode = 1
  }
}

/** kubectl's one line for an API error, e.g. `Error from server (NotFound): pods "x" not found`. */
function serverError(err: ApiException<unknown>): string {
  let status: { reason?: string; message?: string } = {}
  try {
    status = typeof err.body === 'string' ? JSON.parse(err.body) : (err.body as typeof status)
  } catch {
    // Not a Kubernetes Status (a proxy's page, say): the HTTP code below still says enough.
  }
  return `Error from server (${status.reason ?? `HTTP ${err.code}`}): ${status.message ?? err.message}`
}

async function explainCommand(argv: readonly string[]): Promise<void> {
  // explain takes flags only: it is run by hand, and must not pick up a deployment's env.
  const f = parseFlags(EXPLAIN_FLAGS, argv, {})
  if (f.live && !f.podName) throw new ConfigError('--pod-name is required with --live')
  if (!f.live && !f.pod)
    throw new ConfigError(
      'give --pod=<manifest>, or --live --pod-name=<name> --namespace-name=<namespace>',
    )
  const [pod, ns, sa] = f.live
    ? await readLive({
        kubeconfig: f.kubeconfig,
        context: f.context,
        namespace: f.namespaceName,
        pod: f.podName!,
      })
    : [
        readManifest<V1Pod>(f.pod)!,
        readManifest<V1Namespace>(f.namespace),
        readManifest<V1ServiceAccount>(f.serviceAccount),
      ]
  const injector = injectionConfigOf(
    loadInjectorConfig(['--tls-self-bootstrap', `--native-sidecars=${f.nativeSidecars}`], {}),
  )
  const cfg = { ...injector, policy: policyOptionsOf(f), baseRoleArn: f.baseRoleArn }
  process.stdout.write(explain(pod, ns, sa, cfg).join('\n') + '\n')
}
