// The injector's configuration: parsed once from flags (and IAM_SIDECAR_INJECTOR_* variables),
// frozen, passed down. The only injector file that reads the environment.
import {
  ConfigError,
  boolFlag,
  durationFlag,
  enumFlag,
  formatDuration,
  intFlag,
  parseFlags,
  stringFlag,
  urlFlag,
  type FlagValues,
} from '../lib/flags.ts'
import { policyProblem } from './ca-state.ts'
import { SIDECAR_SETTING_FLAGS } from './sidecar-settings.ts'
import {
  baseRoleArnFlag,
  defaultPolicyFlag,
  policyFlags,
  kubeconfigFlag,
  logLevelFlag,
  shutdownDelayFlag,
  metricsFlags,
  tokenAudienceFlag,
} from '../lib/common-flags.ts'

const E = 'IAM_SIDECAR_INJECTOR_'

export const INJECTOR_FLAGS = {
  port: intFlag({
    name: 'port',
    env: `${E}PORT`,
    default: '8443',
    min: 0,
    max: 65535,
    description: 'HTTPS port of the webhook (0: any free port).',
  }),
  bindAddress: stringFlag({
    name: 'bind-address',
    env: `${E}BIND_ADDRESS`,
    default: '0.0.0.0',
    description: 'Listen address of the webhook.',
  }),
  shutdownDelay: shutdownDelayFlag(E),
  tlsCertFile: stringFlag({
    name: 'tls-cert-file',
    env: `${E}TLS_CERT_FILE`,
    optional: true,
    description:
      'Serving certificate (PEM), reloaded when it changes. Not needed with --tls-self-bootstrap.',
  }),
  tlsKeyFile: stringFlag({
    name: 'tls-key-file',
    env: `${E}TLS_KEY_FILE`,
    optional: true,
    description: 'Serving key (PEM), reloaded when it changes.',
  }),
  tlsSelfBootstrap: boolFlag({
    name: 'tls-self-bootstrap',
    env: `${E}TLS_SELF_BOOTSTRAP`,
    default: 'false',
    description:
      'Serve a certificate from a CA that all replicas share (kept in --webhook-ca-secret, made by the first replica) and write that CA into the caBundle of --webhook-config-name (no cert-manager needed).',
  }),
  webhookCaSecret: stringFlag({
    name: 'webhook-ca-secret',
    env: `${E}WEBHOOK_CA_SECRET`,
    default: 'iam-sidecar-webhook-ca',
    // A Secret name: a DNS subdomain.
    pattern: /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    description:
      'With --tls-self-bootstrap: the Secret in --service-namespace that holds the webhook CA (certificate and key) every replica signs its serving certificate with. Created by the first replica; a Secret of that name with other data is refused, not overwritten.',
  }),
  webhookCaValidity: durationFlag({
    name: 'webhook-ca-validity',
    env: `${E}WEBHOOK_CA_VALIDITY`,
    default: '8760h',
    minMs: 9_000,
    maxMs: 87_600 * 3_600_000,
    description:
      'Lifetime of each webhook CA made with --tls-self-bootstrap. In its last third a replica makes the next CA; the caBundle holds both until the old one expires. At least 9 × --webhook-ca-check-interval.',
  }),
  webhookCaCheckInterval: durationFlag({
    name: 'webhook-ca-check-interval',
    env: `${E}WEBHOOK_CA_CHECK_INTERVAL`,
    default: '10m',
    minMs: 1_000,
    maxMs: 24 * 3_600_000,
    description:
      'How often each replica re-reads the CA Secret and the caBundle (--tls-self-bootstrap): it restores a caBundle changed by someone else, and moves its serving certificate to a new CA once that CA has been in the caBundle this long.',
  }),
  webhookConfigName: stringFlag({
    name: 'webhook-config-name',
    env: `${E}WEBHOOK_CONFIG_NAME`,
    default: 'iam-sidecar',
    description: 'The MutatingWebhookConfiguration whose caBundle --tls-self-bootstrap patches.',
  }),
  serviceName: stringFlag({
    name: 'service-name',
    env: `${E}SERVICE_NAME`,
    default: 'iam-sidecar-injector',
    description: 'Service in front of the webhook (DNS names of the self-made certificate).',
  }),
  serviceNamespace: stringFlag({
    name: 'service-namespace',
    env: `${E}SERVICE_NAMESPACE`,
    default: 'iam-sidecar',
    description: 'Namespace of that Service.',
  }),
  metricsPort: metricsFlags(E, '9091').metricsPort,
  metricsBindAddress: metricsFlags(E, '9091').metricsBindAddress,
  kubeconfig: kubeconfigFlag(E),
  sidecarImage: stringFlag({
    name: 'sidecar-image',
    env: `${E}SIDECAR_IMAGE`,
    default: 'iam-sidecar:0.1.0',
    pattern: /^[\w./:@-]{1,512}$/,
    description: 'Image of the injected sidecar (the project image; it starts the sidecar bundle).',
  }),
  imagePullPolicy: enumFlag({
    name: 'image-pull-policy',
    env: `${E}IMAGE_PULL_POLICY`,
    default: 'IfNotPresent',
    values: ['Always', 'IfNotPresent', 'Never'] as const,
    description: 'imagePullPolicy of the sidecar.',
  }),
  brokerUrl: urlFlag({
    name: 'broker-url',
    env: `${E}BROKER_URL`,
    default: 'https://iam-sidecar-broker.iam-sidecar.svc:8443',
    protocols: ['https:'],
    description: 'Broker URL the sidecars use.',
  }),
  brokerCaConfigMap: stringFlag({
    name: 'broker-ca-configmap',
    env: `${E}BROKER_CA_CONFIGMAP`,
    default: 'iam-sidecar-broker-ca',
    description:
      'ConfigMap (key ca.crt) with the broker CA, mounted into each sidecar; it must exist in every injected namespace. Used when --broker-ca-cluster-trust-bundle is not set (clusters before 1.33).',
  }),
  brokerCaClusterTrustBundle: stringFlag({
    name: 'broker-ca-cluster-trust-bundle',
    env: `${E}BROKER_CA_CLUSTER_TRUST_BUNDLE`,
    optional: true,
    description:
      'ClusterTrustBundle (cluster-scoped) with the broker CA, projected into each sidecar by the kubelet: namespaces created later need no step. Wins over --broker-ca-configmap.',
  }),
  tokenAudience: tokenAudienceFlag(E, "Audience of the projected token; must match the broker's."),
  tokenExpiration: durationFlag({
    name: 'token-expiration',
    env: `${E}TOKEN_EXPIRATION`,
    default: '1h',
    minMs: 600_000,
    maxMs: 48 * 3_600_000,
    description:
      'expirationSeconds of the projected token (at least 10m; the kubelet rotates it at 80%).',
  }),
  nativeSidecars: boolFlag({
    name: 'native-sidecars',
    env: `${E}NATIVE_SIDECARS`,
    default: 'true',
    description:
      'Inject the sidecar as the first init container with restartPolicy Always (Kubernetes ≥ 1.29). false: a regular container, and init containers get no credentials.',
  }),
  // The sidecar's own settings and resources; pod annotations may override each (sidecar-settings.ts).
  ...SIDECAR_SETTING_FLAGS,
  awsRegion: stringFlag({
    name: 'aws-region',
    env: `${E}AWS_REGION`,
    optional: true,
    pattern: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/,
    description:
      'Written as AWS_REGION and AWS_DEFAULT_REGION into app containers that set neither (one set: the other follows it). Default: none.',
  }),
  meshUidBypass: boolFlag({
    name: 'mesh-uid-bypass',
    env: `${E}MESH_UID_BYPASS`,
    default: 'true',
    description:
      "In pods that Istio or Linkerd will mesh, run the sidecar as the mesh proxy's UID (1337, 2102), which their iptables rules never redirect, so its broker call works before the proxy runs. An iam-sidecar/run-as-user annotation wins.",
  }),
  defaultPolicy: defaultPolicyFlag(
    E,
    "As the broker's: what a namespace without iam-sidecar/permitted allows. Keep the two equal.",
  ),
  ...policyFlags(E, " Keep it equal to the broker's."),
  baseRoleArn: baseRoleArnFlag(
    E,
    "As the broker's; lets admission check short role names against the namespace policy.",
  ),
  logLevel: logLevelFlag(E),
} as const

export type InjectorConfig = FlagValues<typeof INJECTOR_FLAGS>

export function loadInjectorConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): InjectorConfig {
  const cfg = parseFlags(INJECTOR_FLAGS, argv, env)
  if (!cfg.tlsSelfBootstrap && (!cfg.tlsCertFile || !cfg.tlsKeyFile)) {
    throw new ConfigError(
      '--tls-cert-file and --tls-key-file are required unless --tls-self-bootstrap is set',
    )
  }
  const caProblem = policyProblem({
    validityMs: cfg.webhookCaValidity,
    checkIntervalMs: cfg.webhookCaCheckInterval,
  })
  if (caProblem)
    throw new ConfigError(
      `--webhook-ca-validity (${formatDuration(cfg.webhookCaValidity)}) and --webhook-ca-check-interval (${formatDuration(cfg.webhookCaCheckInterval)}): ${caProblem}`,
    )
  if (cfg.sidecarPort === cfg.sidecarHealthPort)
    throw new ConfigError(
      `--sidecar-port and --sidecar-health-port must differ (both ${cfg.sidecarPort})`,
    )
  return cfg
}
