// `iam-sidecar explain`'s policy lines: which namespace annotation decides (and which are ignored,
// by precedence or because a switch is off), the verdict, and for kiam's annotation whether it
// permits the role only in a legacy meaning, with the anchored full-ARN pattern to write instead.
import { ALLOWED_ROLES, LEGACY_PERMITTED, PERMITTED } from '../lib/annotations.ts'
import {
  LEGACY_PERMITTED_MEANINGS,
  anchoredRewrite,
  kiamMeaningsThatPermit,
  type RoleNames,
} from '../lib/kiam-permitted.ts'
import { checkPolicy, decidingAnnotation, type PolicyOptions } from '../lib/policy.ts'

export interface PolicySubject {
  readonly namespace: string
  readonly annotations: Readonly<Record<string, string>>
  readonly baseRoleArn: string | undefined
}

export function policyLines(s: PolicySubject, o: PolicyOptions): string[] {
  const key = decidingAnnotation(s.annotations, o)
  const lines = [
    key
      ? `  policy: namespace annotation ${key} = ${JSON.stringify(s.annotations[key])}${key === LEGACY_PERMITTED ? ` (matched ${LEGACY_PERMITTED_MEANINGS[o.legacyPermittedMatch]})` : ''}`
      : `  policy: no namespace annotation; the default policy is ${o.defaultPolicy}`,
  ]
  for (const other of [PERMITTED, LEGACY_PERMITTED, ALLOWED_ROLES]) {
    if (other === key || s.annotations[other] === undefined) continue
    lines.push(
      other === ALLOWED_ROLES && !o.namespaceRestrictions
        ? `  ignored: ${ALLOWED_ROLES} (kube2iam's; honoured only with --namespace-restrictions)`
        : `  ignored: ${other} (${key} takes precedence)`,
    )
  }
  return lines
}

export function verdictLines(s: PolicySubject, role: RoleNames, o: PolicyOptions): string[] {
  const v = checkPolicy({ ...s, role }, o)
  const lines = [v.permitted ? '  verdict: permitted' : `  verdict: NOT permitted: ${v.reason}`]
  if (decidingAnnotation(s.annotations, o) !== LEGACY_PERMITTED) return lines
  const pattern = s.annotations[LEGACY_PERMITTED]!
  const meanings = kiamMeaningsThatPermit(pattern, role)
  if (meanings.length === 0 || meanings.includes('anchored')) return lines
  const instead = `write iam-sidecar/permitted: ${JSON.stringify(anchoredRewrite(pattern, role))} (anchored, full ARN)`
  if (v.permitted) {
    lines.push(
      `  note: ${LEGACY_PERMITTED} permits this role only in the legacy meaning ${o.legacyPermittedMatch} (${LEGACY_PERMITTED_MEANINGS[o.legacyPermittedMatch]}), not anchored against the full ARN; to keep it without the legacy switch, ${instead}`,
    )
  } else {
    lines.push(
      `  note: ${LEGACY_PERMITTED} would permit this role in kiam's older meaning (${meanings.map((m) => `--legacy-permitted-match=${m}: ${LEGACY_PERMITTED_MEANINGS[m]}`).join('; ')}); ${instead}`,
    )
  }
  return lines
}
