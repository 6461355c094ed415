// kube2iam's namespace allow-list `iam.amazonaws.com/allowed-roles`, honoured when the operator
// turns on --namespace-restrictions. Semantics from the source of jtblin/kube2iam at 4c4a2b4:
//
// - namespace.go GetNamespaceRoleAnnotation: the annotation is a JSON list of strings
//   (`["role-a", "path/*"]`); an empty annotation is an empty list.
// - mappings/mapper.go checkRoleForNamespace: each entry is expanded like a pod's role
//   (iam/arn.go RoleARN: kept when it starts with `arn:`, compared case-insensitively, else
//   prefixed with the base role ARN), then compared with the pod's full role ARN:
//   - glob (the default format): github.com/ryanuber/go-glob v1.0.0 Glob: `*` is the only
//     wildcard and matches any run of characters, `/` and the empty run included; everything else
//     is literal and case-sensitive; the whole ARN must match.
//   - regexp (--namespace-restriction-format=regexp): Go's regexp.MatchString(entry, arn), which is
//     UNANCHORED: `team-a/.*` also permits `…:role/team-a/x/y` and `…:role/not-team-a/x`.
//   The first entry that matches permits the role.
//
// Deliberate differences, all refusals: kube2iam logs and ignores undecodable JSON (and keeps
// what it decoded) and bad regexps; here either makes the whole annotation InvalidNamespacePolicy,
// so the operator sees why. kube2iam's default role, which skips the check, does not exist here.
// Bounds: the annotation's length and entry count, each pattern's (tenant-regex.ts), and re2js
// matches both formats (a glob becomes an anchored pattern of escaped literals and `.*`).
import type { RoleNames } from './kiam-permitted.ts'
import { quote } from './role.ts'
import {
  compileMemoised,
  escapeLiteral,
  MAX_PATTERN_LENGTH,
  type TenantRegex,
} from './tenant-regex.ts'

export const ALLOWED_ROLES_FORMATS = ['glob', 'regexp'] as const
export type AllowedRolesFormat = (typeof ALLOWED_ROLES_FORMATS)[number]

export const MAX_ALLOWED_ROLES_LENGTH = 16 * 1024
export const MAX_ALLOWED_ROLES_ENTRIES = 100

export type AllowedRolesVerdict =
  | { readonly kind: 'match'; readonly entry: string }
  | { readonly kind: 'no-match'; readonly unexpanded: number }
  | { readonly kind: 'invalid'; readonly reason: string }

/** The annotation's entries, or why it is not a JSON list of at most 100 strings. */
export function parseAllowedRoles(raw: string): readonly string[] | Error {
  if (raw.length > MAX_ALLOWED_ROLES_LENGTH)
    return new Error(`longer than ${MAX_ALLOWED_ROLES_LENGTH} characters`)
  if (raw.trim() === '') return []
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (err) {
    return new Error(`not JSON (${(err as Error).message}); write a JSON list such as ["app-*"]`)
  }
  if (!Array.isArray(value) || !value.every((e) => typeof e === 'string'))
    return new Error('not a JSON list of strings; write a JSON list such as ["app-*"]')
  if (value.length > MAX_ALLOWED_ROLES_ENTRIES)
    return new Error(`more than ${MAX_ALLOWED_ROLES_ENTRIES} entries`)
  return value as string[]
}

/** kube2iam's RoleARN: an entry that does not start with `arn:` gets the base role ARN. */
function expand(entry: string, baseRoleArn: string | undefined): string | undefined {
  if (entry.toLowerCase().startsWith('arn:')) return entry
  return baseRoleArn === undefined ? undefined : baseRoleArn + entry
}

/** A go-glob pattern as an RE2 pattern that re2js matches whole: literals, and `(?s:.*)` for `*`. */
export function globPattern(glob: string): string {
  return glob.split('*').map(escapeLiteral).join('(?s:.*)')
}

/** The compiled entry, or why it cannot be; undefined when it needs the unknown base ARN. */
function compileEntry(
  entry: string,
  baseRoleArn: string | undefined,
  format: AllowedRolesFormat,
): TenantRegex | Error | undefined {
  const expanded = expand(entry, baseRoleArn)
  if (expanded === undefined) return undefined
  if (expanded.length > MAX_PATTERN_LENGTH)
    return new Error(`entry longer than ${MAX_PATTERN_LENGTH} characters`)
  // Escaping at most doubles a glob, and each `*` becomes 7 characters.
  return format === 'glob'
    ? compileMemoised(globPattern(expanded), 8 * MAX_PATTERN_LENGTH)
    : compileMemoised(expanded)
}

/**
 * Checks the role against the entries in order. Every entry is compiled first, so that one bad
 * entry makes the annotation invalid wherever it stands. Short-name entries while the base role
 * ARN is unknown (an injector without --base-role-arn) are counted in `unexpanded`, not matched.
 */
export function checkAllowedRoles(
  entries: readonly string[],
  role: RoleNames,
  baseRoleArn: string | undefined,
  format: AllowedRolesFormat,
): AllowedRolesVerdict {
  const compiled = entries.map((e) => compileEntry(e, baseRoleArn, format))
  const bad = compiled.findIndex((c) => c instanceof Error)
  if (bad >= 0)
    return {
      kind: 'invalid',
      reason: `entry ${quote(entries[bad]!)}: ${(compiled[bad] as Error).message}`,
    }
  for (const [i, re] of compiled.entries()) {
    if (re === undefined || re instanceof Error) continue
    if (format === 'glob' ? re.fullMatch(role.arn) : re.find(role.arn))
      return { kind: 'match', entry: entries[i]! }
  }
  return { kind: 'no-match', unexpanded: compiled.filter((c) => c === undefined).length }
}
