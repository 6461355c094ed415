// TokenReviewer backed by the API server (authentication.k8s.io/v1 TokenReview).
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node'
import { HttpError } from '../lib/errors.ts'
import { Semaphore } from '../lib/semaphore.ts'
import {
  podFromReview,
  reviewUnavailable,
  type ReviewedPod,
  type TokenReviewer,
} from './token-review.ts'

/**
 * TokenReviews in flight at once. A mass rollout (thousands of pods asking together) would
 * otherwise open thousands of requests to the API server and hold all their buffers.
 */
export const MAX_CONCURRENT_REVIEWS = 64

export class KubeTokenReviewer implements TokenReviewer {
  readonly #limit = new Semaphore(MAX_CONCURRENT_REVIEWS)
  readonly #api: AuthenticationV1Api
  readonly #audience: string
  readonly #onCall: (outcome: 'ok' | 'rejected' | 'error') => void
  constructor(
    kc: KubeConfig,
    audience: string,
    onCall: (outcome: 'ok' | 'rejected' | 'error') => void = () => {},
  ) {
    this.#api = kc.makeApiClient(AuthenticationV1Api)
    this.#audience = audience
    this.#onCall = onCall
  }

  async review(token: string): Promise<ReviewedPod> {
    let status
    try {
      const res = await this.#limit.run(() =>
        this.#api.createTokenReview({ body: { spec: { token, audiences: [this.#audience] } } }),
      )
      status = res.status
    } catch (err) {
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
