// TokenReviewer backed by the API server (authentication.k8s.io/v1 TokenReview).
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node'
import { HttpError } from '../lib/errors.ts'
import {
  podFromReview,
  reviewUnavailable,
  type ReviewedPod,
  type TokenReviewer,
} from './token-review.ts'

export class KubeTokenReviewer implements TokenReviewer {
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
      const res = await this.#api.createTokenReview({
        body: { spec: { token, audiences: [this.#audience] } },
      })
      status = res.status
    } catch (err) {
      this.#onCall('error')
      throw reviewUnavailable(err)
    }
    try {
      const pod = podFromReview(status)
      this.#onCall('ok')
      return pod
    } catch (err) {
      if (err instanceof HttpError) this.#onCall('rejected')
      throw err
    }
  }
}
