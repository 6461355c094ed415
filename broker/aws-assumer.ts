// The real Assumer: AWS STS through @aws-sdk/client-sts, signed with the broker identity from the
// SDK's standard provider chain (env, profile, web identity/IRSA, container/Pod Identity,
// instance profile), so an IAM setup made for kube2iam carries over unchanged.
// Retries are not the SDK's: maxAttempts is 1 and retry.ts decides, from the StsError kind.
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import type { AssumeRoleCommandOutput } from '@aws-sdk/client-sts'
import { fromNodeProviderChain } from '@aws-sdk/credential-providers'
// Type only (erased at runtime); @aws-sdk/types comes with the SDK.
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types'
import type { Credentials } from '../lib/credentials.ts'
import {
  ROLE_INDEPENDENT_IDENTITY_CODES,
  StsError,
  type AssumeRoleInput,
  type Assumer,
  type CallerIdentity,
  type StsFailureKind,
} from './sts.ts'

export interface AwsAssumerOptions {
  readonly region: string
  /** A custom STS endpoint (a VPC endpoint, a test server); default: the regional endpoint. */
  readonly endpoint?: string | undefined
  /** The broker identity; default: the SDK's standard provider chain. */
  readonly credentials?: AwsCredentialIdentityProvider | undefined
  /** Per HTTP request; default 5 s. */
  readonly requestTimeoutMs?: number | undefined
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5_000
const ACCOUNT_ID = /^\d{12}$/

export class AwsAssumer implements Assumer {
  readonly #sts: STSClient
  constructor(o: AwsAssumerOptions) {
    const timeout = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#sts = new STSClient({
      region: o.region,
      endpoint: o.endpoint,
      credentials: o.credentials ?? fromNodeProviderChain(),
      maxAttempts: 1,
      // Without throwOnRequestTimeout the handler only logs a warning when requestTimeout passes
      // and keeps waiting (@smithy/node-http-handler 4.x).
      requestHandler: {
        requestTimeout: timeout,
        connectionTimeout: timeout,
        throwOnRequestTimeout: true,
      },
    })
  }

  async assumeRole(input: AssumeRoleInput): Promise<Credentials> {
    const context = `AssumeRole of ${input.roleArn}`
    let out: AssumeRoleCommandOutput
    try {
      out = await this.#sts.send(
        new AssumeRoleCommand({
          RoleArn: input.roleArn,
          RoleSessionName: input.sessionName,
          DurationSeconds: input.durationSeconds,
          ExternalId: input.externalId,
          SourceIdentity: input.sourceIdentity,
          Tags:
            input.tags.length > 0
              ? input.tags.map((t) => ({ Key: t.Key, Value: t.Value }))
              : undefined,
          // No TransitiveTagKeys: the tags describe the pod for the session the broker mints.
          // Transitive tags would follow the app into every role it chains to, could not be
          // overridden there, and would need sts:TagSession in those roles' trust policies too.
          // SourceIdentity already persists across chaining, which keeps CloudTrail traceable.
        }),
      )
    } catch (err) {
      throw toStsError(err, context)
    }
    return toCredentials(out, input.roleArn, context)
  }

  async callerIdentity(): Promise<CallerIdentity> {
    const context = 'GetCallerIdentity of the broker identity'
    try {
      const out = await this.#sts.send(new GetCallerIdentityCommand({}))
      if (!out.Account || !out.Arn) throw incomplete(context, 'Account or Arn')
      return { account: out.Account, arn: out.Arn }
    } catch (err) {
      throw toStsError(err, context)
    }
  }
}

function toCredentials(
  out: AssumeRoleCommandOutput,
  roleArn: string,
  context: string,
): Credentials {
  const c = out.Credentials
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
    throw incomplete(context, 'Credentials')
  // The assumed-role ARN names the account the session lives in; the role ARN names the same one.
  const accountId = accountOf(out.AssumedRoleUser?.Arn) ?? accountOf(roleArn)
  if (accountId === undefined) throw incomplete(context, 'AssumedRoleUser.Arn')
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiresAt: c.Expiration.getTime(),
    accountId,
    roleArn,
  }
}

/** `arn:aws:sts::123456789012:assumed-role/x/s` → `123456789012`. */
export function accountOf(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4]
  return account !== undefined && ACCOUNT_ID.test(account) ? account : undefined
}

function incomplete(context: string, field: string): StsError {
  return new StsError(
    'transient',
    'IncompleteResponse',
    `${context}: STS answered without ${field}`,
  )
}

// Error codes by kind. Codes appear both as the wire code (`Code`, e.g. MalformedPolicyDocument)
// and as the SDK's class name (`name`, e.g. MalformedPolicyDocumentException); both are listed.
const KIND_BY_CODE: ReadonlyMap<string, StsFailureKind> = new Map<string, StsFailureKind>([
  // STS (and the SDKs' shared list) says "slow down": retry later, with a longer backoff.
  ...codes('throttled', [
    'Throttling',
    'ThrottlingException',
    'ThrottledException',
    'RequestLimitExceeded',
    'RequestThrottled',
    'RequestThrottledException',
    'TooManyRequestsException',
    'SlowDown',
  ]),
  // The pod's role refuses the broker: its trust policy does not trust the broker identity (or
  // lacks sts:TagSession/sts:SetSourceIdentity), or the role does not exist (STS says
  // AccessDenied for both). Permanent until the role's owner changes it. An AccessDenied that
  // names the broker's own side is re-classified in classify().
  ...codes('denied', ['AccessDenied', 'AccessDeniedException']),
  // The broker's own identity: its access key does not exist or was deleted
  // (InvalidClientTokenId, UnrecognizedClientException), its request is unsigned
  // (IncompleteSignature, MissingAuthenticationToken), its own session expired and was not
  // renewed (ExpiredToken), or STS is not enabled in its region (RegionDisabledException).
  // SignatureDoesNotMatch stays transient below: the SDK also answers clock skew with it.
  ...codes('identity', [...ROLE_INDEPENDENT_IDENTITY_CODES]),
  // The request itself is wrong (a duration above the role's maximum, a tag that breaks the
  // packed-size limit, a malformed session name): the same request fails the same way again.
  ...codes('invalid', [
    'MalformedPolicyDocument',
    'MalformedPolicyDocumentException',
    'PackedPolicyTooLarge',
    'PackedPolicyTooLargeException',
    'SessionDurationEscalationException',
    'ValidationError',
    'ValidationException',
    'MissingParameter',
  ]),
  // Explicitly transient although they look like client errors: the clock-skew codes make the
  // SDK correct its clock offset, so the next attempt is signed right.
  ...codes('transient', [
    'IDPCommunicationError',
    'IDPCommunicationErrorException',
    'RequestExpired',
    'RequestTimeTooSkewed',
    'RequestInTheFuture',
    'SignatureDoesNotMatch',
    'TimeoutError',
    'AbortError',
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
  ]),
])

function codes(kind: StsFailureKind, list: string[]): [string, StsFailureKind][] {
  return list.map((c) => [c, kind])
}

interface SdkErrorShape {
  readonly name?: unknown
  readonly Code?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly requestId?: unknown }
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : undefined

/**
 * The one place an SDK or network error becomes an StsError. `context` says what was attempted
 * and for which role. The message carries the AWS code, status, message and request id, which
 * hold no secrets; the original error is deliberately not attached as `cause`, since SDK errors
 * carry raw responses that nothing should serialise.
 */
export function toStsError(err: unknown, context = 'STS call'): StsError {
  if (err instanceof StsError) return err
  const e: SdkErrorShape = typeof err === 'object' && err !== null ? err : {}
  const code = errorCode(e)
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : 0
  const message = (str(e.message) ?? String(err)).slice(0, 500)
  const kind = classify(code, status, message)
  const parts = [`${context} failed: ${code}`]
  if (status > 0) parts.push(`(HTTP ${status})`)
  const requestId = str(e.$metadata?.requestId)
  if (requestId) parts.push(`[request id ${requestId}]`)
  return new StsError(kind, code, `${parts.join(' ')}: ${message}`)
}

/**
 * The AWS wire code (`Code`) when the service answered; else a Node network code (ECONNRESET);
 * else the error's name (TimeoutError, AbortError, or the SDK's error class).
 */
function errorCode(e: SdkErrorShape): string {
  const network = str(e.code)
  const name = str(e.name)
  return (
    str(e.Code) ??
    (network && /^E[A-Z0-9_]+$/.test(network) && name !== 'TimeoutError' ? network : undefined) ??
    (name !== 'Error' ? name : undefined) ??
    'Unknown'
  )
}

// AWS's access-denied messages name the policy type that denied when it is not the resource's:
// "... with an explicit deny in a service control policy", "... because no identity-based
// policy allows the sts:AssumeRole action", "... in a permissions boundary", "... in a session
// policy". All four are on the broker's side (its own role, its account's SCPs), never the pod's.
const BROKER_SIDE_DENIAL =
  /service control policy|identity-based policy|permissions boundary|session policy/i
// A session tag whose key the broker's own session already carries as a transitive tag (EKS
// Pod Identity sets kubernetes-namespace and friends transitive): the broker's identity is the
// wrong kind for session tags, whatever the pod asks.
const TRANSITIVE_TAG_CONFLICT = /transitive/i
const ROLE_CHAINING = /role chaining/i

function classify(code: string, status: number, message: string): StsFailureKind {
  const known = KIND_BY_CODE.get(code)
  if (known === 'denied' && BROKER_SIDE_DENIAL.test(message)) return 'identity'
  if (code.startsWith('InvalidParameter') && TRANSITIVE_TAG_CONFLICT.test(message))
    return 'identity'
  // "DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining": the
  // broker's own identity is a role session; the broker's configuration, not the pod, is wrong.
  if (code === 'ValidationError' && ROLE_CHAINING.test(message)) return 'identity'
  if (known) return known
  if (status === 429) return 'throttled'
  if (code.startsWith('InvalidParameter')) return 'invalid'
  // HTTP 5xx, other network errors and anything unknown: retry with backoff, bounded.
  return 'transient'
}
