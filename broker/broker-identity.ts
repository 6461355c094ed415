// Whose fault is an STS failure, and is the broker's own AWS identity working?
// A pod's role that refuses the broker is that pod's problem (403: the sidecar drops the role).
// A broken broker identity is ours: one IAM change on the broker's side must not empty every
// injected pod. Such failures are answered 503 (the sidecar keeps serving what it holds until it
// expires and backs off), counted, logged with what to fix, and shown in readiness once
// GetCallerIdentity, which no policy can deny, confirms the identity itself is broken.
import type { Clock, Random } from '../lib/clock.ts'
import type { Logger } from '../lib/log.ts'
import { retryDelay } from './retry.ts'
import { ROLE_INDEPENDENT_IDENTITY_CODES, StsError } from './sts.ts'

/** AccessDenied for this many different roles in a row, with no success between: ours. */
export const BROKER_WIDE_DENIALS = 3
const PROBE_BASE_MS = 1_000
const PROBE_CAP_MS = 60_000

// Only ROLE_INDEPENDENT_IDENTITY_CODES (sts.ts) are confirmed by GetCallerIdentity and change
// readiness: an AccessDenied from the broker's own policy may concern some roles only, and a
// tenant must not be able to take the broker out of its Service by naming such a role.

/** What the operator should do about an identity fault with this AWS error code. */
export function identityAdvice(code: string): string {
  switch (code) {
    case 'InvalidClientTokenId':
    case 'UnrecognizedClientException':
      return "STS does not know the broker's access key (deleted, deactivated or of another partition): give the broker a valid AWS identity; a static key is read at start, so restart the broker after replacing it"
    case 'IncompleteSignature':
    case 'MissingAuthenticationToken':
      return "the broker's requests reach STS unsigned or half signed: the broker found no complete AWS credentials; fix its credential source"
    case 'ExpiredToken':
    case 'ExpiredTokenException':
      return "the broker's own AWS session expired and was not renewed: check the broker's credential source (IRSA token file, Pod Identity agent, instance metadata)"
    case 'RegionDisabledException':
      return "STS is not activated in the broker's region for its account: activate the region (IAM account settings) or point --region/--sts-endpoint at an active one"
    case 'ValidationError':
      return "the broker's own identity is a role session, and STS caps chained sessions at 1h: set --session-duration to 1h or less, or give the broker an identity that is not a role session"
    // Only a transitive-tag conflict makes an InvalidParameterValue the broker's (aws-assumer.ts).
    case 'InvalidParameterValue':
      return "the broker's own session carries transitive session tags with the keys the broker sets (EKS Pod Identity does this): use IRSA or a node role for the broker, or turn session tags off on the broker's Pod Identity association"
    default:
      return "the broker identity's own permissions refuse sts:AssumeRole (its identity policy, a permissions boundary or an SCP): allow sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity on the pod roles for the broker identity"
  }
}

export type Readiness =
  | { readonly ready: true }
  | { readonly ready: false; readonly code: string; readonly message: string }

export interface IdentityHealthOptions {
  /** GetCallerIdentity of the broker identity: needs no permission, so it fails only when the
   * identity itself (key, secret, session, region) does. */
  readonly probe: () => Promise<unknown>
  readonly clock: Clock
  readonly random: Random
  readonly log: Logger
  readonly onFault?: ((code: string) => void) | undefined
  readonly onHealth?: ((ok: boolean) => void) | undefined
}

export class BrokerIdentityHealth {
  readonly #o: IdentityHealthOptions
  #fault: { code: string; message: string } | undefined
  readonly #deniedRoles = new Set<string>()
  #probing = false
  #attempt = 0
  #cancel: (() => void) | undefined
  #stopped = false

  constructor(o: IdentityHealthOptions) {
    this.#o = o
    o.onHealth?.(true)
  }

  /** Probes once at start, so a broker started with a broken identity never becomes ready. */
  start(): void {
    this.#probeSoon()
  }

  stop(): void {
    this.#stopped = true
    this.#cancel?.()
  }

  readiness(): Readiness {
    const f = this.#fault
    return f
      ? {
          ready: false,
          code: 'BrokerIdentityFault',
          message: `the broker's AWS identity fails (${f.code}): ${identityAdvice(f.code)}`,
        }
      : { ready: true }
  }

  /** An AssumeRole succeeded: the identity works, and earlier denials were the roles' own. */
  succeeded(): void {
    this.#deniedRoles.clear()
    if (this.#fault) this.#recovered()
  }

  /**
   * Decides whose fault `err` is. Returns the error to answer with: unchanged, or an `identity`
   * error where AccessDenied has now come for BROKER_WIDE_DENIALS different roles in a row.
   */
  attribute(err: StsError, roleArn: string): StsError {
    if (err.kind === 'denied') {
      // Bounded: only whether BROKER_WIDE_DENIALS roles were seen matters.
      if (this.#deniedRoles.size < BROKER_WIDE_DENIALS) this.#deniedRoles.add(roleArn)
      if (this.#deniedRoles.size < BROKER_WIDE_DENIALS) return err
      err = new StsError(
        'identity',
        err.code,
        `${err.message} (AccessDenied for ${this.#deniedRoles.size} different roles in a row and no success between: the broker identity is the likelier cause)`,
      )
    }
    if (err.kind !== 'identity') return err
    this.#o.onFault?.(err.code)
    if (ROLE_INDEPENDENT_IDENTITY_CODES.has(err.code)) this.#probeSoon()
    return err
  }

  #probeSoon(): void {
    if (this.#probing || this.#stopped) return
    this.#probing = true
    this.#cancel?.()
    this.#o.probe().then(
      () => {
        this.#probing = false
        this.#attempt = 0
        if (this.#fault) this.#recovered()
      },
      (err: unknown) => {
        this.#probing = false
        if (
          err instanceof StsError &&
          err.kind === 'identity' &&
          ROLE_INDEPENDENT_IDENTITY_CODES.has(err.code)
        )
          this.#faulted(err)
        // Any failure (an identity fault, or STS unreachable while one is suspected) is probed
        // again with backoff; a success or a successful AssumeRole ends it.
        const delay = retryDelay('transient', ++this.#attempt, {
          random: this.#o.random,
          baseMs: PROBE_BASE_MS,
          capMs: PROBE_CAP_MS,
        })
        if (!this.#stopped && (this.#fault || err instanceof StsError))
          this.#cancel = this.#o.clock.setTimer(() => this.#probeSoon(), delay)
      },
    )
  }

  #faulted(err: StsError): void {
    const first = this.#fault === undefined
    this.#fault = { code: err.code, message: err.message }
    this.#o.onHealth?.(false)
    if (first)
      this.#o.log.error('broker AWS identity broken: not ready until it works again', {
        code: err.code,
        fix: identityAdvice(err.code),
        error: err.message,
      })
  }

  #recovered(): void {
    this.#o.log.info('broker AWS identity works again', { code: this.#fault?.code })
    this.#fault = undefined
    this.#o.onHealth?.(true)
  }
}
