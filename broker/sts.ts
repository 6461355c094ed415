// The narrow interface to AWS STS that the broker needs. The real implementation (aws-assumer.ts)
// uses @aws-sdk/client-sts with the broker identity from the default provider chain; unit tests
// use FakeAssumer (fake-assumer.ts); integration tests use moto.
import type { Credentials } from '../lib/credentials.ts'

export interface SessionTag {
  readonly Key: string
  readonly Value: string
}

export interface AssumeRoleInput {
  readonly roleArn: string
  /** 2–64 chars of [\w+=,.@-], unique per pod. */
  readonly sessionName: string
  readonly durationSeconds: number
  readonly externalId?: string | undefined
  readonly sourceIdentity?: string | undefined
  /** Empty when session tags are switched off. */
  readonly tags: readonly SessionTag[]
}

export interface CallerIdentity {
  readonly account: string
  readonly arn: string
}

export interface Assumer {
  assumeRole(input: AssumeRoleInput): Promise<Credentials>
  callerIdentity(): Promise<CallerIdentity>
}

/**
 * How an STS failure is treated, and whose fault it is:
 * - `throttled` and `transient`: STS weather; retried with backoff.
 * - `denied` (the pod's role: its trust policy does not trust the broker, or it does not exist)
 *   and `invalid` (a malformed request): permanent for that pod, never retried.
 * - `identity`: the broker's own AWS identity failed (its key is unknown or its session expired,
 *   STS is disabled in its region, its own policy or an SCP forbids the call). Not the pod's
 *   fault and not a reason to take credentials away: the sidecars keep serving what they hold,
 *   and the operator is told what to fix (broker-identity.ts). Not retried at once either: the
 *   same call fails the same way until someone fixes IAM, and the sidecars retry with backoff.
 */
export type StsFailureKind = 'throttled' | 'transient' | 'denied' | 'invalid' | 'identity'

export class StsError extends Error {
  override name = 'StsError'
  readonly kind: StsFailureKind
  /** The AWS error code, e.g. `Throttling`, `AccessDenied`. */
  readonly code: string
  constructor(kind: StsFailureKind, code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.kind = kind
    this.code = code
  }
}

/**
 * `identity` codes that say nothing about the role asked for: the broker's key is unknown, its
 * request unsigned, its own session expired, or STS is off in its region. GetCallerIdentity
 * fails the same way, so only these are confirmed by it and change readiness.
 */
export const ROLE_INDEPENDENT_IDENTITY_CODES: ReadonlySet<string> = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
  'RegionDisabledException',
])
