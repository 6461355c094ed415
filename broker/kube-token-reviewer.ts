// TokenReviewer backed by the API server (authentication.k8s.io/v1 TokenReview).
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node'
import { HttpError, unavailable } from '../lib/errors.ts'
import { makePooledApiClient } from '../lib/pooled-api-client.ts'
import { Semaphore, SemaphoreFullError } from '../lib/semaphore.ts'
import {
  podFromReview,
  reviewUnavailable,
  type ReviewOptions,
  type ReviewedPod,
  type TokenReviewer,
} from './token-review.ts'

/**
 * TokenReviews in flight at once. A mass rollout (thousands of pods asking together) would
 * otherwise open thousands of requests to the API server and hold all their buffers.
 */
export const MAX_CONCURRENT_REVIEWS = 64

/**
 * TokenReviews waiting for one of those slots. Past it a request is refused at once with a 503
 * (TokenReviewBusy): a waiter there would wait 16 review round trips or more, and an unbounded
 * queue lets a flood of well-formed forged tokens hold every real pod behind it. Known tokens
 * (ReviewOptions.known) wait ahead of the rest; one refused is still served from its stale
 * review (the cache's stale-if-error takes any 503).
 */
export const MAX_WAITING_REVIEWS = 1024

/** What happened to one review: a call answered (ok, rejected), failed (error), or not made (busy). */
export type ReviewCallOutcome = 'ok' | 'rejected' | 'error' | 'busy'

export class KubeTokenReviewer implements TokenReviewer {
  readonly #limit = new Semaphore(MAX_CONCURRENT_REVIEWS, { maxWaiting: MAX_WAITING_REVIEWS })
  readonly #api: AuthenticationV1Api
  readonly #audience: string
  readonly #onCall: (outcome: ReviewCallOutcome) => void
  constructor(
    kc: KubeConfig,
    audience: string,
    onCall: (outcome: ReviewCallOutcome) => void = () => {},
  ) {
    this.#api = makePooledApiClient(kc, AuthenticationV1Api)
    this.#audience = audience
    this.#onCall = onCall
  }

  async review(token: string, o: ReviewOptions = {}): Promise<ReviewedPod> {
    let status
    try {
      const res = await this.#limit.run(
        () =>
          this.#api.createTokenReview({ body: { spec: { token, audiences: [this.#audience] } } }),
        { priority: o.known },
      )
      status = res.status
    } catch (err) {
      if (err instanceof SemaphoreFullError) {
        this.#onCall('busy')
        throw unavailable(
          'TokenReviewBusy',
          `the broker has ${err.running} TokenReviews in flight and ${err.waiting} waiting; retry shortly`,
          { retryAfterSeconds: 1 },
        )
      }
      this.#onCall('error')
      throw reviewUnavailable(err)
    }
    try {
      const pod = podFromReview(status, this.#audience)
      this.#onCall('ok')
      return pod
    } catch (err) {
      if (err instanceof HttpError) this.#onCall('rejected')
      throw err
    }
  }
}
