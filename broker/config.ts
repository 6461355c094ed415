// The broker's configuration: parsed once from flags (and IAM_SIDECAR_BROKER_* variables),
// frozen, passed down. The only broker file that reads the environment.
import { sessionTiming, type SessionSettings, type SessionTiming } from '../lib/session-timing.ts'
import {
  ConfigError,
  boolFlag,
  durationFlag,
  enumFlag,
  intFlag,
  parseFlags,
  stringFlag,
  urlFlag,
  type FlagValues,
} from '../lib/flags.ts'
import {
  baseRoleArnFlag,
  defaultPolicyFlag,
  policyFlags,
  kubeconfigFlag,
  logLevelFlag,
  metricsFlags,
  refreshWindowFlag,
  shutdownDelayFlag,
  tokenAudienceFlag,
} from '../lib/common-flags.ts'

const E = 'IAM_SIDECAR_BROKER_'
const MIN = 60_000

export const BROKER_FLAGS = {
  port: intFlag({
    name: 'port',
    env: `${E}PORT`,
    default: '8443',
    min: 0,
    max: 65535,
    description: 'HTTPS port of the credentials endpoint (0: any free port).',
  }),
  bindAddress: stringFlag({
    name: 'bind-address',
    env: `${E}BIND_ADDRESS`,
    default: '0.0.0.0',
    description: 'Listen address of the credentials endpoint.',
  }),
  tlsCertFile: stringFlag({
    name: 'tls-cert-file',
    env: `${E}TLS_CERT_FILE`,
    description: 'Serving certificate (PEM); reloaded when it changes.',
  }),
  tlsKeyFile: stringFlag({
    name: 'tls-key-file',
    env: `${E}TLS_KEY_FILE`,
    description: 'Serving key (PEM); reloaded when it changes.',
  }),
  metricsPort: metricsFlags(E, '9090').metricsPort,
  metricsBindAddress: metricsFlags(E, '9090').metricsBindAddress,
  mode: enumFlag({
    name: 'mode',
    env: `${E}MODE`,
    default: 'cluster',
    values: ['cluster', 'node'] as const,
    description:
      '`cluster`: serve every pod (Deployment). `node`: serve only pods whose token names this node (DaemonSet).',
  }),
  nodeName: stringFlag({
    name: 'node-name',
    env: `${E}NODE_NAME`,
    optional: true,
    description: "This broker's node in node mode (from the downward API, spec.nodeName).",
  }),
  shutdownDelay: shutdownDelayFlag(E),
  kubeconfig: kubeconfigFlag(E),
  tokenAudience: tokenAudienceFlag(
    E,
    "Audience the projected tokens are reviewed with; must match the injector's.",
  ),
  tokenReviewTtl: durationFlag({
    name: 'token-review-ttl',
    env: `${E}TOKEN_REVIEW_TTL`,
    default: '60s',
    maxMs: 60_000,
    description:
      'How long a TokenReview result is reused (never past the token expiry; at most 60s).',
  }),
  defaultPolicy: defaultPolicyFlag(
    E,
    'What a namespace without an iam-sidecar/permitted annotation allows: no role (deny) or any role (allow).',
  ),
  ...policyFlags(E),
  baseRoleArn: baseRoleArnFlag(
    E,
    "Prefix for short role names, e.g. arn:aws:iam::123456789012:role/ (default: the broker identity's account, from GetCallerIdentity at start).",
  ),
  region: stringFlag({
    name: 'region',
    env: `${E}REGION`,
    default: 'us-east-1',
    pattern: /^[a-z]{2}(-[a-z]+)+-\d$/,
    description: 'AWS region; STS is called at its regional endpoint.',
  }),
  stsEndpoint: urlFlag({
    name: 'sts-endpoint',
    env: `${E}STS_ENDPOINT`,
    optional: true,
    protocols: ['https:', 'http:'],
    description: 'Custom STS endpoint (VPC endpoint, FIPS, or a test emulator).',
  }),
  sessionDuration: durationFlag({
    name: 'session-duration',
    env: `${E}SESSION_DURATION`,
    default: '1h',
    minMs: 15 * MIN,
    maxMs: 12 * 60 * MIN,
    description:
      'DurationSeconds of each role session, 15m..12h. Over 1h, a broker whose own identity is a role session (IRSA, an instance role) caps it at 1h at start with a warning, since STS refuses longer chained sessions.',
  }),
  sessionTags: boolFlag({
    name: 'session-tags',
    env: `${E}SESSION_TAGS`,
    default: 'true',
    description:
      'Send the kubernetes-* and cluster-name session tags (needs sts:TagSession in the role trust policy).',
  }),
  podIdentityTagsDisabled: boolFlag({
    name: 'pod-identity-tags-disabled',
    env: `${E}POD_IDENTITY_TAGS_DISABLED`,
    default: 'false',
    description:
      "Say that the broker's own EKS Pod Identity association has session tags turned off; without it a broker whose identity comes from EKS Pod Identity refuses to start.",
  }),
  sourceIdentity: boolFlag({
    name: 'source-identity',
    env: `${E}SOURCE_IDENTITY`,
    default: 'true',
    description:
      'Set SourceIdentity to <namespace>@<serviceaccount> (needs sts:SetSourceIdentity in the trust policy).',
  }),
  clusterName: stringFlag({
    name: 'cluster-name',
    env: `${E}CLUSTER_NAME`,
    default: 'kubernetes',
    pattern: /^[\w.:/=+@-]{1,256}$/,
    description: 'Value of the cluster-name session tag.',
  }),
  sessionScope: enumFlag({
    name: 'session-scope',
    env: `${E}SESSION_SCOPE`,
    default: 'pod',
    values: ['pod', 'shared'] as const,
    description:
      '`pod`: one session per pod and role. `shared`: one per namespace, ServiceAccount and role (far fewer STS calls for large Deployments; CloudTrail then names the first pod).',
  }),
  cacheSize: intFlag({
    name: 'cache-size',
    env: `${E}CACHE_SIZE`,
    default: '20000',
    min: 1,
    max: 1_000_000,
    description: 'Sessions kept in memory.',
  }),
  sidecarRefreshWindow: refreshWindowFlag({
    name: 'sidecar-refresh-window',
    env: `${E}SIDECAR_REFRESH_WINDOW`,
    description:
      "The sidecars' refresh window (the injector's --sidecar-refresh-window; the chart passes the same value to both): the cache thresholds are derived above it.",
  }),
  cacheMinRemaining: durationFlag({
    name: 'cache-min-remaining',
    env: `${E}CACHE_MIN_REMAINING`,
    optional: true,
    description:
      "A cached session is handed out only with at least this much life left: above the sidecars' refresh point (the smaller of --sidecar-refresh-window and half the session), below --session-duration. Default: derived (40m for 1h sessions; lib/session-timing.ts).",
  }),
  cachePrefetchBelow: durationFlag({
    name: 'cache-prefetch-below',
    env: `${E}CACHE_PREFETCH_BELOW`,
    optional: true,
    description:
      'A session served with less than this left is refreshed in the background: from --cache-min-remaining up to below --session-duration. Default: derived (50m for 1h sessions).',
  }),
  stsRate: intFlag({
    name: 'sts-rate',
    env: `${E}STS_RATE`,
    default: '10',
    min: 1,
    max: 1000,
    description: 'AssumeRole calls per second at most (token bucket).',
  }),
  stsBurst: intFlag({
    name: 'sts-burst',
    env: `${E}STS_BURST`,
    default: '20',
    min: 1,
    max: 10_000,
    description: 'Burst of the AssumeRole rate limit.',
  }),
  stsAttempts: intFlag({
    name: 'sts-attempts',
    env: `${E}STS_ATTEMPTS`,
    default: '4',
    min: 1,
    max: 10,
    description:
      'Attempts per AssumeRole on throttling and 5xx (with backoff and jitter); denials are not retried.',
  }),
  eventInterval: durationFlag({
    name: 'event-interval',
    env: `${E}EVENT_INTERVAL`,
    default: '5m',
    description: 'At most one Event per pod and reason in this interval.',
  }),
  logLevel: logLevelFlag(E),
} as const

type BrokerFlagValues = FlagValues<typeof BROKER_FLAGS>
/**
 * The flags as parsed, and the session timing they give (cache thresholds derived where not set
 * by hand). At start, a broker whose identity is a role session may cap it (broker/start-timing.ts).
 */
export type BrokerConfig = BrokerFlagValues & { readonly sessionTiming: SessionTiming }

export function loadBrokerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): BrokerConfig {
  const cfg = parseFlags(BROKER_FLAGS, argv, env)
  refusePodIdentityTags(cfg, env)
  if (cfg.mode === 'node' && !cfg.nodeName) {
    throw new ConfigError(
      '--node-name (or IAM_SIDECAR_BROKER_NODE_NAME) is required with --mode=node; set it from the downward API (spec.nodeName)',
    )
  }
  const timing = sessionTiming(sessionSettingsOf(cfg))
  if (!timing.ok) throw new ConfigError(timing.message)
  return Object.freeze({ ...cfg, sessionTiming: timing.timing })
}

/** The session settings as given: duration, the sidecars' window, thresholds set by hand. */
export function sessionSettingsOf(cfg: BrokerFlagValues): SessionSettings {
  return {
    durationMs: cfg.sessionDuration,
    refreshWindowMs: cfg.sidecarRefreshWindow,
    minRemainingMs: cfg.cacheMinRemaining,
    prefetchBelowMs: cfg.cachePrefetchBelow,
  }
}

// The EKS Pod Identity agent's addresses (IPv4 and IPv6), as the SDKs' container provider sees
// them in AWS_CONTAINER_CREDENTIALS_FULL_URI.
const POD_IDENTITY_HOSTS = new Set(['169.254.170.23', '[fd00:ec2::23]'])

/**
 * EKS Pod Identity tags the broker's own session with transitive kubernetes-namespace,
 * kubernetes-service-account, kubernetes-pod-name and kubernetes-pod-uid tags. STS refuses to
 * set a key a session inherited, so with session tags on every AssumeRole fails; with them off
 * every pod's session inherits the BROKER's namespace and pod tags, and any policy keyed on
 * aws:PrincipalTag/kubernetes-namespace would take each pod for the broker. Both are refused at
 * start unless the operator says the association's session tags are off.
 */
function refusePodIdentityTags(
  cfg: BrokerFlagValues,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const uri = env.AWS_CONTAINER_CREDENTIALS_FULL_URI
  let host: string | undefined
  try {
    host = uri ? new URL(uri).hostname : undefined
  } catch {
    return
  }
  if (host === undefined || !POD_IDENTITY_HOSTS.has(host) || cfg.podIdentityTagsDisabled) return
  throw new ConfigError(
    `the broker's AWS identity comes from EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI=${uri}), whose session tags are transitive: ${
      cfg.sessionTags
        ? 'STS would refuse every AssumeRole that sets the kubernetes-* session tags'
        : "every pod's session would inherit the broker's own kubernetes-namespace and pod tags"
    }. Give the broker IRSA or a node role instead, or turn session tags off on the broker's Pod Identity association (disableSessionTags) and set --pod-identity-tags-disabled=true`,
  )
}
