// Flags that several programs share, declared once so that their names, checks and docs agree.
// Each takes the program's environment-variable prefix (e.g. IAM_SIDECAR_BROKER_).
import { DEFAULT_TOKEN_AUDIENCE } from './broker-wire.ts'
import {
  boolFlag,
  durationFlag,
  enumFlag,
  formatDuration,
  intFlag,
  refine,
  stringFlag,
  type Flag,
} from './flags.ts'
import { LOG_LEVELS, type LogLevel } from './log.ts'
import { ALLOWED_ROLES_FORMATS, type AllowedRolesFormat } from './kube2iam-allowed-roles.ts'
import { LEGACY_PERMITTED_MATCHES, type LegacyPermittedMatch } from './kiam-permitted.ts'
import { isBaseRoleArn } from './role.ts'
import { DEFAULT_REFRESH_WINDOW_MS, refreshWindowProblem } from './session-timing.ts'

export function logLevelFlag(prefix: string): Flag<LogLevel> {
  return enumFlag({
    name: 'log-level',
    env: `${prefix}LOG_LEVEL`,
    default: 'info',
    values: LOG_LEVELS,
    description: 'Minimum level of the JSON log lines.',
  })
}

/**
 * The sidecars' refresh window: the sidecar's --refresh-window, and --sidecar-refresh-window of
 * the injector (which writes it into each sidecar) and of the broker (which derives its cache
 * thresholds above it). One default and one check (lib/session-timing.ts).
 */
export function refreshWindowFlag(o: {
  name: string
  env: string
  description: string
}): Flag<number> {
  return refine(
    durationFlag({
      ...o,
      default: formatDuration(DEFAULT_REFRESH_WINDOW_MS),
      maxMs: 12 * 3_600_000,
    }),
    refreshWindowProblem,
  )
}

/** How long a server keeps serving after SIGTERM while its readiness fails (lib/drain.ts). */
export function shutdownDelayFlag(prefix: string): Flag<number> {
  return durationFlag({
    name: 'shutdown-delay',
    env: `${prefix}SHUTDOWN_DELAY`,
    default: '5s',
    maxMs: 60_000,
    description:
      'After SIGTERM, keep serving this long while readiness fails, so that the Service and keep-alive clients move to other replicas before this one stops accepting; then requests in flight get up to 20s. Keep terminationGracePeriodSeconds above the sum.',
  })
}

export function kubeconfigFlag(
  prefix: string,
  description = 'Kubeconfig file; default: in-cluster ServiceAccount.',
): Flag<string> & { optional: true } {
  return {
    ...stringFlag({ name: 'kubeconfig', env: `${prefix}KUBECONFIG`, description }),
    optional: true,
  }
}

export function tokenAudienceFlag(prefix: string, description: string): Flag<string> {
  return stringFlag({
    name: 'token-audience',
    env: `${prefix}TOKEN_AUDIENCE`,
    default: DEFAULT_TOKEN_AUDIENCE,
    pattern: /^[\x21-\x7e]{1,256}$/,
    description,
  })
}

export function defaultPolicyFlag(prefix: string, description: string): Flag<'deny' | 'allow'> {
  return enumFlag({
    name: 'default-policy',
    env: `${prefix}DEFAULT_POLICY`,
    default: 'deny',
    values: ['deny', 'allow'] as const,
    description,
  })
}

/** The namespace policy flags besides --default-policy; the injector, broker and explain agree. */
export function policyFlags(
  prefix: string,
  note = '',
): {
  legacyPermittedMatch: Flag<LegacyPermittedMatch>
  namespaceRestrictions: Flag<boolean>
  namespaceRestrictionFormat: Flag<AllowedRolesFormat>
} {
  return {
    legacyPermittedMatch: enumFlag({
      name: 'legacy-permitted-match',
      env: `${prefix}LEGACY_PERMITTED_MATCH`,
      default: 'anchored',
      values: LEGACY_PERMITTED_MATCHES,
      description: `How kiam's iam.amazonaws.com/permitted (never iam-sidecar/permitted) is matched: anchored against the full ARN (kiam v4), kiam-v3 (unanchored, against the role as written), or kiam-v4-unanchored (kiam's --disable-strict-namespace-regexp: unanchored, against the ARN).${note}`,
    }),
    namespaceRestrictions: boolFlag({
      name: 'namespace-restrictions',
      env: `${prefix}NAMESPACE_RESTRICTIONS`,
      default: 'false',
      description: `Honour kube2iam's iam.amazonaws.com/allowed-roles namespace annotation (kube2iam's --namespace-restrictions) where neither permitted annotation is set.${note}`,
    }),
    namespaceRestrictionFormat: enumFlag({
      name: 'namespace-restriction-format',
      env: `${prefix}NAMESPACE_RESTRICTION_FORMAT`,
      default: 'glob',
      values: ALLOWED_ROLES_FORMATS,
      description: `Entries of iam.amazonaws.com/allowed-roles are globs (\`*\` only, whole ARN) or unanchored RE2 regexps, as kube2iam's flag of that name.${note}`,
    }),
  }
}

/** `arn:aws:iam::123456789012:role/` (kube2iam's --base-role-arn form), checked at parse time. */
export function baseRoleArnFlag(
  prefix: string,
  description: string,
): Flag<string> & { optional: true } {
  return {
    name: 'base-role-arn',
    env: `${prefix}BASE_ROLE_ARN`,
    optional: true,
    type: 'string',
    description,
    parse(raw) {
      if (!isBaseRoleArn(raw))
        throw new Error(
          `must look like arn:aws:iam::123456789012:role/ (got ${JSON.stringify(raw)})`,
        )
      return raw
    },
  }
}

export function metricsFlags(
  prefix: string,
  port: string,
): { metricsPort: Flag<number>; metricsBindAddress: Flag<string> } {
  return {
    metricsPort: intFlag({
      name: 'metrics-port',
      env: `${prefix}METRICS_PORT`,
      default: port,
      min: 0,
      max: 65535,
      description: 'Port of /metrics (Prometheus), separate from the API port (0: any free port).',
    }),
    metricsBindAddress: stringFlag({
      name: 'metrics-bind-address',
      env: `${prefix}METRICS_BIND_ADDRESS`,
      default: '0.0.0.0',
      description: 'Listen address of /metrics.',
    }),
  }
}
