// AWS temporary credentials and the JSON shape of the container-credentials endpoint. The same
// body is the broker's 200 answer (see broker-wire.ts) and the sidecar's, so the sidecar can
// pass it through. Contract: ../shared/reference/aws-credentials-contract.md §1d.
import { ARN_HEAD } from './role.ts'

export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken: string
  /** Epoch milliseconds. */
  readonly expiresAt: number
  readonly accountId: string
  readonly roleArn: string
}

/** What every SDK reads; field names are capitalised as the ECS agent writes them. */
export interface ContainerCredentialsBody {
  readonly AccessKeyId: string
  readonly SecretAccessKey: string
  readonly Token: string
  /** RFC 3339 in UTC ending in `Z` (the JS SDK rejects numeric offsets). */
  readonly Expiration: string
  readonly AccountId: string
  readonly RoleArn: string
}

/** `2026-01-02T03:04:05Z`: RFC 3339, UTC, whole seconds. */
export function formatExpiration(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function toBody(c: Credentials): ContainerCredentialsBody {
  return {
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    Expiration: formatExpiration(c.expiresAt),
    AccountId: c.accountId,
    RoleArn: c.roleArn,
  }
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const ACCOUNT_ID = /^\d{12}$/
/** A role or assumed-role (session) ARN as STS returns it; only its head is checked. */
const ROLE_ARN = new RegExp(`^${ARN_HEAD}[\\x21-\\x7e]{1,2000}$`)

/**
 * Validates an untrusted body (from the broker) field by field. Error messages name the field
 * but never echo a value, since values may be secrets.
 */
export function parseBody(json: unknown): Credentials {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new Error('body is not a JSON object')
  const o = json as Record<string, unknown>
  const str = (k: string): string => {
    const v = o[k]
    if (typeof v !== 'string' || v.length === 0 || v.length > 4096)
      throw new Error(`field ${k} missing or not a string`)
    return v
  }
  const expiration = str('Expiration')
  if (!RFC3339_UTC.test(expiration)) throw new Error('field Expiration is not RFC 3339 UTC')
  const accountId = str('AccountId')
  if (!ACCOUNT_ID.test(accountId)) throw new Error('field AccountId is not a 12-digit account id')
  const roleArn = str('RoleArn')
  if (!ROLE_ARN.test(roleArn)) throw new Error('field RoleArn is not an IAM role ARN')
  return {
    accessKeyId: str('AccessKeyId'),
    secretAccessKey: str('SecretAccessKey'),
    sessionToken: str('Token'),
    expiresAt: Date.parse(expiration),
    accountId,
    roleArn,
  }
}
