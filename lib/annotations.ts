// Annotation and label keys, in one place for the injector, the broker and the docs.

export const PREFIX = 'iam-sidecar'

/** Pod opt-in: `"true"` asks the injector to add the sidecar. */
export const INJECT = `${PREFIX}/inject`
/** Role (name or ARN) on the pod, else on its ServiceAccount. */
export const ROLE = `${PREFIX}/role`
/** kube2iam/kiam's pod role annotation, honoured for migration. */
export const LEGACY_ROLE = 'iam.amazonaws.com/role'
/** Namespace policy: an anchored regular expression matched against the full role ARN. */
export const PERMITTED = `${PREFIX}/permitted`
/** kiam's namespace policy annotation, honoured for migration. */
export const LEGACY_PERMITTED = 'iam.amazonaws.com/permitted'
/** kube2iam's namespace allow-list (a JSON list of globs or regexps), with --namespace-restrictions. */
export const ALLOWED_ROLES = 'iam.amazonaws.com/allowed-roles'
/** Pod annotation: sts:AssumeRole ExternalId. */
export const EXTERNAL_ID = `${PREFIX}/external-id`
/** kube2iam/kiam's ExternalId pod annotation, honoured for migration. */
export const LEGACY_EXTERNAL_ID = 'iam.amazonaws.com/external-id'
/** Pod annotation: comma-separated container names that get no AWS env vars. */
export const SKIP_CONTAINERS = `${PREFIX}/skip-containers`
// Per-pod overrides of the sidecar's settings (injector/sidecar-settings.ts checks them).
export const LOG_LEVEL = `${PREFIX}/log-level`
export const REFRESH_WINDOW = `${PREFIX}/refresh-window`
export const UPSTREAM_TIMEOUT = `${PREFIX}/upstream-timeout`
export const SIDECAR_PORT = `${PREFIX}/port`
export const HEALTH_PORT = `${PREFIX}/health-port`
export const RUN_AS_USER = `${PREFIX}/run-as-user`
export const CPU_REQUEST = `${PREFIX}/cpu-request`
export const CPU_LIMIT = `${PREFIX}/cpu-limit`
export const MEMORY_REQUEST = `${PREFIX}/memory-request`
export const MEMORY_LIMIT = `${PREFIX}/memory-limit`
/** Label the injector puts on every pod it changed; the broker serves only such pods. */
export const INJECTED_LABEL = `${PREFIX}/injected`

export interface AnnotationDoc {
  readonly key: string
  readonly on: string
  readonly meaning: string
}

/** Every annotation and label the programs read or write; the README table is generated from it. */
export const ANNOTATION_DOCS: readonly AnnotationDoc[] = [
  {
    key: INJECT,
    on: 'Pod',
    meaning: '`"true"` asks the injector to add the sidecar; any other value is left alone.',
  },
  {
    key: ROLE,
    on: 'Pod, ServiceAccount',
    meaning:
      "The role: a full ARN or a short name expanded with the base ARN. The pod's wins over the ServiceAccount's.",
  },
  {
    key: LEGACY_ROLE,
    on: 'Pod',
    meaning: "kube2iam/kiam's role annotation, used when neither iam-sidecar/role is set.",
  },
  {
    key: PERMITTED,
    on: 'Namespace',
    meaning:
      'Regular expression (RE2 syntax, as Go and kiam; linear time) matched anchored against the full role ARN. Decides before the kiam and kube2iam annotations; no policy annotation means deny unless the default policy is allow.',
  },
  {
    key: LEGACY_PERMITTED,
    on: 'Namespace',
    meaning:
      "kiam's policy annotation, used when iam-sidecar/permitted is absent: matched like it, or with --legacy-permitted-match=kiam-v3 unanchored against the role as written (kiam before v4), or =kiam-v4-unanchored unanchored against the ARN.",
  },
  {
    key: ALLOWED_ROLES,
    on: 'Namespace',
    meaning:
      "kube2iam's JSON list of roles, used with --namespace-restrictions when neither permitted annotation is set: globs (`*` only) matched against the whole ARN, or with --namespace-restriction-format=regexp unanchored RE2; entries without `arn:` get the base role ARN.",
  },
  {
    key: EXTERNAL_ID,
    on: 'Pod',
    meaning: 'sts:AssumeRole ExternalId (2–1224 characters of [\\w+=,.@:/-]).',
  },
  {
    key: LEGACY_EXTERNAL_ID,
    on: 'Pod',
    meaning: "kube2iam/kiam's ExternalId annotation, used when iam-sidecar/external-id is absent.",
  },
  {
    key: SKIP_CONTAINERS,
    on: 'Pod',
    meaning: 'Comma-separated container or init container names that get no AWS env vars.',
  },
  ...(
    [
      [LOG_LEVEL, 'sidecar-log-level', 'debug, info, warn or error'],
      [REFRESH_WINDOW, 'sidecar-refresh-window', 'a duration over 15m, e.g. 40m'],
      [UPSTREAM_TIMEOUT, 'sidecar-upstream-timeout', 'a duration from 100ms to 2m'],
      [SIDECAR_PORT, 'sidecar-port', 'e.g. when the app already uses 9911'],
      [HEALTH_PORT, 'sidecar-health-port', 'e.g. when the app already uses 9912'],
      [RUN_AS_USER, 'sidecar-run-as-user', 'a UID, or none'],
      [CPU_REQUEST, 'sidecar-cpu-request', 'a quantity'],
      [CPU_LIMIT, 'sidecar-cpu-limit', 'a quantity'],
      [MEMORY_REQUEST, 'sidecar-memory-request', 'a quantity'],
      [MEMORY_LIMIT, 'sidecar-memory-limit', 'a quantity'],
    ] as const
  ).map(([key, flag, what]) => ({
    key,
    on: 'Pod',
    meaning: `Overrides the injector's \`--${flag}\` for this pod's sidecar (${what}); checked at admission, a bad value is refused.`,
  })),
  {
    key: INJECTED_LABEL,
    on: 'Pod (label, set by the injector)',
    meaning:
      'Marks an admitted pod. Not trusted on its own: the broker also checks the live pod for the sidecar container and a safe shape, and the injector checks a labelled pod like any other.',
  },
]
