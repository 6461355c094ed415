// Role annotations → a full IAM role ARN. Shared by the injector (which validates at admission)
// and the broker (which decides at every credential request).
import type { V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { LEGACY_ROLE, ROLE } from './annotations.ts'

// The parts of an IAM ARN, once; every ARN pattern of the programs is built from them.
/** `arn:<partition>:<service>::<account>:` for IAM or STS; group 1 the service, 2 the account. */
export const ARN_HEAD = String.raw`arn:(?:aws|aws-cn|aws-us-gov):(iam|sts)::(\d{12}):`
const PATH = String.raw`(?:[\w+=,.@-]+\/)*`
const NAME = String.raw`[\w+=,.@-]{1,64}`
/** A full IAM role ARN: partition, 12-digit account, optional path, name of [\w+=,.@-]{1,64}. */
const ROLE_ARN = new RegExp(`^${ARN_HEAD}role\\/(${PATH})(${NAME})$`)
/** A short name, optionally with a path (`team-a/app`), expanded with the base ARN. */
const SHORT_NAME = new RegExp(`^${PATH}${NAME}$`)
/** `arn:aws:iam::123456789012:role/` (kube2iam's --base-role-arn form), optionally with a path. */
const BASE_ARN = new RegExp(`^${ARN_HEAD}role\\/${PATH}$`)

export const MAX_ROLE_ARN_LENGTH = 2048

export interface RoleArn {
  readonly arn: string
  readonly account: string
  /** The name without its path, as it appears in `assumed-role/<name>/<session>`. */
  readonly name: string
}

export type RoleResolution = { ok: true; role: RoleArn } | { ok: false; reason: string }

export function parseRoleArn(arn: string): RoleArn | undefined {
  if (arn.length > MAX_ROLE_ARN_LENGTH) return undefined
  const m = ROLE_ARN.exec(arn)
  return m && m[1] === 'iam' ? { arn, account: m[2]!, name: m[4]! } : undefined
}

export function isBaseRoleArn(base: string): boolean {
  return BASE_ARN.exec(base)?.[1] === 'iam'
}

/** Expands a role annotation value: a full ARN stays, a short name gets the base ARN in front. */
export function resolveRole(value: string, baseRoleArn: string | undefined): RoleResolution {
  const v = value.trim()
  if (v.startsWith('arn:')) {
    const role = parseRoleArn(v)
    return role
      ? { ok: true, role }
      : {
          ok: false,
          reason: `${quote(v)} is not a valid IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
        }
  }
  if (!SHORT_NAME.test(v) || v.split('/').some((seg) => seg === '.' || seg === '..'))
    return { ok: false, reason: `${quote(v)} is not a valid role name or ARN` }
  if (baseRoleArn === undefined)
    return {
      ok: false,
      reason: `role ${quote(v)} is a short name but no base role ARN is known; use a full ARN`,
    }
  const role = parseRoleArn(baseRoleArn + v)
  return role
    ? { ok: true, role }
    : { ok: false, reason: `${quote(v)} does not form a valid role ARN with base ${baseRoleArn}` }
}

/** Quotes untrusted text for a message, cut short so an annotation cannot flood an Event. */
export function quote(text: string, max = 120): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text
  return JSON.stringify(cut)
}

/** Which annotation names the role: pod, then ServiceAccount, then kube2iam/kiam's pod annotation. */
export function roleAnnotation(
  pod: V1Pod,
  sa: V1ServiceAccount | undefined,
): { value: string; source: string } | undefined {
  const podAnn = pod.metadata?.annotations ?? {}
  const saAnn = sa?.metadata?.annotations ?? {}
  if (podAnn[ROLE]) return { value: podAnn[ROLE], source: `pod annotation ${ROLE}` }
  if (saAnn[ROLE]) return { value: saAnn[ROLE], source: `ServiceAccount annotation ${ROLE}` }
  if (podAnn[LEGACY_ROLE])
    return { value: podAnn[LEGACY_ROLE], source: `pod annotation ${LEGACY_ROLE}` }
  return undefined
}
