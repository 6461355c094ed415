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
 * How an STS failure is treated: `throttled` and `transient` are retried with backoff;
 * `denied` (AccessDenied, a trust policy that does not trust the broker) and `invalid`
 * (a malformed request) are permanent and never retried.
 */
export type StsFailureKind = 'throttled' | 'transient' | 'denied' | 'invalid'

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
