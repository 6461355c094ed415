// Where the sidecar gets credentials from. The broker client is the first implementation; the
// interface keeps the cache and HTTP layers testable without one.
import type { Credentials } from '../lib/credentials.ts'

export interface CredentialSource {
  fetch(): Promise<Credentials>
}

/** How an upstream failure should be treated. */
export type FailureKind = 'unauthenticated' | 'denied' | 'transient'

export class UpstreamError extends Error {
  override name = 'UpstreamError'
  readonly kind: FailureKind
  readonly code: string
  constructor(kind: FailureKind, code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.kind = kind
    this.code = code
  }
}
