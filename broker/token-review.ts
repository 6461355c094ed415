// Authentication: who is calling? The projected ServiceAccount token is checked by the API
// server's TokenReview with our audience; a pod-bound token names the pod (and its node).
import type { HttpError } from '../lib/errors.ts'
import { unauthorized, unavailable } from '../lib/errors.ts'

export interface ReviewedPod {
  readonly namespace: string
  readonly serviceAccount: string
  readonly podName: string
  readonly podUid: string
  /** Present for tokens issued for a pod with spec.nodeName (Kubernetes ≥ 1.30). */
  readonly nodeName: string | undefined
}

export interface ReviewOptions {
  /**
   * The token passed a review before (its cached review has only grown old): it goes ahead of
   * tokens never seen in any queue, so a flood of unknown tokens cannot hold known pods behind it.
   */
  readonly known?: boolean
}

/** Resolves a bearer token to the pod it was issued for, or throws an HttpError (401/503). */
export interface TokenReviewer {
  review(token: string, o?: ReviewOptions): Promise<ReviewedPod>
}

/** The subset of a TokenReview status we read (as returned by @kubernetes/client-node). */
export interface TokenReviewStatus {
  readonly authenticated?: boolean | undefined
  readonly error?: string | undefined
  /** The audiences the token was accepted for: the intersection of ours and the token's. */
  readonly audiences?: readonly string[] | undefined
  readonly user?:
    | {
        readonly username?: string | undefined
        readonly extra?: Record<string, readonly string[]> | undefined
      }
    | undefined
}

const SA_USER =
  /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/
const EXTRA = 'authentication.kubernetes.io/'

/**
 * Pure: a TokenReview status → the reviewed pod, or the reason it is refused. `audience` is the
 * one we asked for in spec.audiences: the API asks such callers to check that status.audiences
 * holds it, since an authenticator (a token webhook, say) may ignore spec.audiences and
 * authenticate a token issued for someone else.
 */
export function podFromReview(
  status: TokenReviewStatus | undefined,
  audience: string,
): ReviewedPod {
  checkAuthenticated(status, audience)
  const m = SA_USER.exec(status.user?.username ?? '')
  if (!m) throw unauthorized('NotServiceAccount', 'the token does not belong to a ServiceAccount')
  const extra = status.user?.extra ?? {}
  const one = (k: string): string | undefined => extra[EXTRA + k]?.[0]
  const podName = one('pod-name')
  const podUid = one('pod-uid')
  if (!podName || !podUid) {
    throw unauthorized(
      'TokenNotPodBound',
      'the token is not bound to a pod; mount a projected ServiceAccount token (the injector does this)',
    )
  }
  return { namespace: m[1]!, serviceAccount: m[3]!, podName, podUid, nodeName: one('node-name') }
}

/** Authenticated, and for our audience; else the 401 that says why. */
function checkAuthenticated(
  status: TokenReviewStatus | undefined,
  audience: string,
): asserts status is TokenReviewStatus {
  if (!status?.authenticated) {
    // The API server's reason (e.g. audience mismatch, expired, pod deleted) never contains the token.
    throw unauthorized(
      'InvalidToken',
      `the ServiceAccount token was rejected by TokenReview${status?.error ? `: ${status.error}` : ''}`,
    )
  }
  if (!status.audiences?.includes(audience)) {
    throw unauthorized(
      'WrongAudience',
      `the ServiceAccount token was not accepted for the audience ${JSON.stringify(audience)}; the sidecar's token must be projected with it (the injector does this)`,
    )
  }
}

/** The transport error of a TokenReview call (API server down or refusing us) → 503. */
export function reviewUnavailable(err: unknown): HttpError {
  const code = (err as { code?: unknown }).code
  const detail =
    typeof code === 'number'
      ? `HTTP ${code}`
      : ((err as Error)?.message ?? String(err)).slice(0, 200)
  return unavailable('TokenReviewUnavailable', `TokenReview failed: ${detail}`)
}
