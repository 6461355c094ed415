// kiam's namespace annotation `iam.amazonaws.com/permitted`, in the meanings kiam gave it. From
// the source of uswitch/kiam (read at tags v3.6 and v4.2), pkg/server/policy.go,
// NamespacePermittedRoleNamePolicy.IsAllowedAssumeRole:
//
// - kiam before v4 (v3.6): `regexp.Compile(expression)` then `re.MatchString(role)`, where `role`
//   is the role the agent asked for, which is the pod's `iam.amazonaws.com/role` annotation as
//   written (pkg/k8s PodRole; pkg/aws/metadata hands it back in the credentials path): UNANCHORED,
//   against the role AS WRITTEN, so `my-application-.*` permits `my-application-user-checkout-db`.
// - kiam v4 (commit ec71d85, "Strict namespace annotation regex", #329): the role is resolved to
//   its ARN first (pkg/aws/sts ARN resolver, base ARN for short names) and the expression is
//   compiled as `"^" + expression + "$"` and matched against the full ARN. The server flag
//   `--disable-strict-namespace-regexp` (cmd/kiam/server.go) compiles `expression` unanchored, but
//   still matches it against the full ARN; it is not quite the v3 meaning.
// - An empty or missing annotation permits no role in every version.
//
// Here the default is the anchored meaning. `anchored` wraps the pattern as a whole (RE2 full
// match), where kiam's string concatenation made `a|b` mean `^a|b$`; ours is the stricter reading.
// Both legacy meanings are opt-in, for this annotation only: never for iam-sidecar/permitted.
import type { TenantRegex } from './tenant-regex.ts'
import { compileMemoised, escapeLiteral } from './tenant-regex.ts'

/** How the kiam annotation is matched: kiam v4's default, kiam v3's, or kiam v4's non-strict. */
export const LEGACY_PERMITTED_MATCHES = ['anchored', 'kiam-v3', 'kiam-v4-unanchored'] as const
export type LegacyPermittedMatch = (typeof LEGACY_PERMITTED_MATCHES)[number]

export const LEGACY_PERMITTED_MEANINGS: Readonly<Record<LegacyPermittedMatch, string>> = {
  anchored: 'anchored, against the full role ARN (kiam v4)',
  'kiam-v3': 'unanchored, against the role as written in the pod annotation (kiam before v4)',
  'kiam-v4-unanchored':
    'unanchored, against the full role ARN (kiam v4 with --disable-strict-namespace-regexp)',
}

export interface RoleNames {
  readonly arn: string
  /** The role as the pod's (or ServiceAccount's) annotation wrote it: short name or ARN. */
  readonly asWritten: string
}

/** Does a compiled kiam pattern permit the role, in the given meaning? */
export function kiamMatches(re: TenantRegex, role: RoleNames, how: LegacyPermittedMatch): boolean {
  if (how === 'kiam-v3') return re.find(role.asWritten)
  if (how === 'kiam-v4-unanchored') return re.find(role.arn)
  return re.fullMatch(role.arn)
}

/**
 * An anchored full-ARN pattern to write instead of a kiam pattern that permits `role` only in a
 * legacy meaning: the narrowest of a few rewrites that still permits it, else the ARN itself.
 * @example anchoredRewrite('my-app-.*', {arn: 'arn:aws:iam::1…:role/my-app-db', asWritten: 'my-app-db'})
 *   // 'arn:aws:iam::1…:role/my-app-.*'
 */
export function anchoredRewrite(pattern: string, role: RoleNames): string {
  const base = role.arn.slice(0, role.arn.indexOf(':role/') + ':role/'.length)
  const bare = pattern.replace(/^\^/, '').replace(/(?<!\\)\$$/, '')
  const body = bare.includes('|') ? `(?:${bare})` : bare
  const candidates = [escapeLiteral(base) + body, `${escapeLiteral(base) + body}.*`]
  if (/^arn:/.test(bare)) candidates.push(`${body}.*`)
  for (const c of candidates) {
    const re = compileMemoised(c)
    if (!(re instanceof Error) && re.fullMatch(role.arn)) return c
  }
  return escapeLiteral(role.arn)
}

/** The meanings in which a kiam pattern permits the role (none when it is empty or invalid). */
export function kiamMeaningsThatPermit(pattern: string, role: RoleNames): LegacyPermittedMatch[] {
  const re = compileMemoised(pattern)
  if (pattern === '' || re instanceof Error) return []
  return LEGACY_PERMITTED_MATCHES.filter((how) => kiamMatches(re, role, how))
}
