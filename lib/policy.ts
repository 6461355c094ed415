// Namespace policy: which role ARNs pods of a namespace may have. The annotation is a regular
// expression written by whoever controls the namespace, so it is compiled by a linear-time
// engine (no backtracking) and matched anchored against the full ARN. Compiled patterns are
// memoised by their text.
import { LRUCache } from 'lru-cache'
import { LEGACY_PERMITTED, PERMITTED } from './annotations.ts'
import { compileAnchored, type LinearRegex } from './linear-regex.ts'

export type DefaultPolicy = 'deny' | 'allow'

export type PolicyVerdict =
  | { readonly permitted: true; readonly source: string }
  | {
      readonly permitted: false
      readonly code: 'NamespaceHasNoPolicy' | 'InvalidNamespacePolicy' | 'RoleNotPermitted'
      readonly reason: string
    }

const compiled = new LRUCache<string, LinearRegex | Error>({ max: 1000 })
// A hostile pattern costs up to ~150 ms per match (linear, but a big program on a 2 KiB input);
// remembering each (pattern, ARN) verdict means a tenant cannot make the broker pay it twice.
const verdicts = new LRUCache<string, boolean>({ max: 10_000 })

function matches(pattern: string, re: LinearRegex, roleArn: string): boolean {
  const key = `${pattern}\u0000${roleArn}`
  let v = verdicts.get(key)
  if (v === undefined) {
    v = re.test(roleArn)
    verdicts.set(key, v)
  }
  return v
}

function compile(pattern: string): LinearRegex | Error {
  let c = compiled.get(pattern)
  if (c === undefined) {
    try {
      c = compileAnchored(pattern)
    } catch (err) {
      c = err as Error
    }
    compiled.set(pattern, c)
  }
  return c
}

/** Pure apart from the memo: the namespace's annotations and a role ARN → verdict. */
export function checkPolicy(
  namespace: string,
  annotations: Readonly<Record<string, string>> | undefined,
  roleArn: string,
  defaultPolicy: DefaultPolicy,
): PolicyVerdict {
  const key =
    annotations?.[PERMITTED] !== undefined
      ? PERMITTED
      : annotations?.[LEGACY_PERMITTED] !== undefined
        ? LEGACY_PERMITTED
        : undefined
  if (key === undefined) {
    if (defaultPolicy === 'allow') return { permitted: true, source: 'default policy allow' }
    return {
      permitted: false,
      code: 'NamespaceHasNoPolicy',
      reason: `namespace ${namespace} has no ${PERMITTED} annotation, so no role is permitted; annotate the namespace with a regular expression matching the role ARNs its pods may use`,
    }
  }
  const pattern = annotations![key]!
  const re = compile(pattern)
  if (re instanceof Error) {
    return {
      permitted: false,
      code: 'InvalidNamespacePolicy',
      reason: `the ${key} annotation of namespace ${namespace} is not a valid pattern: ${re.message}`,
    }
  }
  if (!matches(pattern, re, roleArn)) {
    return {
      permitted: false,
      code: 'RoleNotPermitted',
      reason: `role ${roleArn} is not permitted in namespace ${namespace} (its ${key} annotation does not match it)`,
    }
  }
  return { permitted: true, source: key }
}
