// Namespace policy: which roles pods of a namespace may have. The annotations are written by
// whoever controls the namespace, so every pattern goes through tenant-regex.ts (re2js, linear
// time, bounded). Precedence, first present wins and decides alone:
//   1. iam-sidecar/permitted: RE2, anchored, against the full role ARN. Always honoured.
//   2. kiam's iam.amazonaws.com/permitted: as 1 unless --legacy-permitted-match says otherwise
//      (kiam-permitted.ts). Always honoured.
//   3. kube2iam's iam.amazonaws.com/allowed-roles: only with --namespace-restrictions, in the
//      --namespace-restriction-format (kube2iam-allowed-roles.ts).
//   4. --default-policy (deny unless the operator says allow).
// Our own annotation wins so that a namespace is migrated by adding it, without first removing
// the old ones; an old annotation never widens what a newer one says.
import { LRUCache } from 'lru-cache'
import { ALLOWED_ROLES, LEGACY_PERMITTED, PERMITTED } from './annotations.ts'
import { kiamMatches, type LegacyPermittedMatch, type RoleNames } from './kiam-permitted.ts'
import {
  checkAllowedRoles,
  parseAllowedRoles,
  type AllowedRolesFormat,
} from './kube2iam-allowed-roles.ts'
import { quote } from './role.ts'
import { compileMemoised } from './tenant-regex.ts'

export type DefaultPolicy = 'deny' | 'allow'

/** The operator's policy settings; the injector, the broker and explain get the same ones. */
export interface PolicyOptions {
  readonly defaultPolicy: DefaultPolicy
  readonly legacyPermittedMatch: LegacyPermittedMatch
  /** kube2iam's --namespace-restrictions: honour iam.amazonaws.com/allowed-roles. */
  readonly namespaceRestrictions: boolean
  readonly namespaceRestrictionFormat: AllowedRolesFormat
}

export const DEFAULT_POLICY_OPTIONS: PolicyOptions = Object.freeze({
  defaultPolicy: 'deny',
  legacyPermittedMatch: 'anchored',
  namespaceRestrictions: false,
  namespaceRestrictionFormat: 'glob',
})

export interface PolicyRequest {
  readonly namespace: string
  readonly annotations: Readonly<Record<string, string>> | undefined
  readonly role: RoleNames
  /** Expands allowed-roles entries that are short names; undefined when not known here. */
  readonly baseRoleArn: string | undefined
}

export type PolicyCode = 'NamespaceHasNoPolicy' | 'InvalidNamespacePolicy' | 'RoleNotPermitted'

export type PolicyVerdict =
  | { readonly permitted: true; readonly source: string }
  | {
      readonly permitted: false
      readonly code: PolicyCode
      readonly reason: string
      /** Decided without the base role ARN, which some allowed-roles entries need. */
      readonly provisional?: true
    }

/** The policy options out of a program's parsed flags. */
export function policyOptionsOf(cfg: PolicyOptions): PolicyOptions {
  return Object.freeze({
    defaultPolicy: cfg.defaultPolicy,
    legacyPermittedMatch: cfg.legacyPermittedMatch,
    namespaceRestrictions: cfg.namespaceRestrictions,
    namespaceRestrictionFormat: cfg.namespaceRestrictionFormat,
  })
}

/** Which annotation decides for this namespace, under these options (precedence above). */
export function decidingAnnotation(
  annotations: Readonly<Record<string, string>> | undefined,
  o: PolicyOptions,
): string | undefined {
  const keys = o.namespaceRestrictions
    ? [PERMITTED, LEGACY_PERMITTED, ALLOWED_ROLES]
    : [PERMITTED, LEGACY_PERMITTED]
  return keys.find((k) => annotations?.[k] !== undefined)
}

// A hostile pattern can cost a sizeable fraction of a second per match (linear, but a big
// program on a 2 KiB input); remembering each verdict means a tenant cannot make the broker pay
// it twice. The key holds everything the verdict depends on.
// Its keys hold the annotation (up to 16 KiB) and the role, so it is bounded by their length too.
const verdicts = new LRUCache<string, PolicyVerdict>({
  max: 10_000,
  maxSize: 4_000_000,
  sizeCalculation: (_v, key) => key.length,
})

/** Pure apart from the memos: the namespace's annotations, the role and the options → verdict. */
export function checkPolicy(req: PolicyRequest, o: PolicyOptions): PolicyVerdict {
  const key = decidingAnnotation(req.annotations, o)
  if (key === undefined) {
    if (o.defaultPolicy === 'allow') return { permitted: true, source: 'default policy allow' }
    return {
      permitted: false,
      code: 'NamespaceHasNoPolicy',
      reason: `namespace ${req.namespace} has no ${PERMITTED} annotation, so no role is permitted; annotate the namespace with a regular expression matching the role ARNs its pods may use`,
    }
  }
  const value = req.annotations![key]!
  const memoKey = [
    key,
    value,
    req.role.arn,
    req.role.asWritten,
    req.baseRoleArn ?? '',
    o.legacyPermittedMatch,
    o.namespaceRestrictionFormat,
    req.namespace,
  ].join('\u0000')
  let v = verdicts.get(memoKey)
  if (v === undefined) {
    v =
      key === ALLOWED_ROLES
        ? allowedRolesVerdict(req, value, o.namespaceRestrictionFormat)
        : permittedVerdict(req, key, value, key === PERMITTED ? 'anchored' : o.legacyPermittedMatch)
    verdicts.set(memoKey, v)
  }
  return v
}

function permittedVerdict(
  req: PolicyRequest,
  key: string,
  pattern: string,
  how: LegacyPermittedMatch,
): PolicyVerdict {
  const ns = req.namespace
  // kiam refuses every role when the annotation is empty; unanchored, '' would match them all.
  if (pattern === '' && how !== 'anchored')
    return {
      permitted: false,
      code: 'RoleNotPermitted',
      reason: `the ${key} annotation of namespace ${ns} is empty, so no role is permitted`,
    }
  const re = compileMemoised(pattern)
  if (re instanceof Error) {
    return {
      permitted: false,
      code: 'InvalidNamespacePolicy',
      reason: `the ${key} annotation of namespace ${ns} is not a valid pattern: ${re.message}`,
    }
  }
  if (!kiamMatches(re, req.role, how)) {
    const against =
      how === 'kiam-v3' ? `role ${quote(req.role.asWritten)} as written` : `role ${req.role.arn}`
    return {
      permitted: false,
      code: 'RoleNotPermitted',
      reason: `role ${req.role.arn} is not permitted in namespace ${ns} (its ${key} annotation does not match ${how === 'anchored' ? 'it' : `${against}, ${how}`})`,
    }
  }
  return { permitted: true, source: how === 'anchored' ? key : `${key} (${how})` }
}

function allowedRolesVerdict(
  req: PolicyRequest,
  raw: string,
  format: AllowedRolesFormat,
): PolicyVerdict {
  const ns = req.namespace
  const entries = parseAllowedRoles(raw)
  const invalid = (why: string): PolicyVerdict => ({
    permitted: false,
    code: 'InvalidNamespacePolicy',
    reason: `the ${ALLOWED_ROLES} annotation of namespace ${ns} is not valid: ${why}`,
  })
  if (entries instanceof Error) return invalid(entries.message)
  const v = checkAllowedRoles(entries, req.role, req.baseRoleArn, format)
  if (v.kind === 'invalid') return invalid(v.reason)
  if (v.kind === 'match')
    return { permitted: true, source: `${ALLOWED_ROLES} entry ${quote(v.entry)} (${format})` }
  return {
    permitted: false,
    code: 'RoleNotPermitted',
    reason: `role ${req.role.arn} is not permitted in namespace ${ns} (no entry of its ${ALLOWED_ROLES} annotation matches it, as a ${format})`,
    ...(v.unexpanded > 0 ? { provisional: true as const } : {}),
  }
}
